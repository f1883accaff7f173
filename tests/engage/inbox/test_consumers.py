"""WebSockets through the real ASGI application and the Redis pub/sub channel layer."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from engage.asgi import application
from engage.inbox.services import notify_user

pytestmark = pytest.mark.django_db(transaction=True)


def session_headers(user, origin=b"http://localhost"):
    client = Client()
    client.force_login(user)
    return [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()), (b"origin", origin)]


def run(coro_fn, *args):
    return async_to_sync(coro_fn)(*args)


def test_layer_is_redis_pubsub():
    from channels_redis.pubsub import RedisPubSubChannelLayer

    assert isinstance(get_channel_layer(), RedisPubSubChannelLayer)


def test_signed_in_user_receives_notifications_after_commit(make_user):
    user = make_user()
    headers = session_headers(user)

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
        connected, _ = await socket.connect(timeout=5)
        assert connected
        assert await socket.receive_json_from(timeout=5) == {"event": "hello", "payload": {"user_id": user.pk}}
        await database_sync_to_async(notify_user)(user, "checkin.ok", {"message": "签到成功"})
        message = await socket.receive_json_from(timeout=5)
        assert message == {"event": "checkin.ok", "payload": {"message": "签到成功"}}
        await socket.send_json_to({"type": "ping"})
        assert (await socket.receive_json_from(timeout=5))["event"] == "pong"
        await socket.disconnect()

    run(scenario)


def test_notification_in_rolled_back_transaction_is_not_sent(make_user):
    user = make_user()
    headers = session_headers(user)

    def notify_then_roll_back():
        with pytest.raises(RuntimeError), transaction.atomic():
            notify_user(user, "ghost", {})
            raise RuntimeError("roll back")
        notify_user(user, "real", {})

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
        assert (await socket.connect(timeout=5))[0]
        await socket.receive_json_from(timeout=5)
        await database_sync_to_async(notify_then_roll_back)()
        assert (await socket.receive_json_from(timeout=5))["event"] == "real"
        assert await socket.receive_nothing(timeout=0.5)
        await socket.disconnect()

    run(scenario)


def test_user_does_not_receive_another_users_notifications(make_user):
    alice, bob = make_user(), make_user()
    headers = session_headers(alice)

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
        assert (await socket.connect(timeout=5))[0]
        await socket.receive_json_from(timeout=5)
        await database_sync_to_async(notify_user)(bob, "private", {"message": "for bob"})
        assert await socket.receive_nothing(timeout=1)
        await socket.disconnect()

    run(scenario)


def test_anonymous_socket_is_closed():
    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/notifications/", headers=[(b"origin", b"http://localhost")])
        connected, code = await socket.connect(timeout=5)
        assert not connected
        assert code == 4401

    run(scenario)


def test_foreign_origin_is_refused(make_user):
    user = make_user()
    headers = session_headers(user, origin=b"https://evil.example")

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
        connected, _ = await socket.connect(timeout=5)
        assert not connected

    run(scenario)
