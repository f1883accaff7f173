"""Quotas: the open quota follows the capacity; allocations per region and rep; invitation codes."""

import pytest

from engage.errors import DomainError
from events.models import Quota
from events.services.quotas import quota_allocate, quota_capacity_check, quota_delete, quota_open_sync, quota_resize
from events.services.tickets import ALPHABET
from tests.events.factories import (
    make_doctor,
    make_event,
    make_quota,
    make_registration,
    make_rep,
    open_quota,
    publish_event,
)

pytestmark = pytest.mark.django_db


def test_event_gets_an_open_quota_with_the_whole_capacity():
    event = make_event(capacity=80)
    quota = open_quota(event)
    assert (quota.seats, quota.taken, quota.invite_code) == (80, 0, None)


def test_allocation_takes_seats_from_the_open_quota_and_gets_an_unguessable_code():
    event = make_event(capacity=100)
    rep = make_rep()
    rep_quota = make_quota(event, seats=30, rep=rep)
    region = make_quota(event, seats=20, province="江苏省")
    assert open_quota(event).seats == 50
    assert rep_quota.kind == Quota.Kind.REP and region.kind == Quota.Kind.REGION
    for code in (rep_quota.invite_code, region.invite_code):
        assert len(code) >= 20 and set(code) <= set(ALPHABET)
    assert rep_quota.invite_code != region.invite_code


def test_allocation_cannot_exceed_free_open_seats():
    event = make_event(capacity=10)
    make_registration(event, make_doctor())
    with pytest.raises(DomainError) as error:
        make_quota(event, seats=10, province="江苏省")
    assert error.value.code == "not_enough_seats"
    make_quota(event, seats=9, province="江苏省")
    assert open_quota(event).seats == 1


def test_one_quota_per_rep_and_region():
    event = make_event(capacity=100)
    rep = make_rep()
    make_quota(event, seats=5, rep=rep)
    make_quota(event, seats=5, province="江苏省")
    for kwargs in ({"rep": rep}, {"province": "江苏省"}):
        with pytest.raises(DomainError) as error:
            make_quota(event, seats=5, **kwargs)
        assert error.value.code == "quota_exists"
    assert open_quota(event).seats == 90


@pytest.mark.parametrize("kwargs,code", [
    ({"seats": 0, "province": "江苏省"}, "invalid_seats"),
    ({"seats": 5}, "invalid_quota"),
    ({"seats": 5, "province": "江苏省", "rep": "REP"}, "invalid_quota"),
])
def test_allocation_bad_input(kwargs, code):
    event = make_event(capacity=100)
    if kwargs.get("rep") == "REP":
        kwargs["rep"] = make_rep()
    with pytest.raises(DomainError) as error:
        quota_allocate(event=event, actor=None, **kwargs)
    assert error.value.code == code


def test_a_doctor_cannot_hold_a_rep_quota():
    event = make_event(capacity=100)
    with pytest.raises(DomainError) as error:
        quota_allocate(event=event, actor=None, seats=5, rep=make_doctor())
    assert error.value.code == "not_a_rep"


def test_capacity_change_resyncs_the_open_quota():
    event = make_event(capacity=100)
    make_quota(event, seats=40, province="江苏省")
    event.capacity = 120
    publish_event(event)
    assert open_quota(event).seats == 80
    event.capacity = 50
    event.save()
    quota_open_sync(event=event)
    assert open_quota(event).seats == 10


def test_capacity_below_taken_is_refused_with_a_clear_error():
    event = make_event(capacity=10)
    make_quota(event, seats=4, province="江苏省")
    for _ in range(3):
        make_registration(event, make_doctor())
    with pytest.raises(DomainError) as error:
        quota_capacity_check(event=event, capacity=6)
    assert error.value.code == "capacity_below_allocated" and "7" in str(error.value.message)
    quota_capacity_check(event=event, capacity=7)
    event.capacity = 6
    event.save()
    with pytest.raises(DomainError):
        quota_open_sync(event=event)
    # Published anyway (non-strict): the open quota keeps the seats it has taken, the CHECK holds.
    quota_open_sync(event=event, strict=False)
    assert (open_quota(event).seats, open_quota(event).taken) == (3, 3)


def test_publishing_a_capacity_below_taken_is_refused():
    from django.core.exceptions import ValidationError

    event = make_event(capacity=5)
    for _ in range(4):
        make_registration(event, make_doctor())
    event.capacity = 2
    with pytest.raises(ValidationError):
        publish_event(event)
    quota = open_quota(event)
    assert (quota.seats, quota.taken) == (5, 4)


def test_resize_and_delete_give_seats_back():
    event = make_event(capacity=100)
    quota = make_quota(event, seats=30, province="江苏省")
    quota_resize(quota=quota, actor=None, seats=10)
    assert open_quota(event).seats == 90
    make_registration(event, make_doctor(), quota=quota)
    with pytest.raises(DomainError) as error:
        quota_resize(quota=quota, actor=None, seats=0)
    assert error.value.code == "seats_below_taken"
    with pytest.raises(DomainError) as error:
        quota_delete(quota=quota, actor=None)
    assert error.value.code == "quota_in_use"
    other = make_quota(event, seats=5, province="浙江省")
    quota_delete(quota=other, actor=None)
    assert open_quota(event).seats == 90
    with pytest.raises(DomainError):
        quota_resize(quota=open_quota(event), actor=None, seats=5)


def test_seats_gained_go_to_the_waiting_list():
    from events.models import Registration
    from events.services.registrations import registration_create

    event = make_event(capacity=2)
    quota = make_quota(event, seats=1, province="上海市")
    doctors = [make_doctor(province="上海市") for _ in range(4)]
    regional = [registration_create(event=event, doctor=d, invite=quota.invite_code) for d in doctors[:2]]
    opened = [registration_create(event=event, doctor=d) for d in doctors[2:]]
    assert [r.status for r in regional + opened] == ["confirmed", "waitlisted", "confirmed", "waitlisted"]
    event.capacity = 4
    publish_event(event)  # the open quota grows by 2: its first waiting doctor gets a seat
    assert Registration.objects.get(pk=opened[1].pk).status == "confirmed"
    quota_resize(quota=quota, actor=None, seats=2)  # the region quota grows by 1
    assert Registration.objects.get(pk=regional[1].pk).status == "confirmed"
    assert (open_quota(event).seats, open_quota(event).taken) == (2, 2)
