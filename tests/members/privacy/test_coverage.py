"""The export covers every category held about a doctor with real rows, and closing the account leaves no
personal data in the rows compliance keeps while those rows still exist and point at the pseudonymised user."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from allauth.socialaccount.models import SocialAccount
from django.core import serializers
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cms.reading.models import Favourite, ReadingRecord, ShareCode
from engage.audit.models import AuditEntry
from engage.core.crypto import lookup_hash
from engage.core.personal_data import personal_data_registry
from engage.inbox.models import Notification
from engage.inbox.services import notification_send
from engage.messaging.models import OutboundMessage, mask_recipient
from engage.reminders import services as reminders
from engage.reminders.models import Patient, Programme, ProgrammeConsentText
from events.checkin.models import CheckIn, Scan
from events.checkin.services import attendance_credit, checkin_perform
from events.pages.models import Speaker
from events.photos.models import Photo
from events.registrations.models import Registration, RepInvitation, Ticket
from events.surveys.models import SurveyAnswer, SurveyResponse
from events.surveys.services import survey_submit
from members.accounts.models import User
from members.consents.models import Consent
from members.engagement.models import EngagementEvent
from members.points.models import PointsTransaction, Redemption
from members.points.services import reward_redeem
from members.privacy.services import account_close, personal_data_export, personal_data_json
from members.profiles.models import DoctorProfile
from members.segments.models import DoctorSegment
from tests.cms.factories import make_article
from tests.events.factories import (
    answers_for,
    attend_rule,
    make_event,
    make_quota,
    make_registration,
    make_survey,
    open_event,
    ticket_for,
)
from tests.factories import make_doctor, user_with_role
from tests.members import factories as member_support
from tests.members.factories import GOOD_LICENCE, approved_reward

_private_files_cleanup = member_support._private_files_cleanup
master_data = member_support.master_data

NAME, MOBILE, EMAIL, OPENID = "王丽华", "+8613912345678", "lihua.wang@example.com", "oWx7-lihua-openid-1234"
SELF_LAT, SELF_LNG = Decimal("31.235929"), Decimal("121.480539")


@pytest.fixture
def doctor(make_user, master_data):
    """A verified doctor (王丽华) with rows in every category of the export, written by the services where they
    exist: consents, points and a redemption, a registration with a ticket and a self check-in, a photo, a
    reading record and a favourite, a survey answer, inbox and outbox messages, an enrolled patient …"""
    user = make_doctor(via_services=True, user=make_user(display_name=NAME, mobile=MOBILE, email=EMAIL),
                       hospital=master_data["hospital"], department=master_data["department"],
                       specialties=[master_data["area"]], licence_number=GOOD_LICENCE)
    SocialAccount.objects.create(user=user, provider="weixin", uid=OPENID, extra_data={"nickname": NAME})
    reward_redeem(member=user, reward_id=approved_reward(points_cost=100).pk)

    event = open_event()
    registration = make_registration(event, user)
    Registration.objects.filter(pk=registration.pk).update(reason=f"{NAME} 会晚到")
    rep = user_with_role("rep")  # the rep who invited the doctor personally (events.RepInvitation)
    RepInvitation.objects.create(quota=make_quota(event, seats=1, rep=rep), doctor=user, rep=rep)
    checkin_perform(event=event, secret=registration.ticket.secret, staff=user, method=Scan.Method.SELF,
                    latitude=SELF_LAT, longitude=SELF_LNG, ip="203.0.113.9")
    attend_rule()
    attendance_credit(registration_id=registration.pk)  # the task the check-in schedules
    Photo.objects.create(event=event, uploaded_by=user, image="events/x/photos/p.jpg", original_name=f"{NAME}.jpg",
                         content_type="image/jpeg", size=10, width=1, height=1, sha256="0" * 64, phash="0" * 16,
                         caption=f"{NAME} 在会场")
    Speaker.objects.create(name=NAME, doctor=user, hospital="瑞金医院", bio=f"{NAME}，主任医师，电话 {MOBILE}")

    page = make_article()
    ReadingRecord.objects.create(doctor=user, page=page, active_seconds=120, max_share=0.9)
    Favourite.objects.create(user=user, page=page)
    ShareCode.objects.create(user=user, code="LIHUA001")

    survey = make_survey(event=event)
    survey_submit(survey_id=survey.pk, doctor=user, answers=answers_for(survey, q4=[f"我是{NAME}，请打 {MOBILE}"]))
    anonymous = make_survey(title="匿名问卷", anonymous=True)
    survey_submit(survey_id=anonymous.pk, doctor=user, answers=answers_for(anonymous, q4=["匿名的意见"]))

    notification_send(user=user, kind="meeting", title=f"{NAME}医生，您的报名已确认", key=f"n-{user.pk}")
    OutboundMessage.objects.create(
        channel=OutboundMessage.Channel.WECHAT_TEMPLATE, recipient=OPENID, recipient_hash=lookup_hash(OPENID),
        recipient_masked=mask_recipient(OPENID), user=user, template_key="meeting_reminder",
        params={"name": NAME}, rendered=f"{NAME}医生：会议明天开始", idempotency_key=f"m-{user.pk}")
    DoctorSegment.objects.create(doctor=user, therapy_area=master_data["area"], potential="A", support="1",
                                 computed_at=timezone.now())

    programme = Programme.objects.create(name="糖尿病依从性项目", sponsor="某制药")
    ProgrammeConsentText.objects.create(programme=programme, version="1.0", text="参加项目……",
                                        health_info_text="处理健康信息……")
    reminders.patient_enrol(
        programme=programme, contact=reminders.PersonContact(name="赵患者", mobile="+8613700000001"),
        consent=reminders.ConsentGiven(kinds=frozenset({"programme", "health_information", "sms"}),
                                       text_version="1.0"),
        method=Patient.EnrolmentMethod.DOCTOR_PORTAL, preferred_channel="sms", doctor=user,
        birth_date=date(1970, 1, 1))
    return user


def test_the_export_covers_every_category_with_real_rows(doctor):
    data = personal_data_export(user=doctor)
    empty = [entry.section for entry in personal_data_registry() if not data[entry.section]]
    # nothing of those was made for this doctor: the areas of live rooms, e-learning, the message cap and rep
    # invitations have no rows for a doctor who only reads, registers and checks in (nor a PV report of theirs)
    assert set(empty) == {
        "practice_indicators", "segment_history", "proposed_hospitals", "sign_in_addresses", "api_tokens",
        "pharmacovigilance_reports", "message_frequency",
        "live_chat", "live_questions", "live_question_votes", "live_poll_votes", "live_sanctions", "live_attendance",
        "lesson_progress", "course_completions", "exam_attempts", "exam_overrides", "learning_assignments",
        "certificates", "competency_snapshots", "medical_questions", "medical_answers_given", "team_membership",
        "managed_teams", "scorm_lessons", "scorm_packages_uploaded", "wechat_one_time_notices",
    }
    assert data["profile"]["real_name"] == NAME and data["account"]["mobile"] == MOBILE
    assert {c["kind"] for c in data["consents"]} == {"privacy", "marketing_sms"}
    assert {"earn", "redeem"} <= {t["kind"] for t in data["points_transactions"]}
    assert data["points_transactions"][0]["source"] == "医生认证"  # never the doctor's name (append-only ledger)
    assert data["redemptions"][0]["value_rmb"] == "50.00" and data["redemptions"][0]["licence_number"]
    assert data["registrations"][0]["reason"] == f"{NAME} 会晚到"
    assert data["rep_invitations"][0]["role"] == "doctor" and data["rep_invitations"][0]["meeting"]
    assert data["tickets"][0]["code"] == Ticket.objects.get(registration__doctor=doctor).secret
    [checkin] = data["check_ins"]
    assert (checkin["method"], checkin["latitude"], checkin["longitude"]) == ("self", SELF_LAT, SELF_LNG)
    [attempt] = data["check_in_attempts"]
    assert (attempt["result"], attempt["latitude"], attempt["ip_address"]) == ("ok", SELF_LAT, "203.0.113.9")
    assert data["photos_uploaded"][0]["caption"] == f"{NAME} 在会场"
    assert data["reading_records"][0]["percent_read"] == 90
    assert data["favourites"][0]["page"] and data["share_code"]["code"] == "LIHUA001"
    # The named survey's answers; the anonymous one shows only that they took part.
    [response] = data["survey_answers"]
    assert response["survey"] == "会后问卷" and response["answers"][-1]["text"].startswith("我是")
    assert {p["survey"] for p in data["survey_participations"]} == {"会后问卷", "匿名问卷"}
    assert "匿名的意见" not in json.dumps(data, ensure_ascii=False, default=str)
    assert any(note["title"].startswith(NAME) for note in data["inbox"])  # beside the verification result
    assert mask_recipient(OPENID) in {m["to"] for m in data["messages"]}
    assert data["linked_accounts"][0]["uid"] == OPENID
    assert data["speaker_entries"][0]["name"] == NAME
    assert data["segments"][0]["cell"] == "A1"
    # Patients are references: the patient's own details are not the doctor's data.
    [patient] = data["patients_enrolled"]
    assert set(patient) == {"patient_reference", "programme", "enrolled_at", "enrolment_method"}
    assert "赵患者" not in json.dumps(data, ensure_ascii=False, default=str)
    assert {"profile_submitted", "verified", "points_redeemed", "survey_answered"} <= {
        e["kind"] for e in data["engagement_events"]}


def _rows_as_text(models) -> str:
    return "\n".join(serializers.serialize("json", model.objects.all()) for model in models)


IDENTIFIERS = (NAME, MOBILE, MOBILE[3:], EMAIL, OPENID, GOOD_LICENCE)
KEPT_MODELS = (User, DoctorProfile, Consent, EngagementEvent, PointsTransaction, Redemption, Registration, Ticket,
               CheckIn, Scan, Photo, Speaker, ReadingRecord, SurveyResponse, SurveyAnswer, OutboundMessage, Patient)


def test_closing_leaves_no_personal_data_in_the_rows_kept(doctor, django_capture_on_commit_callbacks):
    pk = doctor.pk
    text = _rows_as_text(KEPT_MODELS)
    assert all(value in text for value in (NAME, MOBILE, OPENID, GOOD_LICENCE, "请打"))  # the check can fail
    last_entry = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    with django_capture_on_commit_callbacks(execute=True):
        account_close(user=doctor, confirmation="确认注销")

    text = _rows_as_text(KEPT_MODELS)
    text += serializers.serialize("json", AuditEntry.objects.filter(id__gt=last_entry))  # written while closing
    assert [value for value in IDENTIFIERS if value.lower() in text.lower()] == []
    assert "请打" not in text  # the free-text survey answer
    # Nothing personal is exported any more either: what remains is kept under the pseudonym.
    exported = personal_data_json(personal_data_export(user=User.objects.get(pk=pk))).decode()
    assert [value for value in IDENTIFIERS if value in exported] == []
    pseudonym = f"closed-{pk}"
    assert Redemption.objects.get(account__user_id=pk).doctor_name == pseudonym
    assert Scan.objects.get(ticket__registration__doctor_id=pk).response["registration"]["name"] == pseudonym
    assert Speaker.objects.get(doctor_id=pk).name == pseudonym
    assert set(OutboundMessage.objects.filter(user_id=pk).values_list("recipient", flat=True)) == {""}


def test_closing_keeps_the_evidence_pointing_at_the_pseudonymised_user(doctor):
    pk = doctor.pk
    counts = {model: model.objects.count() for model in KEPT_MODELS}
    account_close(user=doctor, confirmation="确认注销")

    assert {model: model.objects.count() for model in KEPT_MODELS} == counts
    user = User.objects.get(pk=pk)
    assert user.username == f"closed-{pk}" and not user.is_active
    assert PointsTransaction.objects.filter(account__user=user, kind="redeem").exists()
    assert Redemption.objects.filter(account__user=user, value_rmb=Decimal("50.00")).exists()
    checkin = CheckIn.objects.get(registration__doctor=user)
    assert (checkin.scan.latitude, checkin.scan.staff_id) == (SELF_LAT, pk)
    assert Registration.objects.filter(doctor=user).exists() and ReadingRecord.objects.filter(doctor=user).exists()
    assert Photo.objects.filter(uploaded_by=user).exists() and Patient.objects.filter(doctor=user).exists()
    assert SurveyResponse.objects.filter(doctor=user).exists()
    assert SurveyAnswer.objects.filter(response__doctor=user, number=5).exists()  # the survey's totals stay
    # What served only the person goes.
    assert not Favourite.objects.filter(user_id=pk).exists() and not ShareCode.objects.filter(user_id=pk).exists()
    assert not Notification.objects.filter(user_id=pk).exists() and not SocialAccount.objects.filter(user_id=pk)
    assert not DoctorSegment.objects.filter(doctor_id=pk).exists()


def test_closing_never_rewrites_append_only_rows(doctor):
    """The ledger, content approvals and the audit log refuse UPDATE and DELETE: closing does neither to them."""
    with CaptureQueriesContext(connection) as queries:
        account_close(user=doctor, confirmation="确认注销")
    tables = ("members_pointstransaction", "cms_contentapproval", "audit_auditentry")
    touched = [q["sql"] for q in queries.captured_queries
               if q["sql"].startswith(("UPDATE", "DELETE")) and any(f'"{t}"' in q["sql"].split(" WHERE")[0]
                                                                   for t in tables)]
    assert touched == []


def test_queued_messages_to_a_closed_account_are_not_sent(doctor):
    account_close(user=doctor, confirmation="确认注销")
    message = OutboundMessage.objects.get(user=doctor, template_key="meeting_reminder")
    assert (message.status, message.error_code) == ("failed", "account_closed")


def test_a_staff_member_exports_the_scans_they_made(make_user):
    staff = user_with_role("marketing")
    event = open_event()
    checkin_perform(event=event, secret=ticket_for(event).secret, staff=staff, method=Scan.Method.CAMERA)
    data = personal_data_export(user=staff)
    assert [(a["method"], a["result"]) for a in data["check_in_attempts"]] == [("camera", "ok")]
    assert data["check_ins"] == []


def test_closing_gives_back_the_seats_of_meetings_to_come(doctor):
    """Even past the cancellation deadline (nobody attends with a closed account); attended meetings stay."""
    event = make_event(cancellation_deadline=timezone.now() - timedelta(hours=1), capacity=1)
    upcoming = make_registration(event, doctor)
    waiting = make_registration(event, make_doctor(), status="waitlisted")
    account_close(user=doctor, confirmation="确认注销")

    upcoming.refresh_from_db()
    assert (upcoming.status, upcoming.holds_seat, upcoming.reason) == ("cancelled", False, "account closed")
    assert upcoming.ticket.revoked_at is not None
    waiting.refresh_from_db()
    assert waiting.status == "confirmed"  # the freed seat went to the waiting list
    label = AuditEntry.objects.get(action="events.registration.cancelled", object_id=str(upcoming.pk)).actor_label
    assert label.startswith(f"closed-{doctor.pk}")  # the append-only audit never gets the name on closing
    attended = Registration.objects.get(doctor=doctor, checkins__isnull=False)
    assert attended.status == "confirmed"
