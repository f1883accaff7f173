"""Product qualification on every surface: a rep without a current certificate of the curriculum a product
requires cannot invite doctors to a meeting about it (their invitation link, its QR, registrations through it),
nor share content about it (API and the page's share link); each refusal is `rep_not_qualified` with the course
link; the rep's doctor list, quota page and meeting page say which products; a lapse counts at once."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from cms.pages.models import Audience
from engage.core.errors import DomainError
from engage.core.qualification import qualification_gaps, qualification_require
from events.registrations.models import Registration
from events.registrations.services import registration_create
from learning.certificates.services import certificate_revoke
from tests.cms.factories import make_article
from tests.events.factories import make_event, make_quota
from tests.factories import make_doctor, user_with_role
from tests.learning.quals import certify, make_course, make_curriculum, make_rep, require

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    course = make_course(lessons=0)
    curriculum = make_curriculum(courses=[course])
    product = require(curriculum)
    event = make_event()
    event.products.add(product)
    event.save()  # a parental many-to-many is written with its page
    rep = make_rep()
    quota = make_quota(event, seats=5, rep=rep)
    return type("World", (), {"course": course, "curriculum": curriculum, "product": product, "event": event,
                              "rep": rep, "quota": quota})


def _course_url(world):
    return reverse("learning:curriculum", args=[world.curriculum.pk])


def test_the_registry_refuses_with_the_course_link(world):
    with pytest.raises(DomainError) as refused:
        qualification_require(user=world.rep, product_ids=[world.product.pk])
    assert refused.value.code == "rep_not_qualified" and refused.value.status == 403
    assert refused.value.details["course_url"] == _course_url(world)
    assert world.product.name in str(refused.value.message)
    assert [m.product_id for m in qualification_gaps(user=world.rep)] == [world.product.pk]
    certify(world.rep, world.course)
    qualification_require(user=world.rep, product_ids=[world.product.pk])
    assert qualification_gaps(user=world.rep) == []


def test_staff_and_doctors_are_not_bound(world):
    for user in (user_with_role("marketing"), make_doctor()):
        qualification_require(user=user, product_ids=[world.product.pk])


def test_a_doctor_cannot_register_through_an_unqualified_reps_invitation(world):
    doctor = make_doctor()
    with pytest.raises(DomainError) as refused:
        registration_create(event=world.event, doctor=doctor, invite=world.quota.invite_code)
    assert refused.value.code == "rep_not_qualified"
    assert not Registration.objects.filter(doctor=doctor).exists()
    registration_create(event=world.event, doctor=doctor)  # the meeting itself stays open to them


def test_a_qualified_rep_invites_and_a_revocation_stops_it_at_once(world):
    [_course_cert, curriculum_cert] = certify(world.rep, world.course)
    first, second = make_doctor(), make_doctor()
    registration = registration_create(event=world.event, doctor=first, invite=world.quota.invite_code)
    assert registration.source == Registration.Source.REP
    certificate_revoke(certificate_id=curriculum_cert.pk, actor=user_with_role("compliance"), reason="违规推广")
    with pytest.raises(DomainError) as refused:
        registration_create(event=world.event, doctor=second, invite=world.quota.invite_code)
    assert refused.value.code == "rep_not_qualified"


def test_expiry_takes_effect_at_once(world):
    certify(world.rep, world.course)
    qualification_require(user=world.rep, product_ids=[world.product.pk])
    with time_machine.travel(timezone.now() + timedelta(days=400)), pytest.raises(DomainError) as refused:
        qualification_require(user=world.rep, product_ids=[world.product.pk])
    assert refused.value.code == "rep_not_qualified"


def test_a_meeting_without_required_products_is_not_affected(world):
    other = make_event()
    quota = make_quota(other, seats=2, rep=world.rep)
    registration_create(event=other, doctor=make_doctor(), invite=quota.invite_code)


def test_the_invitation_link_and_its_qr_refuse(client, world):
    url = reverse("events:invitation", args=[world.quota.invite_code])
    response = client.get(url)
    assert response.status_code == 403
    assert b'data-code="rep_not_qualified"' in response.content
    client.force_login(world.rep)
    response = client.get(reverse("events:invitation_qr", args=[world.quota.invite_code]))
    assert response.status_code == 403
    assert _course_url(world).encode() in response.content
    certify(world.rep, world.course)
    assert client.get(reverse("events:invitation_qr", args=[world.quota.invite_code])).status_code == 200
    client.logout()
    assert client.get(url).status_code == 200


def test_the_registration_form_through_the_invitation_is_refused(client, world):
    doctor = make_doctor()
    client.force_login(doctor)
    client.post(reverse("events:register", args=[world.event.pk]), {"invite": world.quota.invite_code})
    assert not Registration.objects.filter(doctor=doctor).exists()


def test_the_reps_quota_page_meeting_page_and_doctor_list_say_why(client, world):
    client.force_login(world.rep)
    quotas = client.get(reverse("events:rep_quotas")).content.decode()
    assert 'data-testid="not-qualified-product"' in quotas and world.product.name in quotas
    assert 'data-testid="rep-quota-link"' not in quotas and _course_url(world) in quotas
    meeting = client.get(world.event.url).content.decode()
    assert 'data-testid="not-qualified"' in meeting and _course_url(world) in meeting
    doctors = client.get(reverse("rep_doctors")).content.decode()
    assert world.product.name in doctors and _course_url(world) in doctors
    certify(world.rep, world.course)
    assert 'data-testid="rep-quota-link"' in client.get(reverse("events:rep_quotas")).content.decode()
    assert 'data-testid="not-qualified"' not in client.get(world.event.url).content.decode()


def test_sharing_content_about_the_product(client, world):
    article = make_article(audience=Audience.PUBLIC)
    article.products.add(world.product)
    article.save()
    client.force_login(world.rep)
    url = f"/api/v1/content/{article.pk}/share"
    response = client.post(url, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "rep_not_qualified"
    assert response.json()["course_url"] == _course_url(world)
    page = client.get(article.url).content.decode()
    assert 'data-testid="share-url"' not in page and 'data-testid="not-qualified"' in page
    certify(world.rep, world.course)
    response = client.post(url, content_type="application/json")
    assert response.status_code == 200 and "?ref=" in response.json()["url"]
    assert 'data-testid="share-url"' in client.get(article.url).content.decode()


def test_sharing_refuses_unknown_and_unreadable_pages(client, world):
    client.force_login(world.rep)
    assert client.post("/api/v1/content/999999/share").json()["code"] == "unknown_page"
    client.logout()
    assert client.post("/api/v1/content/999999/share").status_code == 401
