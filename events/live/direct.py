"""Room frames written straight to the socket's transport, as `websockets.broadcast` writes them.

A room frame reaches thousands of local sockets at once. Through ASGI each socket pays uvicorn's `asgi_send`, the
websockets protocol's `send` (open check, UTF-8 encoding, frame header, flow-control wait): about 46 µs of CPU per
socket here, which set the room's latency at 10,000 viewers. The frame's bytes are the same for every socket
(server frames are not masked; the Procfile turns compression off), so they are built once per frame and written to
each socket's transport. That is possible only under uvicorn's websockets-based protocols (sans-I/O, its default
and the Procfile's, and the legacy one); anywhere else (another ASGI server, wsproto, Channels' test communicator,
compression on) `writer_for` answers None and the socket keeps the ASGI path. Frames keep their order: a socket
with an ASGI send in flight gets its room frames through that path too (the consumer checks), and both paths write
whole frames synchronously.

Flow control: a socket whose transport holds more than WRITE_BUFFER_LIMIT bytes unsent cannot keep up; it is
dropped (the consumer closes it with 4429 and the page resyncs from the snapshot), as a full backlog is on the ASGI
path.
"""

import sys
from collections.abc import Callable

from channels.sessions import InstanceSessionWrapper
from websockets.frames import Frame, Opcode
from websockets.protocol import State

WRITE_BUFFER_LIMIT = 256 * 1024  # ≈ the ASGI path's 64 KiB flow-control mark plus its 256-frame backlog

WRITTEN, NOT_OPEN, TOO_SLOW = "written", "not_open", "too_slow"


def _sansio_class():
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol  # under uvicorn
    except ImportError:  # pragma: no cover - uvicorn is a dependency; another server may run the app
        return None
    return WebSocketsSansIOProtocol


_SANSIO = _sansio_class()
# uvicorn's deprecated legacy protocol warns when imported: it is recognised only when uvicorn loaded it itself.
_LEGACY_MODULE = "uvicorn.protocols.websockets.websockets_impl"


def _legacy_class():
    return getattr(sys.modules.get(_LEGACY_MODULE), "WebSocketProtocol", None)


def _is_sansio(protocol) -> bool:
    return _SANSIO is not None and isinstance(protocol, _SANSIO)


def _extensions(protocol) -> list:
    return protocol.conn.extensions if _is_sansio(protocol) else protocol.extensions


def _is_open(protocol) -> bool:
    """What the protocol's own ASGI send checks before it writes a frame."""
    if _is_sansio(protocol):
        return (protocol.handshake_complete and not protocol.close_sent and not protocol.disconnected
                and protocol.initial_response is None and protocol.conn.state is State.OPEN)
    return protocol.state is State.OPEN


def text_frame(text: str) -> bytes:
    """The whole WebSocket frame carrying `text`, as a server sends it (unmasked, uncompressed)."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


def _protocol_behind(send):
    """uvicorn's protocol object whose ASGI send `send` is, looking through Channels' session wrapper (which
    does nothing for a `websocket.send`); None for anything else."""
    for _ in range(4):
        owner = getattr(send, "__self__", None)
        if _is_sansio(owner) or isinstance(owner, _legacy_class() or ()):
            return owner
        if not isinstance(owner, InstanceSessionWrapper):
            return None
        send = owner.real_send
    return None


def writer_for(send) -> Callable[[bytes], str] | None:
    """For the ASGI `send` of a socket served by one of uvicorn's websockets protocols without extensions: a function
    writing a ready frame to that socket (answers WRITTEN, NOT_OPEN or TOO_SLOW); otherwise None."""
    protocol = _protocol_behind(send)
    if protocol is None or _extensions(protocol):
        return None

    def write(frame: bytes) -> str:
        transport = protocol.transport
        if not _is_open(protocol) or transport is None or transport.is_closing():
            return NOT_OPEN  # closing: its disconnect follows
        if transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
            return TOO_SLOW
        transport.write(frame)
        return WRITTEN

    return write
