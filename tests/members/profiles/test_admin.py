"""Verification: decisions and their records, notifications, points, the admin queue, KOL/speaker, access
levels, and two staff deciding at once."""

import pytest

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from engage.inbox.models import Notification
from members.accounts.models import User
from members.accounts.selectors import AccessLevel, access_level_of
from members.engagement.models import EngagementEvent
from members.points.models import PointsTransaction
from members.profiles.models import DoctorProfile, VerificationDecision
from members.profiles.services import speaker_set, verification_decide
from tests.members import factories as profile_support
from tests.members.factories import png_bytes, submit_profile, upload
from tests.race import codes, race

# Fixtures shared with the other profile test modules.
_private_files_cleanup = profile_support._private_files_cleanup
master_data = profile_support.master_data
QUEUE = "/admin/verification/"


@pytest.fixture
def pending(make_user, master_data):
    return submit_profile(make_user(), master_data)


def test_verify_records_decision_audit_event_sms_and_points(pending, role_user, django_capture_on_commit_callbacks):
    staff = role_user("compliance")
    with django_capture_on_commit_callbacks(execute=False):
        profile = verification_decide(profile_id=pending.pk, actor=staff, decision="verified")
    assert profile.status == "verified" and profile.verified_at is not None
    decision = profile.decisions.order_by("-id").first()
    assert (decision.from_status, decision.to_status, decision.actor) == ("pending", "verified", staff)
    assert AuditEntry.objects.filter(action="verification.verified", object_id=str(profile.pk),
                                     actor_id=staff.pk).exists()
    assert EngagementEvent.objects.filter(doctor=profile.user, kind="verified").count() == 1
    note = Notification.objects.get(user=profile.user, kind="verification.decided")
    assert note.key == f"verification_result:{decision.pk}" and note.title.startswith("医生认证：")
    # The profile_verified rule pays once, if the points service exists (it does in this tree).
    earned = PointsTransaction.objects.filter(account__user=profile.user, rule__code="profile_verified")
    assert earned.count() == 1 and earned.get().amount == 100
    assert access_level_of(profile.user) == AccessLevel.VERIFIED


@pytest.mark.parametrize("sms_consent", [True, False])
def test_verification_result_goes_by_sms_only_with_sms_consent(pending, role_user, sms_consent, celery_eager,
                                                              deliver_outbox, fake_twilio,
                                                              django_capture_on_commit_callbacks):
    from members.consents.services import consent_withdraw

    if not sms_consent:
        consent_withdraw(user=pending.user, kind="marketing_sms")  # the profile form asked for it
    with django_capture_on_commit_callbacks(execute=True):
        verification_decide(profile_id=pending.pk, actor=role_user("compliance"), decision="rejected",
                            reason="执业证书已过期")
    deliver_outbox()
    assert Notification.objects.filter(user=pending.user, kind="verification.decided").count() == 1
    assert [m["To"] for m in fake_twilio.sent] == ([pending.user.mobile] if sms_consent else [])
    if sms_consent:
        assert "执业证书已过期" in fake_twilio.sent[0]["Body"]


@pytest.mark.parametrize("decision,kind", [("rejected", "verification_rejected"),
                                           ("needs_info", "verification_needs_info")])
def test_reject_and_needs_info_require_a_reason(pending, role_user, decision, kind):
    staff = role_user("marketing")
    for reason in ("", "   "):
        with pytest.raises(DomainError) as exc:
            verification_decide(profile_id=pending.pk, actor=staff, decision=decision, reason=reason)
        assert exc.value.code == "reason_required"
    pending.refresh_from_db()
    assert pending.status == "pending"
    profile = verification_decide(profile_id=pending.pk, actor=staff, decision=decision, reason="执业证书已过期")
    assert (profile.status, profile.status_reason) == (decision, "执业证书已过期")
    assert EngagementEvent.objects.filter(doctor=profile.user, kind=kind).count() == 1
    assert Notification.objects.get(user=profile.user, kind="verification.decided").body == "执业证书已过期"
    assert not PointsTransaction.objects.filter(account__user=profile.user).exists()


@pytest.mark.parametrize("role", [None, "doctor", "rep", "medical_reviewer"])
def test_only_marketing_compliance_admin_decide(pending, make_user, role_user, role):
    actor = role_user(role) if role else make_user()
    with pytest.raises(DomainError) as exc:
        verification_decide(profile_id=pending.pk, actor=actor, decision="verified")
    assert exc.value.code == "forbidden"
    with pytest.raises(DomainError):
        speaker_set(profile_id=pending.pk, actor=actor, is_speaker=True)


