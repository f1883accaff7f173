"""The per-doctor frequency cap on informational and promotional messages, across WeChat and SMS: transactional
messages exempt, capped ones held for the next allowed slot or dropped with a reason, never over the cap when
senders race (real threads against PostgreSQL)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from engage.core.errors import DomainError, PermissionDenied
from engage.messaging.models import FrequencyCap, FrequencyCapUse, OutboundMessage
from engage.messaging.services import (
    DROPPED,
    HELD,
    frequency_cap_set,
    message_deliver_now,
    message_enqueue,
    message_sweep,
)
from tests.engage.messaging.fixtures_templates import PARAMS
from tests.race import race, raise_first

Status = OutboundMessage.Status
SHANGHAI = ZoneInfo("Asia/Shanghai")
WEDNESDAY = datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)


def send(user, n, *, category="promotional", channel="sms", **kwargs):
    to = user.mobile if channel == "sms" else "oOPENID-CAP"
    return message_enqueue(channel=channel, to=to, template_key="test_reminder", params=PARAMS, user=user,
                           idempotency_key=f"cap:{user.pk}:{n}", category=category, **kwargs)


def deliver(message):
    return message_deliver_now(message_id=message.pk)


@pytest.fixture
def cap():
    def set_cap(per_day, per_week):
        FrequencyCap.objects.update_or_create(pk=1, defaults={"per_day": per_day, "per_week": per_week})

    return set_cap


@pytest.mark.django_db
def test_default_cap_is_one_a_day_and_four_a_week(make_user):
    from engage.messaging.services import frequency_cap

    assert (frequency_cap().per_day, frequency_cap().per_week) == (1, 4)


@pytest.mark.django_db
@time_machine.travel(WEDNESDAY, tick=False)
def test_transactional_messages_are_exempt_and_marked(make_user):
    doctor = make_user()
    sent = [deliver(send(doctor, i, category="transactional")) for i in range(3)]
    assert [m.status for m in sent] == [Status.SENT] * 3
    assert {m.category for m in sent} == {"transactional"}
    assert not FrequencyCapUse.objects.exists()


@pytest.mark.django_db
def test_second_message_of_the_day_waits_for_the_next_day(make_user):
    doctor = make_user()
    with time_machine.travel(WEDNESDAY, tick=False):
        first = deliver(send(doctor, 1, category="informational"))
        second = deliver(send(doctor, 2))
        assert first.status == Status.SENT
        assert second.status == Status.QUEUED and second.error_code == HELD
        assert second.next_attempt_at == datetime(2026, 12, 3, 0, 0, tzinfo=SHANGHAI)
        assert deliver(second).status == Status.QUEUED  # not due yet: nothing happens
    with time_machine.travel(datetime(2026, 12, 3, 0, 5, tzinfo=SHANGHAI), tick=False):
        assert deliver(second).status == Status.SENT
    assert FrequencyCapUse.objects.filter(user=doctor).count() == 2


@pytest.mark.django_db
@time_machine.travel(WEDNESDAY, tick=False)
def test_a_dropped_message_says_why(make_user):
    doctor = make_user()
    deliver(send(doctor, 1))
    dropped = deliver(send(doctor, 2, when_capped="drop"))
    assert dropped.status == Status.FAILED and dropped.error_code == DROPPED


@pytest.mark.django_db
def test_the_week_cap_holds_until_monday(make_user, cap):
    cap(per_day=10, per_week=4)
    doctor = make_user()
    with time_machine.travel(WEDNESDAY, tick=False):
        results = [deliver(send(doctor, i)) for i in range(5)]
    assert [m.status for m in results] == [Status.SENT] * 4 + [Status.QUEUED]
    assert results[-1].next_attempt_at == datetime(2026, 12, 7, 0, 0, tzinfo=SHANGHAI)


@pytest.mark.django_db
@time_machine.travel(WEDNESDAY, tick=False)
def test_the_cap_counts_wechat_and_sms_together_and_per_doctor(make_user, fake_wechat):
    doctor, other = make_user(), make_user()
    assert deliver(send(doctor, 1, channel="wechat_template")).status == Status.SENT
    assert deliver(send(doctor, 2, channel="sms")).status == Status.QUEUED
    assert deliver(send(other, 3, channel="sms")).status == Status.SENT


@pytest.mark.django_db
@time_machine.travel(WEDNESDAY, tick=False)
def test_an_sms_fallback_uses_the_slot_of_the_wechat_message(make_user, fake_wechat):
    doctor = make_user()
    fake_wechat.script(("errcode", 43004))  # not following: WeChat cannot deliver
    wechat = deliver(send(doctor, 1, channel="wechat_template", fallback_sms_to=doctor.mobile))
    assert wechat.status == Status.FAILED
    fallback = OutboundMessage.objects.get(fallback_of=wechat)
    assert deliver(fallback).status == Status.SENT
    assert FrequencyCapUse.objects.filter(user=doctor).count() == 1


@pytest.mark.django_db
def test_held_messages_are_handed_to_the_workers_by_the_sweeper_when_due(make_user):
    doctor = make_user()
    with time_machine.travel(WEDNESDAY, tick=False):
        deliver(send(doctor, 1))
        assert deliver(send(doctor, 2)).error_code == HELD
        assert message_sweep()["dispatched"] == 0
    with time_machine.travel(datetime(2026, 12, 3, 0, 5, tzinfo=SHANGHAI), tick=False):
        assert message_sweep()["dispatched"] == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("per_day", [1, 3])
def test_racing_senders_never_exceed_the_cap(make_user, cap, per_day):
    cap(per_day=per_day, per_week=4)
    doctor = make_user()
    with time_machine.travel(WEDNESDAY, tick=False):
        messages = [send(doctor, i) for i in range(8)]
        results = raise_first(race(8, lambda i: deliver(messages[i])))
    statuses = sorted(m.status for m in results)
    assert statuses.count(Status.SENT) == per_day
    assert statuses.count(Status.QUEUED) == 8 - per_day
    assert FrequencyCapUse.objects.filter(user=doctor).count() == per_day


@pytest.mark.django_db
def test_compliance_sets_the_cap_others_may_not(role_user):
    officer = role_user("compliance")
    cap_row = frequency_cap_set(actor=officer, per_day=2, per_week=6)
    assert (cap_row.per_day, cap_row.per_week, cap_row.updated_by) == (2, 6, officer)
    from engage.audit.models import AuditEntry

    assert AuditEntry.objects.filter(action="messaging.frequency_cap_set").count() == 1
    with pytest.raises(PermissionDenied):
        frequency_cap_set(actor=role_user("marketing"), per_day=9, per_week=9)
    with pytest.raises(DomainError) as exc:
        frequency_cap_set(actor=officer, per_day=-1, per_week=500)
    assert exc.value.code == "invalid_cap"
    assert FrequencyCap.objects.get().per_day == 2


@pytest.mark.django_db
def test_the_admin_page_saves_the_cap_for_compliance(client, role_user):
    client.force_login(role_user("compliance"))
    assert client.get("/admin/messaging/frequency-cap/").status_code == 200
    bad = client.post("/admin/messaging/frequency-cap/", {"per_day": "x", "per_week": "4"})
    assert bad.status_code == 400 and FrequencyCap.objects.filter(per_day=3).count() == 0
    saved = client.post("/admin/messaging/frequency-cap/", {"per_day": "3", "per_week": "5"})
    assert saved.status_code == 302
    assert (FrequencyCap.objects.get().per_day, FrequencyCap.objects.get().per_week) == (3, 5)
