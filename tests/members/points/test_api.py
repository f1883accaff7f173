"""Points API: /api/v1/members/me/points, /api/v1/rewards, /api/v1/rewards/{id}/redeem — roles and bad input."""

import json

import pytest
from django.test import Client
from wagtail.models import APIToken

from members.points.models import PointsAccount, PointsTransaction, Redemption
from tests.factories import make_doctor, user_with_role
from tests.members.factories import approved_reward, assert_ledger_agrees, give_points

pytestmark = pytest.mark.django_db
POINTS = "/api/v1/members/me/points"
REWARDS = "/api/v1/rewards"


def bearer(user) -> dict:
    _token, plaintext = APIToken.create_token(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}


def post(client, url, body=None, auth=None, **headers):
    data = body if isinstance(body, str | bytes) else json.dumps(body if body is not None else {})
    return client.post(url, data=data, content_type="application/json", **(auth or {}), **headers)


def test_schema_documents_the_points_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {POINTS, REWARDS, REWARDS + "/{reward_id}", REWARDS + "/{reward_id}/redeem"} <= set(paths)
    assert "/api/v1/members/me" in paths  # the members router is untouched


def test_my_points_balance_and_paginated_ledger(client):
    doctor = make_doctor()
    for n in range(25):
        give_points(doctor, n + 1)
    auth = bearer(doctor)
    body = client.get(POINTS, **auth).json()
    assert body["balance"] == sum(range(1, 26)) and body["count"] == 25 and body["pages"] == 2
    assert len(body["items"]) == 20 and body["items"][0]["amount"] == 25  # newest first
    assert body["items"][0]["balance_after"] == body["balance"]
    page2 = client.get(POINTS + "?page=2&page_size=20", **auth).json()
    assert [i["amount"] for i in page2["items"]] == [5, 4, 3, 2, 1]
    assert client.get(POINTS + "?page=9", **auth).json()["items"] == []
    assert client.get(POINTS + "?kind=redeem", **auth).json()["count"] == 0
    assert client.get(POINTS + "?kind=adjust&date_from=2000-01-01&date_to=2100-01-01", **auth).json()["count"] == 25
    assert client.get(POINTS + "?date_to=2000-01-01", **auth).json()["count"] == 0


def test_a_doctor_sees_only_their_own_ledger(client):
    mine, theirs = make_doctor(), make_doctor()
    give_points(theirs, 100)
    body = client.get(POINTS, **bearer(mine)).json()
    assert (body["balance"], body["count"]) == (0, 0)


@pytest.mark.parametrize("query", ["page=0", "page=-1", "page=abc", "page_size=0", "page_size=101",
                                   "page=99999999999999999999", "kind=gift", "date_from=2026-13-01",
                                   "date_to=yesterday"])
def test_bad_query_parameters(client, query):
    response = client.get(f"{POINTS}?{query}", **bearer(make_doctor()))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"


@pytest.mark.parametrize(("role", "status"), [
    ("anonymous", 401), ("doctor", 200), ("unverified", 200), ("rep", 403), ("marketing", 403),
    ("medical_reviewer", 403), ("compliance", 403), ("admin", 403),
])
def test_role_matrix_for_reading(client, role, status):
    approved_reward()
    if role == "anonymous":
        auth = {}
    else:
        user = make_doctor(verified=role != "unverified") if role in {"doctor", "unverified"} else user_with_role(role)
        auth = bearer(user)
    for url in (POINTS, REWARDS):
        response = client.get(url, **auth)
        assert response.status_code == status, (url, response.content)
        if status == 403:
            assert response.json()["code"] == "not_a_member"


def test_rewards_list_shows_approved_in_stock_only(client):
    from decimal import Decimal

    from members.points import services

    visible = approved_reward(name="可见", stock=3)
    empty = approved_reward(name="缺货", stock=1)
    empty.stock = 0
    empty.save()
    services.reward_create(actor=user_with_role("marketing"), name="草稿", kind="course", value_rmb=Decimal("1"),
                           points_cost=1, stock=1)
    auth = bearer(make_doctor())
    body = client.get(REWARDS, **auth).json()
    assert [r["name"] for r in body] == ["可见"]
    assert body[0]["value_rmb"] == "50.00" and body[0]["stock"] == 3
    assert client.get(f"{REWARDS}/{visible.pk}", **auth).status_code == 200
    for missing in (empty.pk, 999999, 2**63):
        response = client.get(f"{REWARDS}/{missing}", **auth)
        assert response.status_code == 404 and response.json()["code"] == "reward_not_available"