def test_stale_or_impossible_decisions_conflict(pending, role_user):
    staff = role_user("admin")
    with pytest.raises(DomainError) as exc:
        verification_decide(profile_id=pending.pk, actor=staff, decision="verified", expected_status="needs_info")
    assert exc.value.code == "verification_conflict"
    verification_decide(profile_id=pending.pk, actor=staff, decision="verified")
    with pytest.raises(DomainError) as exc:
        verification_decide(profile_id=pending.pk, actor=staff, decision="verified")
    assert exc.value.code == "verification_conflict"
    with pytest.raises(DomainError) as exc:
        verification_decide(profile_id=pending.pk, actor=staff, decision="approved")
    assert exc.value.code == "invalid_decision"
    with pytest.raises(DomainError) as exc:
        verification_decide(profile_id=999999, actor=staff, decision="verified")
    assert exc.value.code == "profile_not_found"
    # A verification can be revoked, with a reason.
    profile = verification_decide(profile_id=pending.pk, actor=staff, decision="rejected", reason="证书伪造")
    assert profile.status == "rejected"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_staff_deciding_at_once_one_wins(make_user, role_user, master_data):
    profile = submit_profile(make_user(), master_data)
    staff = [role_user("marketing"), role_user("compliance")]
    decisions = [("verified", ""), ("rejected", "照片模糊")]

    def decide(index):
        verification_decide(profile_id=profile.pk, actor=staff[index], decision=decisions[index][0],
                            reason=decisions[index][1], expected_status="pending")
        return "ok"

    for _round in range(3):
        results = codes(race(2, decide))
        assert sorted(results) == ["ok", "verification_conflict"]
        assert VerificationDecision.objects.filter(profile=profile).exclude(to_status="pending").count() == 1
        final = DoctorProfile.objects.get(pk=profile.pk)
        winner = results.index("ok")
        assert final.status == decisions[winner][0]
        # Back to pending for the next round, as a doctor's resubmission does.
        VerificationDecision.objects.filter(profile=profile).exclude(to_status="pending").delete()
        DoctorProfile.objects.filter(pk=profile.pk).update(status="pending", status_reason="", verified_at=None)


def test_access_levels(make_user, role_user, pending):
    from django.contrib.auth.models import AnonymousUser

    staff = role_user("marketing")
    def fresh():  # a new request's user: the level is cached per user object
        return User.objects.get(pk=pending.user_id)

    assert access_level_of(AnonymousUser()) == AccessLevel.ANONYMOUS
    assert access_level_of(make_user()) == AccessLevel.REGISTERED  # no profile
    assert access_level_of(fresh()) == AccessLevel.REGISTERED  # pending
    # A speaker flag alone does not lift an unverified doctor.
    speaker_set(profile_id=pending.pk, actor=staff, is_speaker=True, reason="省级讲者")
    assert access_level_of(fresh()) == AccessLevel.REGISTERED
    verification_decide(profile_id=pending.pk, actor=staff, decision="verified")
    assert access_level_of(fresh()) == AccessLevel.KOL
    speaker_set(profile_id=pending.pk, actor=staff, is_speaker=False)
    assert access_level_of(fresh()) == AccessLevel.VERIFIED
    assert AuditEntry.objects.filter(action="profile.speaker", object_id=str(pending.pk)).count() == 2
    doctor = fresh()
    doctor.is_active = False
    assert access_level_of(doctor) == AccessLevel.ANONYMOUS


@pytest.mark.parametrize("role,outcome", [
    ("marketing", "ok"), ("compliance", "ok"), ("admin", "ok"),
    ("medical_reviewer", "denied"),  # reaches the admin, not this queue: Wagtail sends them to the dashboard
    ("doctor", "login"), ("rep", "login"), (None, "login"),
])
def test_queue_and_detail_role_matrix(client, role_user, make_user, pending, role, outcome):
    if role is not None:
        client.force_login(role_user(role))
    for url in (QUEUE, f"{QUEUE}{pending.pk}/"):
        response = client.get(url)
        if outcome == "ok":
            assert response.status_code == 200, url
            assert pending.real_name in response.content.decode()
        elif outcome == "denied":
            assert response.status_code == 302 and response.url == "/admin/", url
        else:
            assert response.status_code == 302 and "/login/" in response.url, url
    response = client.post(f"{QUEUE}{pending.pk}/", {"decision": "verified", "expected_status": "pending"})
    pending.refresh_from_db()
    assert (pending.status == "verified") == (outcome == "ok")


