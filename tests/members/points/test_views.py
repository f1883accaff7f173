"""Doctor-facing points pages: member-page section, history with filters and pages, rewards, redemption form."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.points.models import PointsAccount, PointsTransaction, Redemption, Reward
from tests.factories import make_doctor, user_with_role
from tests.members.factories import approved_reward, assert_ledger_agrees, give_points

pytestmark = pytest.mark.django_db


def ledger_of(user, n: int) -> None:
    """n earn rows, one a day back from today, with a consistent running balance."""
    account, _ = PointsAccount.objects.get_or_create(user=user)
    start = timezone.now() - timedelta(days=n)
    rows = [PointsTransaction(account=account, amount=5, kind="earn", idempotency_key=f"bulk:{user.pk}:{i}",
                              balance_after=5 * (i + 1), source_type="cms.article", source_id=str(i),
                              source_repr=f"文章 {i}", expires_on=(start + timedelta(days=i)).date(),
                              created_at=start + timedelta(days=i))
            for i in range(n)]
    PointsTransaction.objects.bulk_create(rows)
    PointsAccount.objects.filter(pk=account.pk).update(balance=5 * n)


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", ["/members/me/", "/members/me/points/", "/members/me/points/?kind=earn&page=2",
                                 "/members/me/points/rewards/", "/members/me/points/redemptions/"])
def test_query_count_does_not_grow_with_the_ledger(client, url):
    small, large = make_doctor(), make_doctor()
    ledger_of(small, 30)
    ledger_of(large, 1000)
    approved_reward()
    client.force_login(small)
    queries(client, url)  # warm caches (content types, sessions) the same way for both
    n_small = queries(client, url)
    client.force_login(large)
    queries(client, url)
    assert queries(client, url) == n_small


def test_member_page_shows_the_points_section(client):
    doctor = make_doctor()
    give_points(doctor, 345)
    client.force_login(doctor)
    html = client.get("/members/me/").content.decode()
    assert 'data-testid="points-section"' in html and ">345<" in html
    assert 'href="/members/me/points/"' in html


@pytest.mark.parametrize("role", ["rep", "marketing", "compliance"])
def test_member_page_has_no_points_section_for_non_members(client, role):
    client.force_login(user_with_role(role))
    response = client.get("/members/me/")
    assert response.status_code == 200 and b'data-testid="points-section"' not in response.content


def test_history_filters_and_pagination(client):
    doctor = make_doctor()
    ledger_of(doctor, 45)
    give_points(doctor, 7)  # an adjustment, today
    client.force_login(doctor)
    page1 = client.get("/members/me/points/").content.decode()
    assert page1.count('data-kind="') == 20 and 'rel="next"' in page1 and ">+7<" in page1
    page3 = client.get("/members/me/points/?page=3").content.decode()
    assert page3.count('data-kind="') == 6
    assert client.get("/members/me/points/?page=999").content.decode().count('data-kind="') == 6  # last page
    adjust = client.get("/members/me/points/?kind=adjust").content.decode()
    assert adjust.count('data-kind="adjust"') == 1 and 'data-kind="earn"' not in adjust
    today = timezone.localdate().isoformat()
    only_today = client.get(f"/members/me/points/?date_from={today}&date_to={today}").content.decode()
    assert only_today.count('data-kind="') == 1
    filtered_next = client.get("/members/me/points/?kind=earn").content.decode()
    assert "?kind=earn&amp;date_from=&amp;date_to=&amp;page=2" in filtered_next or "kind=earn&amp;page=2" in \
        filtered_next


@pytest.mark.parametrize("query", ["kind=gift", "date_from=notadate", "date_from=2026-05-02&date_to=2026-05-01",
                                   "page=abc", "page=-3", "page=99999999999999999999999"])
def test_bad_filters_are_shown_not_fatal(client, query):
    doctor = make_doctor()
    give_points(doctor, 5)
    client.force_login(doctor)
    response = client.get(f"/members/me/points/?{query}")
    assert response.status_code == 200


@pytest.mark.parametrize(("role", "status"), [("doctor", 200), ("unverified", 200), ("rep", 403),
                                              ("marketing", 403), ("medical_reviewer", 403), ("compliance", 403),
                                              ("admin", 403)])
def test_role_matrix_for_pages(client, role, status):
    reward = approved_reward()
    user = make_doctor(verified=role != "unverified") if role in {"doctor", "unverified"} else user_with_role(role)
    client.force_login(user)
    for url in ("/members/me/points/", "/members/me/points/rewards/", f"/members/me/points/rewards/{reward.pk}/",
                "/members/me/points/redemptions/"):
        assert client.get(url).status_code == status, url


def test_anonymous_is_sent_to_sign_in(client):
    reward = approved_reward()
    for url in ("/members/me/points/", "/members/me/points/rewards/", f"/members/me/points/rewards/{reward.pk}/",
                "/members/me/points/redemptions/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(f"/members/me/points/rewards/{reward.pk}/", {"idempotency_key": "k"}).status_code == 302
    assert not Redemption.objects.exists()


def test_redeem_through_the_page_and_double_click(client):
    doctor = make_doctor()
    give_points(doctor, 500)
    reward = approved_reward(stock=3, points_cost=100, name="UpToDate 临床顾问 一年")
    client.force_login(doctor)
    page = client.get(f"/members/me/points/rewards/{reward.pk}/").content.decode()
    assert 'data-testid="redeem-form"' in page
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]
    first = client.post(f"/members/me/points/rewards/{reward.pk}/", {"idempotency_key": key})
    second = client.post(f"/members/me/points/rewards/{reward.pk}/", {"idempotency_key": key})
    assert first.status_code == second.status_code == 302
    assert first["Location"] == "/members/me/points/redemptions/"
    assert Redemption.objects.count() == 1
    listing = client.get("/members/me/points/redemptions/").content.decode()
    assert "UpToDate 临床顾问 一年" in listing
    assert_ledger_agrees(doctor)


def test_unverified_doctor_sees_why_and_cannot_redeem(client):
    doctor = make_doctor(verified=False)
    give_points(doctor, 500)
    reward = approved_reward()
    client.force_login(doctor)
    page = client.get(f"/members/me/points/rewards/{reward.pk}/").content.decode()
    assert 'data-testid="verify-to-redeem"' in page and 'data-testid="redeem-form"' not in page
    response = client.post(f"/members/me/points/rewards/{reward.pk}/", {"idempotency_key": "k"})
    assert response.status_code == 403 and b'data-testid="form-errors"' in response.content
    assert not Redemption.objects.exists()


def test_page_errors_keep_everything_unchanged(client):
    doctor = make_doctor()
    give_points(doctor, 50)
    reward = approved_reward(points_cost=100)
    client.force_login(doctor)
    response = client.post(f"/members/me/points/rewards/{reward.pk}/", {"idempotency_key": "k"})
    assert response.status_code == 400 and b'data-testid="form-errors"' in response.content
    for data in ({}, {"idempotency_key": ""}, {"idempotency_key": "x" * 101}):
        assert client.post(f"/members/me/points/rewards/{reward.pk}/", data).status_code == 400
    # The last unit went while the doctor looked: back to the catalogue with the reason.
    Reward.objects.filter(pk=reward.pk).update(stock=0, points_cost=10)
    response = client.post(f"/members/me/points/rewards/{reward.pk}/", {"idempotency_key": "k2"})
    assert response.status_code == 302 and response["Location"] == "/members/me/points/rewards/"
    assert client.get(f"/members/me/points/rewards/{reward.pk}/").status_code == 404
    assert client.get("/members/me/points/rewards/424242/").status_code == 404
    assert not Redemption.objects.exists() and PointsAccount.objects.get(user=doctor).balance == 50
