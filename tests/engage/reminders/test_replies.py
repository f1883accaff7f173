"""Replies over SMS and WeChat, through the gateway's inbound path: confirmations matched to the right dose,
opt-out, reported values, adverse-reaction text, and senders we do not know."""

from datetime import UTC, datetime, timedelta

import pytest

from engage.messaging.models import InboundMessage
from engage.messaging.services import inbound_receive
from engage.reminders.models import DoseEvent, Patient, PharmacovigilanceCase, ReportedValue
from engage.reminders.services import doses_dispatch
from tests.engage.reminders.conftest import dose_at

NOW = datetime(2026, 5, 1, 0, 0, tzinfo=UTC)
S = DoseEvent.Status
_ids = iter(range(10**6))


def reply(sender, text, *, at=NOW, channel="sms", kind="text"):
    row, _created = inbound_receive(channel=channel, sender=sender, text=text, kind=kind,
                                    provider_id=f"SM{next(_ids)}", received_at=at)
    return row.reply


@pytest.fixture
def patient(make_patient, recorded_deliveries):
    return make_patient()


@pytest.mark.django_db
@pytest.mark.parametrize("word", ["1", "YES", "yes", "已服", " 1 "])
def test_confirm_words_confirm_the_open_dose(patient, make_plan, word):
    dose = dose_at(patient, make_plan(patient), NOW)
    doses_dispatch(now=NOW)
    answer = reply(patient.mobile, word, at=NOW + timedelta(minutes=7))
    dose.refresh_from_db()
    assert dose.status == S.TAKEN
    assert dose.confirmed_at == NOW + timedelta(minutes=7) and dose.confirmed_via == "sms"
    assert "08:00" in answer


@pytest.mark.django_db
def test_reply_confirms_the_most_recent_dose_not_an_older_one(patient, make_plan):
    morning = dose_at(patient, make_plan(patient, times=["08:00"]), NOW)
    later = dose_at(patient, make_plan(patient, times=["09:00"], drug="阿司匹林"), NOW + timedelta(hours=1))
    doses_dispatch(now=NOW)
    doses_dispatch(now=NOW + timedelta(hours=1))
    reply(patient.mobile, "1", at=NOW + timedelta(hours=1, minutes=5))
    morning.refresh_from_db()
    later.refresh_from_db()
    assert (morning.status, later.status) == (S.QUEUED, S.TAKEN)
    # The next "1" takes the older one, still inside its 2-hour window.
    reply(patient.mobile, "1", at=NOW + timedelta(hours=1, minutes=6))
    morning.refresh_from_db()
    assert morning.status == S.TAKEN


@pytest.mark.django_db
def test_other_patients_doses_are_untouched(patient, make_patient, make_plan):
    other = make_patient()
    mine = dose_at(patient, make_plan(patient), NOW)
    theirs = dose_at(other, make_plan(other), NOW)
    doses_dispatch(now=NOW)
    reply(patient.mobile, "1", at=NOW + timedelta(minutes=1))
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == (S.TAKEN, S.QUEUED)


@pytest.mark.django_db
def test_two_doses_at_the_same_time_are_ambiguous(patient, make_plan):
    a = dose_at(patient, make_plan(patient), NOW)
    b = dose_at(patient, make_plan(patient, drug="阿卡波糖"), NOW)
    doses_dispatch(now=NOW)
    answer = reply(patient.mobile, "1", at=NOW + timedelta(minutes=2))
    assert "/reminders/p/" in answer
    assert set(DoseEvent.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True)) == {S.QUEUED}


@pytest.mark.django_db
def test_no_open_dose_gets_a_helpful_reply(patient, make_plan):
    dose = dose_at(patient, make_plan(patient), NOW)
    doses_dispatch(now=NOW)
    answer = reply(patient.mobile, "1", at=NOW + timedelta(hours=2, minutes=1))  # outside the window
    assert "/reminders/p/" in answer
    dose.refresh_from_db()
    assert dose.status == S.QUEUED
    assert "/reminders/p/" in reply(patient.mobile, "1", at=NOW - timedelta(minutes=5))  # before it was due


