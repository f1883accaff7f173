"""The SCORM player page, the package's files (checked, same origin) and the commit endpoint over HTTP."""

import json

import pytest
from django.test import Client

from learning.scorm.models import ScormRegistration
from learning.scorm.services import launch_token
from tests.factories import make_doctor, user_with_role

pytestmark = pytest.mark.django_db


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_the_player_page_carries_the_config_and_no_inline_script(scorm_lesson):
    rep = user_with_role("rep")
    response = _client(rep).get(f"/learning/scorm/{scorm_lesson.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="scorm-config"' in html and "vendor/scorm-again/scorm12.min.js" in html
    config = response.context["scorm_config"]
    assert config["launchUrl"] == f"/learning/scorm/{scorm_lesson.pk}/files/index.html"
    assert config["commitUrl"] == f"/learning/scorm/{scorm_lesson.pk}/commit/"
    assert "<script>" not in html


@pytest.mark.parametrize(("who", "status"), [("rep", 200), ("marketing", 200), ("doctor", 404)])
def test_package_files_are_served_only_to_who_may_take_the_lesson(scorm_lesson, who, status):
    user = make_doctor() if who == "doctor" else user_with_role(who)
    response = _client(user).get(f"/learning/scorm/{scorm_lesson.pk}/files/sco.js")
    assert response.status_code == status
    if status == 200:
        assert b"LMSInitialize" in b"".join(response.streaming_content)
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "SAMEORIGIN"
        assert "private" in response["Cache-Control"]


def test_anonymous_visitors_get_no_files(scorm_lesson):
    assert _client().get(f"/learning/scorm/{scorm_lesson.pk}/files/index.html").status_code == 404


@pytest.mark.parametrize("path", ["../../etc/passwd", "..%2F..%2Fsecret", "missing.html", "a/../../index.html"])
def test_paths_outside_the_package_are_not_found(scorm_lesson, path):
    rep = user_with_role("rep")
    assert _client(rep).get(f"/learning/scorm/{scorm_lesson.pk}/files/{path}").status_code == 404


def test_a_package_without_a_lesson_is_only_for_its_managers(scorm_lesson):
    scorm_lesson.lesson = None
    scorm_lesson.save()
    assert _client(user_with_role("rep")).get(f"/learning/scorm/{scorm_lesson.pk}/").status_code == 404
    assert _client(user_with_role("marketing")).get(f"/learning/scorm/{scorm_lesson.pk}/").status_code == 200


def _post(client, package, body, content_type="application/json"):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(f"/learning/scorm/{package.pk}/commit/", data=data, content_type=content_type)


def test_commits_over_http_are_stored_once_also_by_beacon(scorm_lesson):
    rep = user_with_role("rep")
    client = _client(rep)
    client.handler.enforce_csrf_checks = True  # the endpoint is CSRF-exempt; the launch token stands in
    body = {"token": launch_token(user=rep, package=scorm_lesson), "session": "0123456789ab", "sequence": 1,
            "values": {"cmi.core.lesson_status": "passed", "cmi.core.score.raw": "90"}}
    first = _post(client, scorm_lesson, body)
    assert first.status_code == 200 and first.json()["result"] == "true" and first.json()["applied"] is True
    again = _post(client, scorm_lesson, json.dumps(body), content_type="text/plain;charset=UTF-8")
    assert again.status_code == 200 and again.json()["applied"] is False
    assert ScormRegistration.objects.get(user=rep).lesson_status == "passed"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"", b"\xff\xfe"])
def test_malformed_commit_bodies_are_answered_with_a_scorm_error(scorm_lesson, body):
    rep = user_with_role("rep")
    response = _post(_client(rep), scorm_lesson, body)
    assert response.status_code == 400
    assert response.json() == {"result": "false", "errorCode": 101, "code": "scorm_commit_invalid",
                               "message": response.json()["message"]}
    assert not ScormRegistration.objects.exists()


def test_a_commit_for_a_package_one_may_not_run_is_not_found(scorm_lesson):
    doctor = make_doctor()
    body = {"token": launch_token(user=doctor, package=scorm_lesson), "session": "0123456789ab", "sequence": 1,
            "values": {"cmi.core.lesson_status": "passed"}}
    assert _post(_client(doctor), scorm_lesson, body).status_code == 404
    assert _post(_client(), scorm_lesson, body).status_code == 401
    assert not ScormRegistration.objects.exists()


def test_an_oversized_commit_is_refused(scorm_lesson, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    rep = user_with_role("rep")
    body = {"token": launch_token(user=rep, package=scorm_lesson), "session": "0123456789ab", "sequence": 1,
            "values": {"cmi.comments": "x" * 2000}}
    response = _post(_client(rep), scorm_lesson, body)
    assert response.status_code == 400 and response.json()["code"] == "scorm_commit_invalid"


def test_the_package_files_may_run_their_own_scripts_but_only_in_frames_of_this_site(scorm_lesson):
    rep = user_with_role("rep")
    response = _client(rep).get(f"/learning/scorm/{scorm_lesson.pk}/files/index.html")
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy
    assert "'unsafe-inline'" in policy.split("script-src", 1)[1].split(";", 1)[0]
