"""GET/PATCH /api/v1/members/me with the doctor profile, verification state and access level."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from members.profiles.models import DoctorProfile
from members.profiles.services import speaker_set, verification_decide
from tests.members import factories as profile_support
from tests.members.factories import png_bytes, submit_profile

# Fixtures shared with the other profile test modules.
_private_files_cleanup = profile_support._private_files_cleanup
master_data = profile_support.master_data
ME = "/api/v1/members/me"


def patch(client, body, **extra):
    return client.patch(ME, data=json.dumps(body) if not isinstance(body, str) else body,
                        content_type="application/json", **extra)


def test_anonymous_gets_401(client):
    assert client.get(ME).status_code == 401
    assert patch(client, {"real_name": "x"}).status_code == 401


@pytest.mark.parametrize("role", [None, "doctor", "rep", "marketing", "medical_reviewer", "compliance", "admin"])
def test_every_role_reads_their_own_record(client, make_user, role_user, role):
    user = role_user(role) if role else make_user()
    client.force_login(user)
    body = client.get(ME).json()
    assert body["id"] == user.pk
    assert body["access_level"] == "registered"
    assert body["profile"] is None
    assert body["verification"] == {"status": None, "reason": "", "verified_at": None}


def test_profile_verification_and_access_level_in_me(client, make_user, role_user, master_data):
    user = make_user()
    profile = submit_profile(user, master_data)
    client.force_login(user)
    body = client.get(ME).json()
    assert body["profile"]["hospital"] == {"id": master_data["hospital"].pk, "name": "北京协和医院",
                                           "city": "北京市", "status": "active"}
    assert body["profile"]["certificate_uploaded"] is True
    assert body["profile"]["specialties"] == [{"id": master_data["area"].pk, "name": "糖尿病"}]
    assert body["verification"]["status"] == "pending"
    staff = role_user("marketing")
    verification_decide(profile_id=profile.pk, actor=staff, decision="needs_info", reason="证书不清晰")
    assert client.get(ME).json()["verification"] == {"status": "needs_info", "reason": "证书不清晰",
                                                     "verified_at": None}
    verification_decide(profile_id=profile.pk, actor=staff, decision="verified")
    speaker_set(profile_id=profile.pk, actor=staff, is_speaker=True)
    body = client.get(ME).json()
    assert body["verification"]["status"] == "verified" and body["verification"]["verified_at"]
    assert body["access_level"] == "kol" and body["profile"]["is_speaker"] is True


def test_patch_edits_profile_with_the_same_rules(client, make_user, role_user, master_data):
    user = make_user()
    profile = submit_profile(user, master_data)
    verification_decide(profile_id=profile.pk, actor=role_user("compliance"), decision="verified")
    client.force_login(user)
    response = patch(client, {"title": "chief", "specialty_ids": []})
    assert response.status_code == 200
    assert response.json()["profile"]["title"] == "chief"
    assert response.json()["verification"]["status"] == "verified"
    response = patch(client, {"licence_number": "110110000000009", "language": "en"})
    assert response.status_code == 200
    assert response.json()["verification"]["status"] == "pending"
    assert response.json()["language"] == "en"


@pytest.mark.parametrize("body,status,code", [
    ({"licence_number": "12345"}, 400, "invalid_licence_number"),
    ({"licence_number": "11011000000000X"}, 400, "invalid_licence_number"),
    ({"hospital_id": 99999999}, 400, "unknown_hospital"),
    ({"department_id": 99999999}, 400, "unknown_department"),
    ({"specialty_ids": [99999999]}, 400, "unknown_specialty"),
    ({"real_name": "<script>alert(1)</script>"}, 400, "invalid_real_name"),
    ({"title": "god"}, 400, "invalid_title"),
    ({"hospital_id": "abc"}, 422, "invalid_input"),
    ({"unknown_field": 1}, 422, "invalid_input"),
    ({"real_name": "王" * 51}, 422, "invalid_input"),
    ("not json", 400, "malformed_request"),
    ("[1, 2]", 422, "invalid_input"),
])
def test_patch_bad_input_changes_nothing(client, make_user, master_data, body, status, code):
    user = make_user()
    profile = submit_profile(user, master_data)
    client.force_login(user)
    response = patch(client, body)
    assert response.status_code == status
    assert response.json()["code"] == code
    fresh = DoctorProfile.objects.get(pk=profile.pk)
    assert (fresh.licence_number, fresh.real_name, fresh.hospital_id) == (
        profile.licence_number, profile.real_name, profile.hospital_id)


def test_patch_without_profile_needs_the_web_form(client, make_user, master_data):
    client.force_login(make_user())
    response = patch(client, {"real_name": "李雷", "hospital_id": master_data["hospital"].pk,
                              "department_id": master_data["department"].pk, "title": "attending",
                              "licence_number": "110110000000001"})
    assert response.status_code == 400
    assert response.json()["code"] == "certificate_required"


def test_certificate_upload_endpoint(client, make_user, master_data):
    user = make_user()
    client.force_login(user)
    upload = SimpleUploadedFile("c.png", png_bytes(), content_type="image/png")
    assert client.post(ME + "/certificate", {"certificate": upload}).json()["code"] == "profile_missing"
    profile = submit_profile(user, master_data)
    fake = SimpleUploadedFile("c.png", b"<html>not a png</html>", content_type="image/png")
    response = client.post(ME + "/certificate", {"certificate": fake})
    assert response.status_code == 400 and response.json()["code"] == "certificate_wrong_type"
    upload = SimpleUploadedFile("c.png", png_bytes(), content_type="image/png")
    response = client.post(ME + "/certificate", {"certificate": upload})
    assert response.status_code == 200
    profile.refresh_from_db()
    assert profile.certificate_content_type == "image/png"


def test_openapi_documents_the_profile(client):
    schema = client.get("/api/v1/openapi.json").json()
    member = schema["components"]["schemas"]["MemberOut"]["properties"]
    assert {"profile", "verification", "access_level"} <= set(member)
    patch_schema = schema["components"]["schemas"]["MemberPatch"]["properties"]
    assert {"licence_number", "hospital_id", "specialty_ids"} <= set(patch_schema)
    assert "/api/v1/members/me/certificate" in schema["paths"]