def test_redeem_happy_path_and_idempotency_header(client):
    doctor = make_doctor()
    give_points(doctor, 300)
    reward = approved_reward(stock=5, points_cost=100)
    auth = bearer(doctor)
    first = post(client, f"{REWARDS}/{reward.pk}/redeem", auth=auth, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == 201, first.content
    body = first.json()
    assert (body["points"], body["balance"], body["replayed"], body["reward"]["id"]) == (100, 200, False, reward.pk)
    again = post(client, f"{REWARDS}/{reward.pk}/redeem", auth=auth, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert again.status_code == 200 and again.json()["replayed"] and again.json()["id"] == body["id"]
    by_body = post(client, f"{REWARDS}/{reward.pk}/redeem", {"idempotency_key": "abc-1"}, auth=auth)
    assert by_body.status_code == 200 and by_body.json()["id"] == body["id"]
    assert Redemption.objects.count() == 1
    # No key and no body: a new redemption each time.
    assert post(client, f"{REWARDS}/{reward.pk}/redeem", "", auth=auth).status_code == 201
    assert Redemption.objects.count() == 2
    assert_ledger_agrees(doctor)


@pytest.mark.parametrize(("setup", "code", "status"), [
    ("poor", "insufficient_points", 400),
    ("empty", "out_of_stock", 409),
    ("unknown", "reward_not_available", 404),
    ("unverified", "not_verified", 403),
    ("cap", "yearly_value_cap", 400),
])
def test_redeem_errors(client, setup, code, status):
    from decimal import Decimal

    from members.points.models import PointsSettings, Reward

    doctor = make_doctor(verified=setup != "unverified")
    give_points(doctor, 50 if setup == "poor" else 1000)
    reward = approved_reward(stock=3, points_cost=100)
    reward_id = reward.pk
    if setup == "empty":
        Reward.objects.filter(pk=reward.pk).update(stock=0)
    if setup == "unknown":
        reward_id = 424242
    if setup == "cap":
        PointsSettings.objects.update_or_create(pk=1, defaults={"yearly_value_cap_rmb": Decimal("10")})
    response = post(client, f"{REWARDS}/{reward_id}/redeem", auth=bearer(doctor))
    assert response.status_code == status, response.content
    assert response.json()["code"] == code and response.json()["message"]
    assert not Redemption.objects.exists()
    assert PointsAccount.objects.get(user=doctor).balance == (50 if setup == "poor" else 1000)


@pytest.mark.parametrize(("body", "headers", "code"), [
    ("{not json", {}, "malformed_request"),
    ("[1, 2]", {}, "invalid_input"),
    ('"text"', {}, "invalid_input"),
    ({"idempotency_key": "k", "extra": 1}, {}, "invalid_input"),
    ({"idempotency_key": "x" * 101}, {}, "invalid_input"),
    ({"idempotency_key": 5}, {}, "invalid_input"),
    ({}, {"HTTP_IDEMPOTENCY_KEY": "y" * 101}, "invalid_input"),
    ({"idempotency_key": "a"}, {"HTTP_IDEMPOTENCY_KEY": "b"}, "idempotency_key_mismatch"),
])
def test_redeem_bad_input_changes_nothing(client, body, headers, code):
    doctor = make_doctor()
    give_points(doctor, 1000)
    reward = approved_reward()
    response = post(client, f"{REWARDS}/{reward.pk}/redeem", body, auth=bearer(doctor), **headers)
    assert 400 <= response.status_code < 500
    assert response.json()["code"] == code
    assert not Redemption.objects.exists()


def test_redeem_path_with_a_non_integer_or_huge_id(client):
    auth = bearer(make_doctor())
    assert post(client, f"{REWARDS}/abc/redeem", auth=auth).status_code == 404
    response = post(client, f"{REWARDS}/{2**63}/redeem", auth=auth)
    assert response.status_code == 404 and response.json()["code"] == "reward_not_available"


@pytest.mark.parametrize("role", ["rep", "marketing", "medical_reviewer", "compliance", "admin"])
def test_staff_and_reps_cannot_redeem(client, role):
    reward = approved_reward()
    response = post(client, f"{REWARDS}/{reward.pk}/redeem", auth=bearer(user_with_role(role)))
    assert response.status_code == 403 and response.json()["code"] == "not_verified"


def test_anonymous_and_forged_tokens_are_refused(client):
    reward = approved_reward()
    assert post(client, f"{REWARDS}/{reward.pk}/redeem").status_code == 401
    forged = {"HTTP_AUTHORIZATION": "Bearer forged-token"}
    assert post(client, f"{REWARDS}/{reward.pk}/redeem", auth=forged).status_code == 401
    assert client.get(POINTS, **forged).status_code == 401


def test_session_requires_csrf_for_redeem():
    doctor = make_doctor()
    give_points(doctor, 1000)
    reward = approved_reward()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(doctor)
    response = post(browser, f"{REWARDS}/{reward.pk}/redeem")
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
    assert not PointsTransaction.objects.filter(kind="redeem").exists()
    assert browser.get(POINTS).status_code == 200  # reading needs no CSRF token