def test_queue_lists_pending_oldest_first_and_filters(client, role_user, make_user, master_data):
    first = submit_profile(make_user(), master_data, real_name="甲医生")
    second = submit_profile(make_user(), master_data, real_name="乙医生")
    staff = role_user("marketing")
    verification_decide(profile_id=submit_profile(make_user(), master_data, real_name="丙医生").pk,
                        actor=staff, decision="verified")
    client.force_login(staff)
    html = client.get(QUEUE).content.decode()
    assert html.index("甲医生") < html.index("乙医生")
    assert "丙医生" not in html
    html = client.get(QUEUE, {"status": "verified"}).content.decode()
    assert "丙医生" in html and "甲医生" not in html
    assert "乙医生" in client.get(QUEUE, {"status": "all", "q": "乙"}).content.decode()
    assert client.get(QUEUE, {"status": "bogus"}).status_code == 200
    assert first.pk != second.pk


def test_detail_shows_certificate_through_checked_view(client, role_user, make_user, master_data):
    doctor = make_user()
    profile = submit_profile(doctor, master_data)
    client.force_login(role_user("compliance"))
    html = client.get(f"{QUEUE}{profile.pk}/").content.decode()
    assert f'src="/members/profile/{profile.pk}/certificate/"' in html
    # A PDF is linked, not inlined.
    from members.profiles.services import ProfileInput, profile_submit
    from tests.members.factories import pdf_bytes

    profile_submit(user=doctor, data=ProfileInput(), certificate=upload("c.pdf", pdf_bytes(), "application/pdf"))
    html = client.get(f"{QUEUE}{profile.pk}/").content.decode()
    assert f'href="/members/profile/{profile.pk}/certificate/"' in html and "<img class=\"certificate\"" not in html


def test_detail_reject_without_reason_shows_error(client, role_user, pending):
    client.force_login(role_user("marketing"))
    response = client.post(f"{QUEUE}{pending.pk}/", {"decision": "rejected", "reason": "",
                                                     "expected_status": "pending"})
    assert response.status_code == 400
    pending.refresh_from_db()
    assert pending.status == "pending"
    response = client.post(f"{QUEUE}{pending.pk}/", {"decision": "needs_info", "reason": "请上传清晰的证书",
                                                     "expected_status": "pending"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert (pending.status, pending.status_reason) == ("needs_info", "请上传清晰的证书")


def test_detail_stale_form_shows_conflict(client, role_user, pending):
    verification_decide(profile_id=pending.pk, actor=role_user("admin"), decision="verified")
    client.force_login(role_user("marketing"))
    response = client.post(f"{QUEUE}{pending.pk}/", {"decision": "rejected", "reason": "x",
                                                     "expected_status": "pending"})
    assert response.status_code == 400
    assert "已有其他人先行处理" in response.content.decode()  # "somebody else decided first", in Chinese
    pending.refresh_from_db()
    assert pending.status == "verified"


def test_speaker_action_in_admin(client, role_user, pending):
    client.force_login(role_user("marketing"))
    response = client.post(f"{QUEUE}{pending.pk}/", {"speaker": "1", "is_speaker": "on", "reason": "国家级KOL"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.is_speaker
    client.post(f"{QUEUE}{pending.pk}/", {"speaker": "1"})
    pending.refresh_from_db()
    assert not pending.is_speaker


def test_doctor_sees_state_and_reason_on_member_page(client, role_user, pending):
    verification_decide(profile_id=pending.pk, actor=role_user("marketing"), decision="needs_info",
                        reason="请上传<b>清晰</b>的证书")
    client.force_login(pending.user)
    html = client.get("/members/me/").content.decode()
    assert 'data-status="needs_info"' in html
    assert "请上传&lt;b&gt;清晰&lt;/b&gt;的证书" in html
    # The doctor answers with a new certificate: back in the queue.
    response = client.post("/members/profile/", {
        "real_name": pending.real_name, "gender": pending.gender, "hospital": pending.hospital_id,
        "department": pending.department_id, "title": pending.title, "licence_number": pending.licence_number,
        "accept_privacy": "on", "certificate": upload("new.png", png_bytes(), "image/png"),
    })
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "pending"


@pytest.mark.parametrize("role,shown", [("marketing", True), ("compliance", True), ("admin", True),
                                        ("medical_reviewer", False)])
def test_menu_item_only_for_verifiers(client, role_user, role, shown):
    client.force_login(role_user(role))
    html = client.get("/admin/").content.decode()
    assert (QUEUE in html) == shown


def test_profile_form_prefills_standing_consents(client, pending):
    client.force_login(pending.user)
    html = client.get("/members/profile/").content.decode()
    assert 'name="accept_privacy" id="id_accept_privacy" checked' in html
    assert 'name="marketing_sms" id="id_marketing_sms" checked' in html
    assert 'name="marketing_email" id="id_marketing_email" checked' not in html
