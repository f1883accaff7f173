"""Profile completion: the form, the service's validation, certificate checks and private storage, hospital
search and proposals, changes after verification."""

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from engage.core.roles import Role, has_role
from members.consents.models import Consent
from members.engagement.models import EngagementEvent
from members.hospitals.models import Hospital
from members.profiles.models import DoctorProfile, VerificationDecision
from members.profiles.services import (
    CERTIFICATE_MAX_BYTES,
    ProfileInput,
    certificate_check,
    hospital_propose,
    licence_number_clean,
    profile_submit,
    verification_decide,
)
from tests.members import factories as profile_support
from tests.members.factories import GOOD_LICENCE, form_data, jpeg_bytes, pdf_bytes, png_bytes, submit_profile, upload

# Fixtures shared with the other profile test modules.
_private_files_cleanup = profile_support._private_files_cleanup
master_data = profile_support.master_data
PROFILE_URL = "/members/profile/"


@pytest.mark.parametrize("value", ["110110000000001", " 1101 1000 0000 001 ", "999999999999999",
                                   "１１０１１００００００００01"])  # full-width digits from a Chinese keyboard
def test_licence_number_accepts_15_digits(value):
    assert licence_number_clean(value) == "".join(str(int(ch)) for ch in value if not ch.isspace())


@pytest.mark.parametrize("value", [
    "", "11011000000000", "1101100000000012", "11011000000000A", "ABCDEFGHIJKLMNO", "110110-00000000",
    "١١٠١١٠٠٠٠٠٠٠٠٠١",  # Arabic-Indic digits are digits, but not licence digits
    "110110000000001\n1", "<script>", "110110000000001" + "0" * 20,
])
def test_licence_number_rejects_everything_else(value):
    with pytest.raises(DomainError) as exc:
        licence_number_clean(value)
    assert exc.value.code == "invalid_licence_number"
    assert "15" in str(exc.value.message)


def test_certificate_check_accepts_jpeg_png_pdf_by_content():
    assert certificate_check(upload("a.jpg", jpeg_bytes())) == "image/jpeg"
    assert certificate_check(upload("a.png", png_bytes(), "image/png")) == "image/png"
    assert certificate_check(upload("a.pdf", pdf_bytes(), "application/pdf")) == "application/pdf"
    # The name and the browser's claim do not matter; the bytes do.
    assert certificate_check(upload("photo.pdf", png_bytes(), "application/pdf")) == "image/png"


