"""Every time a person reads is Beijing time: each surface rendered at 17:30 UTC on 2 December, which is 01:30 on
3 December in Asia/Shanghai, must show the 3rd and 01:30 (and never the UTC date and hour)."""

import io
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django.utils import timezone, translation
from openpyxl import load_workbook

from engage.audit.models import AuditEntry
from engage.audit.services import audit_log
from engage.core.times import local, local_naive, local_text
from engage.messaging.models import OutboundMessage
from engage.messaging.services import message_enqueue
from events.checkin.models import CheckIn, Scan
from tests.events.factories import make_staff, open_event, post_checkin, ticket_for
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db
NEAR_MIDNIGHT = datetime(2026, 12, 2, 17, 30, tzinfo=UTC)
LOCAL = "2026-12-03 01:30"
UTC_TEXT = ("2026-12-02 17:30", "2026-12-02T17:30", "17:30:00")


def assert_local(text: str):
    assert LOCAL in text or "2026年12月3日 01:30" in text, text[:2000]
    for wrong in UTC_TEXT:
        assert wrong not in text, wrong


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def frozen():
    with time_machine.travel(NEAR_MIDNIGHT, tick=False):
        yield


@pytest.fixture
def admin_client():
    client = Client(headers={"Accept-Language": "zh-hans"})
    client.force_login(user_with_role("admin"))
    return client


def test_the_helper_turns_utc_into_beijing_time_and_the_next_day():
    assert local_text(NEAR_MIDNIGHT) == LOCAL
    assert local_text(NEAR_MIDNIGHT, "Y-m-d H:i:s") == LOCAL + ":00"
    assert local(NEAR_MIDNIGHT).hour == 1 and local(NEAR_MIDNIGHT).day == 3
    assert local_naive(NEAR_MIDNIGHT) == datetime(2026, 12, 3, 1, 30)
    assert local_text(None) == ""
    with timezone.override("Europe/Berlin"):  # a user's own zone, where one is active
        assert local_text(NEAR_MIDNIGHT) == "2026-12-02 18:30"


def test_the_scanner_answer_carries_the_check_in_time_in_beijing_time(frozen):
    event = open_event()
    ticket = ticket_for(event, real_name="李文华")
    client = Client()
    client.force_login(make_staff("marketing"))
    body = post_checkin(client, event, secret=ticket.secret).json()
    assert body["status"] == "ok"
    assert body["checked_in_at_local"] == LOCAL + ":00"
    again = post_checkin(client, event, secret=ticket.secret).json()  # the first check-in's time, again local
    assert again["checked_in_at_local"] == LOCAL + ":00"
    checkin = CheckIn.objects.get(ticket=ticket)
    assert_local(str(checkin))
    assert_local(str(Scan.objects.filter(ticket=ticket).first()))
    entry = AuditEntry.objects.get(action="event.checkin")
    assert_local(entry.object_repr)
    assert_local(str(entry))


def test_the_audit_entry_detail_list_and_exports_show_beijing_time(frozen, admin_client):
    entry = audit_log(actor=None, action="demo.seed", reason="midnight")
    assert_local(admin_client.get(f"/admin/audit/inspect/{entry.pk}/").content.decode())
    listing = admin_client.get("/admin/audit/").content.decode()
    assert "2026年12月3日" in listing and "2026年12月2日" not in listing
    book = load_workbook(io.BytesIO(content(admin_client.get("/admin/audit/?export=xlsx"))))
    first = next(book.active.iter_rows(min_row=2, values_only=True))
    assert first[0] == datetime(2026, 12, 3, 1, 30)
    assert_local(content(admin_client.get("/admin/audit/?export=csv")).decode())


def test_the_outbox_detail_shows_beijing_time(frozen, admin_client):
    message_enqueue(channel="sms", to="+8613800138000", template_key="dose_reminder",
                    params={"time": "08:00", "drug": "二甲双胍", "dose": "500 mg"})
    message = OutboundMessage.objects.get()
    with translation.override("zh-hans"):
        html = admin_client.get(f"/admin/outbox/inspect/{message.pk}/").content.decode()
    assert_local(html)


@pytest.mark.parametrize("fmt", ["Y-m-d H:i", "Y-m-d H:i:s"])
def test_the_common_formats_read_exactly_as_djangos_formatter_writes_them(fmt):
    from zoneinfo import ZoneInfo

    from django.utils.dateformat import format as date_format

    moments = [NEAR_MIDNIGHT, datetime(1, 1, 2, 0, 0, tzinfo=UTC), datetime(999, 3, 4, 5, 6, 7, tzinfo=UTC),
               datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=UTC), datetime(9999, 12, 30, 15, 59, 59, tzinfo=UTC)]
    for zone in ("Asia/Shanghai", "UTC", "America/St_Johns"):
        with timezone.override(ZoneInfo(zone)):
            for moment in moments:
                assert local_text(moment, fmt) == date_format(timezone.localtime(moment), fmt)
    naive = datetime(2026, 12, 3, 1, 30, 5)  # already local: as it is
    assert local_text(naive, fmt) == date_format(naive, fmt)
    assert local_text(NEAR_MIDNIGHT.date(), "Y-m-d") == "2026-12-02"


def test_choice_labels_read_as_get_display_gives_them():
    from engage.core.choices import choice_label
    from events.registrations.models import Registration

    for code in Registration.Status.values:
        for language in ("zh-hans", "en"):
            with translation.override(language):
                expected = Registration(status=code).get_status_display()
                assert choice_label(Registration.Status, code) == str(expected)
    assert choice_label(Registration.Status, "no-such-status") == "no-such-status"
    assert choice_label(Registration.Status, "") == ""
    with translation.override("zh-hans"):
        assert choice_label(Registration.Status, "confirmed") != "Confirmed"  # translated, not the code's English