@pytest.mark.django_db
def test_skip_word_records_skipped(patient, make_plan):
    dose = dose_at(patient, make_plan(patient), NOW)
    doses_dispatch(now=NOW)
    reply(patient.mobile, "0", at=NOW + timedelta(minutes=3))
    dose.refresh_from_db()
    assert dose.status == S.SKIPPED


@pytest.mark.django_db
@pytest.mark.parametrize(("text", "kind"), [("STOP", "opt_out"), ("退订", "opt_out"), ("TD", "text"),
                                            ("td", "text")])
def test_stop_words_opt_out_at_once(patient, make_plan, text, kind):
    later = dose_at(patient, make_plan(patient), NOW + timedelta(hours=3))
    reply(patient.mobile, text, kind=kind)
    patient.refresh_from_db()
    later.refresh_from_db()
    assert patient.opted_out_at is not None
    assert later.status == S.CANCELLED
    doses_dispatch(now=NOW + timedelta(hours=3))
    later.refresh_from_db()
    assert later.status == S.CANCELLED


@pytest.mark.django_db
def test_wechat_unsubscribe_opts_out(make_patient, make_plan, recorded_deliveries):
    patient = make_patient(openid="oWX-unsub", preferred_channel="wechat",
                           kinds={"programme", "health_information", "wechat"})
    dose = dose_at(patient, make_plan(patient), NOW + timedelta(hours=1))
    assert reply("oWX-unsub", "", channel="wechat", kind="unsubscribe") in ("", None)
    patient.refresh_from_db()
    dose.refresh_from_db()
    assert patient.opted_out_at is not None and dose.status == S.CANCELLED


@pytest.mark.django_db
def test_unknown_number_gets_polite_reply_and_nothing_changes(patient, make_plan):
    dose = dose_at(patient, make_plan(patient), NOW)
    doses_dispatch(now=NOW)
    answer = reply("+8613700000000", "1", at=NOW + timedelta(minutes=1))
    assert "not enrolled" in answer or "未" in answer
    reply("+8613700000000", "STOP", kind="opt_out")
    dose.refresh_from_db()
    patient.refresh_from_db()
    assert dose.status == S.QUEUED and patient.opted_out_at is None
    assert InboundMessage.objects.count() == 2


@pytest.mark.django_db
def test_same_provider_message_twice_confirms_once(patient, make_plan):
    first = dose_at(patient, make_plan(patient), NOW)
    doses_dispatch(now=NOW)
    for _ in range(2):
        inbound_receive(channel="sms", sender=patient.mobile, text="1", kind="text", provider_id="SMdup",
                        received_at=NOW + timedelta(minutes=1))
    first.refresh_from_db()
    assert first.status == S.TAKEN


@pytest.mark.django_db
@pytest.mark.parametrize(("text", "stored"), [("血糖 7.8", "7.8"), ("BG 140 mg/dL", "7.8"), ("glucose: 5,6", "5.6")])
def test_glucose_by_reply(patient, text, stored):
    answer = reply(patient.mobile, text)
    value = ReportedValue.objects.get(patient=patient)
    assert str(value.value) == stored and value.unit == "mmol/L"
    assert stored in answer


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["血糖 78", "BG 0.5", "血糖 900 mg/dL"])
def test_implausible_glucose_by_reply_is_refused(patient, text):
    answer = reply(patient.mobile, text)
    assert "plausible" in answer or "血糖" in answer
    assert ReportedValue.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["吃药后有点恶心，还起了皮疹", "I got a rash after the new pill"])
def test_adverse_reaction_text_goes_to_pv_queue(patient, text):
    reply(patient.mobile, text)
    case = PharmacovigilanceCase.objects.get()
    assert case.patient == patient and case.text == text and case.matched_keywords


@pytest.mark.django_db
def test_plain_chat_is_not_a_pv_case(patient):
    answer = reply(patient.mobile, "谢谢提醒")
    assert PharmacovigilanceCase.objects.count() == 0
    assert "/reminders/p/" in answer


@pytest.mark.django_db
def test_opt_in_resumes(patient, make_plan):
    reply(patient.mobile, "STOP", kind="opt_out")
    reply(patient.mobile, "START", kind="opt_in")
    assert Patient.objects.get(pk=patient.pk).opted_out_at is None
