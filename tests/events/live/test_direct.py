"""events.live.direct: room frames written straight to uvicorn's WebSocket transport — the same bytes the ASGI path
would send, only to an open socket, never past the write-buffer limit, and only where the socket really is
uvicorn's websockets protocol without compression."""

import contextlib
import json

import pytest
from channels.sessions import InstanceSessionWrapper
from django.test import Client
from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_impl import WebSocketProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.protocol import State
from websockets.sync.client import connect

from events.live import broadcast, direct
from tests.e2e.conftest import live_asgi_server  # noqa: F401 - the fixture: uvicorn on the test database
from tests.events.live.core_helpers import make_live_session, registered_doctor


class FakeTransport:
    def __init__(self, buffered: int = 0):
        self.written: list[bytes] = []
        self.buffered = buffered
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.closing


def _protocol(transport: FakeTransport, kind=WebSocketsSansIOProtocol):
    """uvicorn's protocol object for an open socket on `transport` (the sans-I/O one is uvicorn's default)."""
    config = Config(app=lambda scope, receive, send: None, ws_per_message_deflate=False)
    config.load()
    protocol = kind(config=config, server_state=ServerState(), app_state={})
    protocol.transport = transport
    if kind is WebSocketsSansIOProtocol:
        protocol.handshake_complete = True
        protocol.conn.state = State.OPEN
    else:
        protocol.state = State.OPEN
    return protocol


def _send_of(protocol):
    return protocol.send if isinstance(protocol, WebSocketsSansIOProtocol) else protocol.asgi_send


def _close(protocol) -> None:
    if isinstance(protocol, WebSocketsSansIOProtocol):
        protocol.conn.state = State.CLOSING
    else:
        protocol.state = State.CLOSING


def _wrapped(send):
    wrapper = object.__new__(InstanceSessionWrapper)  # Channels' session middleware around the server's send
    wrapper.real_send = send
    return wrapper.send


def test_the_frame_is_the_one_websockets_would_write():
    assert direct.text_frame("签到") == b"\x81\x06" + "签到".encode()
    long_text = "x" * 70_000  # a 64-bit length header
    frame = direct.text_frame(long_text)
    assert frame[:2] == b"\x81\x7f" and int.from_bytes(frame[2:10], "big") == 70_000
    assert frame[10:] == long_text.encode()


@pytest.mark.parametrize("kind", [WebSocketsSansIOProtocol, WebSocketProtocol])
def test_an_open_socket_gets_the_bytes_a_slow_or_closing_one_does_not(kind):
    transport = FakeTransport()
    protocol = _protocol(transport, kind)
    write = direct.writer_for(_wrapped(_send_of(protocol)))
    assert write is not None
    frame = direct.text_frame('{"type":"chat"}')
    assert write(frame) == direct.WRITTEN and transport.written == [frame]
    transport.buffered = direct.WRITE_BUFFER_LIMIT + 1
    assert write(frame) == direct.TOO_SLOW and transport.written == [frame]
    transport.buffered = 0
    transport.closing = True
    assert write(frame) == direct.NOT_OPEN
    transport.closing = False
    _close(protocol)
    assert write(frame) == direct.NOT_OPEN and transport.written == [frame]


def test_other_servers_compression_and_unknown_wrappers_keep_the_asgi_path():
    legacy = _protocol(FakeTransport(), WebSocketProtocol)
    legacy.extensions = [object()]  # permessage-deflate negotiated: frames differ per socket
    assert direct.writer_for(legacy.asgi_send) is None
    sansio = _protocol(FakeTransport())
    sansio.conn.extensions = [object()]
    assert direct.writer_for(sansio.send) is None
    sansio.conn.extensions = []
    assert direct.writer_for(sansio.send) is not None

    async def send(message):
        return None

    assert direct.writer_for(send) is None  # Channels' test communicator, another ASGI server

    class Other:
        async def send(self, message):
            return None

        real_send = _protocol(FakeTransport()).send

    assert direct.writer_for(Other().send) is None  # only Channels' session wrapper is looked through


@pytest.mark.django_db(transaction=True)
def test_viewers_under_uvicorn_get_room_frames_identical_and_in_order(live_asgi_server):  # noqa: F811
    session = make_live_session(state="live")
    doctors = [registered_doctor(session) for _ in range(2)]
    url = live_asgi_server.replace("http://", "ws://") + f"/ws/live/{session.pk}/"
    with contextlib.ExitStack() as opened:
        sockets = []
        for doctor in doctors:
            client = Client()
            client.force_login(doctor)
            socket = opened.enter_context(connect(
                url, compression=None, open_timeout=20, origin="http://localhost",
                additional_headers={"Cookie": f"sessionid={client.cookies['sessionid'].value}"}))
            assert json.loads(socket.recv(timeout=20))["type"] == "hello"  # through ASGI
            sockets.append(socket)
        for n in range(5):
            broadcast.send_event_now(session_id=session.pk, event={"type": "chat", "text": f"第{n}条", "n": n})
        received = [_chats(socket, 5) for socket in sockets]
        for chats in received:
            assert [frame["n"] for frame in chats] == list(range(5))
            assert [frame["text"] for frame in chats] == [f"第{n}条" for n in range(5)]
        assert received[0] == received[1]


def _chats(socket, count: int) -> list[dict]:
    """The first `count` chat frames (the room's once-a-second tallies may come between them)."""
    chats = []
    for _ in range(count + 20):
        frame = json.loads(socket.recv(timeout=20))
        if frame.get("type") == "chat":
            chats.append(frame)
            if len(chats) == count:
                break
    return chats
