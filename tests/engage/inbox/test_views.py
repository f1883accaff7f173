"""The notification inbox: own notifications only, unread first, opening marks read and follows only same-site
links, mark all read, the unread badge in the header, and the live badge update over the socket."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from engage.inbox.models import Notification
from engage.inbox.selectors import safe_link
from engage.inbox.services import notification_send

_counter = iter(range(1, 10**6))


def note(user, title="报名成功", url="/meetings/x/", read=False, **fields):
    n = next(_counter)
    notification = Notification.objects.create(user=user, kind="events.registration", title=title, body="正文",
                                               url=url, key=f"test:{n}:{user.pk}", **fields)
    if read:
        Notification.objects.filter(pk=notification.pk).update(read_at=timezone.now())
    return notification


@pytest.mark.django_db
def test_the_inbox_needs_a_sign_in(client):
    response = client.get(reverse("inbox"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(reverse("inbox_read_all")).status_code == 302


@pytest.mark.django_db
def test_the_inbox_lists_own_notifications_unread_first(client, make_user):
    user, other = make_user(), make_user()
    old_unread = note(user, title="旧的未读")
    read = note(user, title="已读的", read=True)
    new_unread = note(user, title="新的未读")
    note(other, title="别人的通知")
    client.force_login(user)
    response = client.get(reverse("inbox"))
    html = response.content.decode()
    assert response["Cache-Control"] == "private, no-store"
    assert "别人的通知" not in html
    positions = [html.index(f'data-id="{n.pk}"') for n in (new_unread, old_unread, read)]
    assert positions == sorted(positions)
    assert html.count('data-unread="1"') == 2


@pytest.mark.django_db
def test_opening_marks_read_and_follows_the_link(client, make_user):
    user = make_user()
    notification = note(user, url="/meetings/today/")
    client.force_login(user)
    response = client.post(reverse("inbox_open", args=[notification.pk]))
    assert response.status_code == 302 and response["Location"] == "/meetings/today/"
    notification.refresh_from_db()
    first_read = notification.read_at
    assert first_read is not None
    client.post(reverse("inbox_open", args=[notification.pk]))
    notification.refresh_from_db()
    assert notification.read_at == first_read  # the first reading counts


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["https://evil.example.com/", "//evil.example.com/x", "javascript:alert(1)",
                                 "/\\evil.example.com", "", "x" * 400])
def test_opening_never_follows_a_foreign_link(client, make_user, url):
    user = make_user()
    notification = note(user, url=url)
    client.force_login(user)
    response = client.post(reverse("inbox_open", args=[notification.pk]))
    assert response["Location"] == reverse("inbox")
    assert safe_link(url) == ""


@pytest.mark.django_db
def test_nobody_opens_someone_elses_notification(client, make_user):
    owner, intruder = make_user(), make_user()
    notification = note(owner)
    client.force_login(intruder)
    assert client.post(reverse("inbox_open", args=[notification.pk])).status_code == 404
    assert client.post(reverse("inbox_open", args=[999_999_999])).status_code == 404
    assert client.get(reverse("inbox_open", args=[notification.pk])).status_code == 405  # no reads by GET
    notification.refresh_from_db()
    assert notification.read_at is None


@pytest.mark.django_db
def test_mark_all_read_touches_only_own_notifications(client, make_user):
    user, other = make_user(), make_user()
    for _ in range(3):
        note(user)
    theirs = note(other)
    client.force_login(user)
    assert client.get(reverse("inbox_read_all")).status_code == 405
    response = client.post(reverse("inbox_read_all"))
    assert response.status_code == 302
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.django_db
def test_the_header_badge_shows_the_unread_count(client, make_user):
    user = make_user()
    client.force_login(user)
    html = client.get(reverse("inbox")).content.decode()
    assert 'data-inbox-unread="0"' in html and "hidden" in html.split('data-testid="inbox-unread"')[1][:20]
    note(user)
    note(user)
    note(user, read=True)
    html = client.get(reverse("inbox")).content.decode()
    assert 'data-inbox-unread="2"' in html


@pytest.mark.django_db
def test_anonymous_pages_have_no_bell(client):
    assert 'data-testid="inbox-link"' not in client.get(reverse("account_login")).content.decode()


@pytest.mark.django_db
def test_the_inbox_paginates_and_survives_bad_page_numbers(client, make_user):
    user = make_user()
    for i in range(25):
        note(user, title=f"通知{i:02d}")
    client.force_login(user)
    assert client.get(reverse("inbox")).content.decode().count('data-testid="inbox-item"') == 20
    assert client.get(reverse("inbox") + "?page=2").content.decode().count('data-testid="inbox-item"') == 5
    for bad in ("abc", "-1", "99999999999999999999999", "%00"):
        assert client.get(reverse("inbox") + f"?page={bad}").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_new_notifications_and_reads_reach_open_pages(make_user):
    from engage.asgi import application
    from engage.inbox.services import notifications_mark_all_read

    user = make_user()
    client = Client()
    client.force_login(user)
    headers = [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
               (b"origin", b"http://localhost")]

    async def scenario():
        from channels.db import database_sync_to_async

        socket = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
        connected, _ = await socket.connect(timeout=5)
        assert connected
        assert (await socket.receive_json_from(timeout=5))["event"] == "hello"
        await database_sync_to_async(notification_send)(user=user, kind="events.registration", title="报名成功",
                                                        url="/meetings/", key=f"inbox-test:{user.pk}")
        message = await socket.receive_json_from(timeout=5)
        assert message["event"] == "notification" and message["payload"]["title"] == "报名成功"
        await database_sync_to_async(notifications_mark_all_read)(user=user)
        message = await socket.receive_json_from(timeout=5)
        assert message == {"event": "inbox.unread", "payload": {"unread": 0}}
        await socket.disconnect()

    async_to_sync(scenario)()
