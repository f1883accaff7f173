"""Redis down: reading pages and the API keeps working (the cache degrades to a miss), rate limits fail closed."""

import logging

import pytest
from django.test import Client
from django.urls import reverse

from cms.pages.models import Audience
from tests.cms.factories import make_article
from tests.events.factories import make_event
from tests.factories import make_doctor

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    public = make_article(title="公开文章", audience=Audience.PUBLIC)
    gated = make_article(title="认证医生文章", audience=Audience.VERIFIED)
    meeting = make_event()
    return {"public": public, "gated": gated, "meeting": meeting}


def walk(client, paths):
    return {path: client.get(path) for path in paths}


def test_public_and_doctor_pages_and_the_api_work_while_redis_is_down(site, dead_cache, caplog):
    doctor = make_doctor(verified=True)
    public_paths = ["/", site["public"].url, site["meeting"].url, "/content/search/?q=文章", reverse("account_login"),
                    "/api/v1/content", f"/api/v1/content/{site['public'].pk}"]
    doctor_paths = [*(p for p in public_paths if p != reverse("account_login")), site["gated"].url, "/members/me/",
                    "/api/v1/members/me",
                    f"/api/v1/content/{site['gated'].pk}"]
    with caplog.at_level(logging.ERROR, logger="engage.cache"):
        anonymous = walk(Client(raise_request_exception=False), public_paths)
        signed_in = Client(raise_request_exception=False)
        signed_in.force_login(doctor)
        as_doctor = walk(signed_in, doctor_paths)
    failed = {f"{who} {path}": r.status_code for who, answers in (("anonymous", anonymous), ("doctor", as_doctor))
              for path, r in answers.items() if r.status_code != 200}
    assert failed == {}
    assert "认证医生文章" in as_doctor[site["gated"].url].content.decode()
    assert as_doctor["/api/v1/members/me"].json()["id"] == doctor.pk
    logged = [record for record in caplog.records if record.name == "engage.cache"]
    assert len(logged) <= 1  # the outage is logged once, not on every request


def test_sign_in_fails_closed_with_a_clear_answer_while_the_rate_limit_store_is_down(dead_cache):
    response = Client(raise_request_exception=False).post(reverse("account_login"),
                                                           {"login": "13900000001", "password": ""})
    assert response.status_code in (429, 503)
    assert "text/html" in response["Content-Type"]
    assert "请稍候一分钟再试" in response.content.decode()