@pytest.mark.parametrize("name,content,code", [
    ("cert.jpg", b"just some text, not an image", "certificate_wrong_type"),
    ("cert.jpg", b"GIF89a" + b"\x00" * 100, "certificate_wrong_type"),
    ("cert.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 50, "certificate_invalid"),  # PNG magic, not a PNG
    ("cert.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 200, "certificate_invalid"),  # JPEG magic, not a JPEG
    ("cert.pdf", b"%PDF-1.4\n<html><script>alert(1)</script>", "certificate_invalid"),  # no %%EOF
    ("cert.html", b"<html><script>alert(1)</script></html>", "certificate_wrong_type"),
    ("cert.exe", b"MZ\x90\x00" + b"\x00" * 100, "certificate_wrong_type"),
    ("empty.jpg", b"", "certificate_invalid"),
])
def test_certificate_check_refuses_wrong_or_forged_files(name, content, code):
    with pytest.raises(DomainError) as exc:
        certificate_check(upload(name, content))
    assert exc.value.code == code


def test_certificate_over_5_mb_is_refused():
    big = jpeg_bytes() + b"\x00" * (CERTIFICATE_MAX_BYTES + 1)
    with pytest.raises(DomainError) as exc:
        certificate_check(upload("big.jpg", big))
    assert exc.value.code == "certificate_too_large"


def test_first_submission_queues_profile_grants_doctor_role_and_records_everything(make_user, master_data):
    user = make_user()
    profile = submit_profile(user, master_data)

    assert profile.status == DoctorProfile.Status.PENDING
    assert profile.licence_number == GOOD_LICENCE
    assert list(profile.specialties.all()) == [master_data["area"]]
    assert has_role(user, Role.DOCTOR)
    decision = VerificationDecision.objects.get(profile=profile)
    assert (decision.from_status, decision.to_status, decision.actor) == ("", "pending", user)
    assert EngagementEvent.objects.filter(doctor=user, kind="profile_submitted").count() == 1
    assert AuditEntry.objects.filter(action="profile.submit", object_id=str(profile.pk)).exists()
    assert AuditEntry.objects.filter(action="role.grant", object_id=str(user.pk)).exists()
    # The audit log keeps that a licence number was given, never the number itself.
    entry = AuditEntry.objects.get(action="profile.submit")
    assert GOOD_LICENCE not in str(entry.after)
    assert Consent.objects.filter(user=user, kind="privacy", withdrawn_at__isnull=True).count() == 1


def test_certificate_is_stored_privately_outside_media_root(make_user, master_data):
    user = make_user()
    profile = submit_profile(user, master_data)
    path = Path(profile.certificate.path).resolve()
    assert path.is_file()
    assert not path.is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert path.is_relative_to(Path(settings.PRIVATE_ROOT).resolve())
    assert profile.certificate_content_type == "image/jpeg"
    with pytest.raises(ValueError):
        profile.certificate.url  # noqa: B018  (no public URL exists)


@pytest.mark.parametrize("field,value,code", [
    ("licence_number", "12345", "invalid_licence_number"),
    ("real_name", "   ", "real_name_required"),
    ("real_name", "<script>alert(1)</script>", "invalid_real_name"),
    ("real_name", "王" * 51, "invalid_real_name"),
    ("hospital_id", 99999999, "unknown_hospital"),
    ("department_id", 99999999, "unknown_department"),
    ("specialty_ids", [99999999], "unknown_specialty"),
    ("title", "professor", "invalid_title"),
    ("gender", "x", "invalid_gender"),
])
def test_bad_input_changes_nothing(make_user, master_data, field, value, code):
    user = make_user(privacy_consent=False)  # an account from before sign-up asked for it
    with pytest.raises(DomainError) as exc:
        submit_profile(user, master_data, **{field: value})
    assert exc.value.code == code
    assert not DoctorProfile.objects.filter(user=user).exists()
    assert not Consent.objects.filter(user=user).exists()  # the consent in the same step is rolled back too
    assert not has_role(user, Role.DOCTOR)


def test_someone_elses_proposed_hospital_cannot_be_picked(make_user, master_data):
    proposer, user = make_user(), make_user()
    proposed = hospital_propose(user=proposer, name="新建社区医院", province="江苏省", city="南京市")
    with pytest.raises(DomainError) as exc:
        submit_profile(user, master_data, hospital_id=proposed.pk)
    assert exc.value.code == "unknown_hospital"
    # The proposer may pick their own proposal; it waits for staff approval.
    profile = submit_profile(proposer, master_data, hospital_id=proposed.pk)
    assert profile.hospital == proposed


def test_first_submission_needs_a_certificate(make_user, master_data):
    user = make_user()
    with pytest.raises(DomainError) as exc:
        profile_submit(user=user, data=ProfileInput(real_name="李雷", hospital_id=master_data["hospital"].pk,
                                                    department_id=master_data["department"].pk,
                                                    title="attending", licence_number=GOOD_LICENCE))
    assert exc.value.code == "certificate_required"


def test_names_with_markup_characters_are_stored_as_text_and_escaped(make_user, master_data, client):
    user = make_user()
    submit_profile(user, master_data, real_name="O'Brien & 张 \"Doc\"")
    client.force_login(user)
    html = client.get("/members/me/").content.decode()
    assert "O&#x27;Brien &amp; 张 &quot;Doc&quot;" in html


@pytest.mark.parametrize("field,value", [
    ("real_name", "王丽"), ("licence_number", "110110000000002"), ("hospital_id", "other"),
])
def test_identity_change_after_verification_goes_back_to_pending(make_user, role_user, master_data, field, value):
    user = make_user()
    profile = submit_profile(user, master_data)
    verification_decide(profile_id=profile.pk, actor=role_user("compliance"), decision="verified")
    if value == "other":
        value = master_data["other_hospital"].pk
    profile = profile_submit(user=user, data=ProfileInput(**{field: value}))
    assert profile.status == DoctorProfile.Status.PENDING
    assert profile.verified_at is None
    last = profile.decisions.order_by("-id").first()
    assert (last.from_status, last.to_status) == ("verified", "pending")
    assert "changed after verification" in last.reason


def test_other_changes_after_verification_keep_it_verified(make_user, role_user, master_data):
    user = make_user()
    profile = submit_profile(user, master_data)
    verification_decide(profile_id=profile.pk, actor=role_user("marketing"), decision="verified")
    profile = profile_submit(user=user, data=ProfileInput(title="chief", specialty_ids=[]))
    assert profile.status == DoctorProfile.Status.VERIFIED
    assert profile.title == "chief"


def test_resubmitting_after_needs_info_requeues(make_user, role_user, master_data):
    user = make_user()
    profile = submit_profile(user, master_data)
    verification_decide(profile_id=profile.pk, actor=role_user("marketing"), decision="needs_info",
                        reason="证书照片不清晰")
    profile = profile_submit(user=user, data=ProfileInput(), certificate=upload("new.png", png_bytes(), "image/png"))
    assert profile.status == "pending"
    assert profile.certificate_content_type == "image/png"


def test_hospital_proposal_is_proposed_and_not_duplicated(make_user, master_data):
    user = make_user()
    hospital = hospital_propose(user=user, name=" 南京  鼓楼医院 ", province="江苏省", city="南京市")
    assert (hospital.status, hospital.proposed_by, hospital.name) == ("proposed", user, "南京 鼓楼医院")
    assert hospital_propose(user=user, name="南京 鼓楼医院", province="江苏省", city="南京市") == hospital
    # An active hospital of the same name and city is returned instead of a proposal.
    assert hospital_propose(user=user, name="北京协和医院", province="北京市", city="北京市") == master_data["hospital"]
    with pytest.raises(DomainError) as exc:
        hospital_propose(user=make_user(), name="南京鼓楼医院", province="江苏省", city="南京市")
    assert exc.value.code == "hospital_already_proposed"
    for bad in ({"name": "x"}, {"name": "<b>医院</b>"}, {"city": ""}):
        with pytest.raises(DomainError):
            hospital_propose(user=user, **{"name": "合格的医院", "province": "江苏省", "city": "南京市", **bad})


def test_anonymous_is_sent_to_sign_in(client):
    for url in (PROFILE_URL, "/members/profile/hospitals/?q=x"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url


@pytest.mark.parametrize("role", [None, "doctor", "rep", "marketing", "medical_reviewer", "compliance", "admin"])
def test_every_signed_in_role_can_open_the_profile_page(client, make_user, role_user, role, master_data):
    client.force_login(role_user(role) if role else make_user())
    response = client.get(PROFILE_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="profile-form"' in html
    assert 'data-policy-version="1"' in html  # the privacy policy text and version are shown


def test_form_submission_creates_profile_and_consents(client, make_user, master_data):
    user = make_user(privacy_consent=False)  # an account from before sign-up asked for it
    client.force_login(user)
    data = form_data(master_data)
    data["certificate"] = upload()
    response = client.post(PROFILE_URL, data, HTTP_USER_AGENT="Mozilla/5.0 MicroMessenger/8.0",
                           REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 302 and response.url == "/members/me/"
    profile = DoctorProfile.objects.get(user=user)
    assert profile.status == "pending"
    privacy = Consent.objects.get(user=user, kind="privacy")
    assert privacy.policy.version == "1"
    assert privacy.method == "wechat"
    assert privacy.ip_address == "198.51.100.4"
    assert "MicroMessenger" in privacy.user_agent
    assert Consent.objects.filter(user=user, kind="marketing_sms", withdrawn_at__isnull=True).exists()
    assert not Consent.objects.filter(user=user, kind="marketing_wechat").exists()
    page = client.get("/members/me/").content.decode()
    assert 'data-status="pending"' in page


@pytest.mark.parametrize("overrides,field,message", [
    ({"accept_privacy": None}, None, "privacy policy"),
    ({"licence_number": "12345"}, "licence_number", "15 digits"),
    ({"hospital": "99999999"}, "hospital", "Choose your hospital"),
    ({"hospital": "abc"}, "hospital", ""),
    ({"department": "99999999"}, "department", ""),
    ({"real_name": "<img src=x onerror=alert(1)>"}, "real_name", "&lt;"),
])
def test_form_errors_are_shown_and_nothing_is_saved(client, make_user, master_data, overrides, field, message):
    user = make_user(privacy_consent=False)  # an account from before sign-up asked for it
    client.force_login(user)
    data = form_data(master_data, **overrides)
    data["certificate"] = upload()
    # The messages are asserted in English; the Chinese catalogue is checked elsewhere.
    response = client.post(PROFILE_URL, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert "engage-field-errors" in html or "form-errors" in html
    assert message in html
    assert "<img src=x" not in html  # echoed input is escaped
    assert not DoctorProfile.objects.filter(user=user).exists()
    assert not Consent.objects.filter(user=user).exists()


@pytest.mark.parametrize("name,content,content_type", [
    ("c.jpg", b"not an image at all", "image/jpeg"),
    ("c.png", b"\x89PNG\r\n\x1a\n" + b"x" * 100, "image/png"),
    ("c.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "image/svg+xml"),
])
def test_form_refuses_bad_certificates(client, make_user, master_data, name, content, content_type):
    user = make_user()
    client.force_login(user)
    data = form_data(master_data)
    data["certificate"] = upload(name, content, content_type)
    response = client.post(PROFILE_URL, data)
    assert response.status_code == 200
    assert 'data-field-errors="certificate"' in response.content.decode()
    assert not DoctorProfile.objects.filter(user=user).exists()


def test_form_refuses_oversized_certificate(client, make_user, master_data):
    user = make_user()
    client.force_login(user)
    data = form_data(master_data)
    data["certificate"] = upload("big.jpg", jpeg_bytes() + b"\x00" * CERTIFICATE_MAX_BYTES)
    response = client.post(PROFILE_URL, data)
    assert response.status_code == 200
    assert "5 MB" in response.content.decode()
    assert not DoctorProfile.objects.filter(user=user).exists()


def test_form_requires_certificate_on_first_submission(client, make_user, master_data):
    user = make_user()
    client.force_login(user)
    response = client.post(PROFILE_URL, form_data(master_data))
    assert response.status_code == 200
    assert not DoctorProfile.objects.filter(user=user).exists()


def test_editing_keeps_certificate_when_none_uploaded(client, make_user, master_data):
    user = make_user()
    profile = submit_profile(user, master_data)
    name = profile.certificate.name
    client.force_login(user)
    response = client.post(PROFILE_URL, form_data(master_data, title="chief"))
    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.title, profile.certificate.name) == ("chief", name)


def test_hospital_search_view_finds_by_name_pinyin_and_city(client, make_user, master_data):
    user = make_user()
    client.force_login(user)
    for q in ("协和", "BJXH", "bjxh", "北京"):
        items = client.get("/members/profile/hospitals/", {"q": q}).json()["items"]
        assert master_data["hospital"].pk in [i["id"] for i in items], q
    assert client.get("/members/profile/hospitals/", {"q": "\x00<script>"}).json()["items"] == []
    mine = hospital_propose(user=user, name="我的诊所医院", province="江苏省", city="南京市")
    other = hospital_propose(user=make_user(), name="别人的医院", province="江苏省", city="南京市")
    ids = [i["id"] for i in client.get("/members/profile/hospitals/", {"q": "医院"}).json()["items"]]
    assert mine.pk in ids and other.pk not in ids


def test_hospital_proposal_view(client, make_user):
    user = make_user()
    client.force_login(user)
    response = client.post("/members/profile/hospitals/propose/",
                           {"name": "杭州新院区医院", "province": "浙江省", "city": "杭州市"})
    assert response.status_code == 201
    hospital = Hospital.objects.get(pk=response.json()["id"])
    assert (hospital.status, hospital.proposed_by) == ("proposed", user)
    assert client.post("/members/profile/hospitals/propose/", {"name": ""}).status_code == 400
    assert client.get("/members/profile/hospitals/propose/").status_code == 405


@pytest.mark.parametrize("role,allowed", [
    ("owner", True), ("doctor", False), ("rep", False), ("medical_reviewer", False),
    ("marketing", True), ("compliance", True), ("admin", True),
])
def test_certificate_view_role_matrix(client, make_user, role_user, master_data, role, allowed):
    owner = make_user()
    profile = submit_profile(owner, master_data)
    client.force_login(owner if role == "owner" else role_user(role))
    response = client.get(reverse("profile_certificate", args=[profile.pk]))
    if allowed:
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in response["Cache-Control"]
        assert b"".join(response.streaming_content) == jpeg_bytes()
    else:
        assert response.status_code == 404


def test_certificate_view_anonymous_and_missing(client, make_user, master_data):
    profile = submit_profile(make_user(), master_data)
    response = client.get(reverse("profile_certificate", args=[profile.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response.url
    client.force_login(make_user())
    assert client.get(reverse("profile_certificate", args=[999999])).status_code == 404


def test_certificate_is_not_under_the_public_media_url(client, make_user, master_data):
    profile = submit_profile(make_user(), master_data)
    assert client.get(settings.MEDIA_URL + profile.certificate.name).status_code == 404
