"""Registration services: eligibility, window, seats, approval, waiting list, cancellation, frequency rules."""

from datetime import timedelta

import pytest
from django.utils import timezone

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from engage.inbox.models import Notification
from events.registrations.models import FrequencyRule, Quota, Registration, Ticket
from events.registrations.services import (
    quota_allocate,
    quota_capacity_check,
    quota_delete,
    quota_open_sync,
    quota_resize,
    registration_approve,
    registration_cancel,
    registration_create,
    registration_reject,
    registration_staff_invite,
)
from events.registrations.tickets import ALPHABET
from members.engagement.models import EngagementEvent
from tests.events.factories import (
    make_doctor,
    make_event,
    make_quota,
    make_registration,
    make_rep,
    make_staff,
    open_quota,
    publish_event,
)
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db
S = Registration.Status


@pytest.fixture
def celery_eager():
    from engage.celery import app

    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = False


def code_of(call) -> str:
    with pytest.raises(DomainError) as error:
        call()
    return error.value.code


def test_self_registration_confirms_with_a_ticket_and_leaves_evidence(celery_eager,
                                                                      django_capture_on_commit_callbacks):
    event = make_event(capacity=10)
    doctor = make_doctor()
    with django_capture_on_commit_callbacks(execute=True):
        registration = registration_create(event=event, doctor=doctor)
    assert (registration.status, registration.holds_seat, registration.source) == (S.CONFIRMED, True, "self")
    assert registration.ticket.secret and registration.ticket.revoked_at is None
    assert open_quota(event).taken == 1
    assert AuditEntry.objects.filter(action="events.registration.created", object_id=str(registration.pk)).exists()
    assert EngagementEvent.objects.filter(doctor=doctor, kind="meeting_registered",
                                          object_id=str(event.pk)).count() == 1
    note = Notification.objects.get(user=doctor, key=f"registration:{registration.pk}:confirmed")
    assert event.title in note.title and registration.ticket.secret in note.url


@pytest.mark.parametrize("who", ["pending", "anonymous_profile"])
def test_unverified_doctors_are_not_eligible(who):
    from tests.factories import user_with_role

    event = make_event()
    doctor = make_doctor(verified=False) if who == "pending" else user_with_role("doctor")
    assert code_of(lambda: registration_create(event=event, doctor=doctor)) == "not_eligible"
    assert open_quota(event).taken == 0 and not Registration.objects.exists()


def test_registered_audience_lets_members_without_profile_register():
    from tests.factories import user_with_role

    event = make_event(audience="registered")
    registration = registration_create(event=event, doctor=user_with_role("doctor"))
    assert registration.status == S.CONFIRMED


def test_kol_audience_needs_a_kol():
    event = make_event(audience="kol")
    assert code_of(lambda: registration_create(event=event, doctor=make_doctor())) == "not_eligible"
    assert registration_create(event=event, doctor=make_doctor(kol=True)).status == S.CONFIRMED


def test_departments_titles_and_provinces_gate_registration():
    cardio = DepartmentFactory(code="cardiology", name="心内科", name_en="Cardiology")
    event = make_event(audience_departments=[cardio], audience_titles=["chief"], audience_provinces=["江苏省"])
    right = make_doctor(department=cardio, title="chief", province="江苏省")
    assert registration_create(event=event, doctor=right).status == S.CONFIRMED
    for kwargs in ({"title": "chief", "province": "江苏省"},  # endocrinology
                   {"department": cardio, "title": "attending", "province": "江苏省"},
                   {"department": cardio, "title": "chief", "province": "浙江省"}):
        assert code_of(lambda kw=kwargs: registration_create(event=event, doctor=make_doctor(**kw))) == "not_eligible"


@pytest.mark.parametrize("fields", [
    {"registration_opens_at": timezone.now() + timedelta(days=1)},
    {"registration_closes_at": timezone.now() - timedelta(minutes=1),
     "registration_opens_at": timezone.now() - timedelta(days=2)},
])
def test_outside_the_registration_window_is_closed(fields):
    event = make_event(**fields)
    assert code_of(lambda: registration_create(event=event, doctor=make_doctor())) == "registration_closed"


def test_a_started_meeting_is_closed():
    event = make_event(starts_at=timezone.now() - timedelta(minutes=5))
    assert code_of(lambda: registration_create(event=event, doctor=make_doctor())) == "registration_closed"


def test_an_unpublished_meeting_is_not_found():
    event = make_event(publish=False)
    assert code_of(lambda: registration_create(event=event, doctor=make_doctor())) == "event_not_found"


def test_duplicate_registration_is_refused_and_takes_no_seat():
    event = make_event(capacity=10)
    doctor = make_doctor()
    registration_create(event=event, doctor=doctor)
    assert code_of(lambda: registration_create(event=event, doctor=doctor)) == "already_registered"
    assert open_quota(event).taken == 1 and Registration.objects.count() == 1


def test_full_meeting_waitlists_and_cancellation_promotes_the_first_waiting(celery_eager,
                                                                            django_capture_on_commit_callbacks):
    event = make_event(capacity=2)
    seated = [registration_create(event=event, doctor=make_doctor()) for _ in range(2)]
    waiting = [registration_create(event=event, doctor=make_doctor()) for _ in range(3)]
    assert [r.status for r in waiting] == [S.WAITLISTED] * 3 and not any(r.holds_seat for r in waiting)
    assert not hasattr(waiting[0], "ticket") or waiting[0].ticket is None
    with django_capture_on_commit_callbacks(execute=True):
        registration_cancel(registration=seated[0], actor=seated[0].doctor)
    seated[0].refresh_from_db()
    assert seated[0].status == S.CANCELLED and seated[0].ticket.revoked_at is not None
    first = Registration.objects.get(pk=waiting[0].pk)
    assert first.status == S.CONFIRMED and first.holds_seat and first.ticket.revoked_at is None
    assert [Registration.objects.get(pk=r.pk).status for r in waiting[1:]] == [S.WAITLISTED] * 2
    assert open_quota(event).taken == 2
    assert Notification.objects.filter(user=first.doctor, key=f"registration:{first.pk}:promoted").exists()
    # A cancelled doctor may register again (into the waiting list now).
    again = registration_create(event=event, doctor=seated[0].doctor)
    assert again.status == S.WAITLISTED


def test_waitlisted_cancellation_frees_nothing():
    event = make_event(capacity=1)
    registration_create(event=event, doctor=make_doctor())
    waiting = registration_create(event=event, doctor=make_doctor())
    registration_cancel(registration=waiting, actor=waiting.doctor)
    assert open_quota(event).taken == 1


def test_cancellation_deadline():
    event = make_event(cancellation_deadline=timezone.now() + timedelta(days=1))
    registration = registration_create(event=event, doctor=make_doctor())
    type(event).objects.filter(pk=event.pk).update(cancellation_deadline=timezone.now() - timedelta(minutes=1))
    assert code_of(lambda: registration_cancel(registration=registration, actor=registration.doctor)) \
        == "cancellation_closed"
    # Staff may still cancel (e.g. the doctor phoned in).
    registration_cancel(registration=registration, actor=make_staff(), reason="电话取消")
    assert Registration.objects.get(pk=registration.pk).status == S.CANCELLED


def test_someone_else_cannot_cancel_or_register_for_a_doctor():
    event = make_event()
    registration = registration_create(event=event, doctor=make_doctor())
    other = make_doctor()
    assert code_of(lambda: registration_cancel(registration=registration, actor=other)) == "registration_not_found"
    assert code_of(lambda: registration_create(event=event, doctor=make_doctor(), actor=other)) == "forbidden"
    assert Registration.objects.get(pk=registration.pk).status == S.CONFIRMED


def test_cancelling_twice_is_refused():
    event = make_event()
    registration = registration_create(event=event, doctor=make_doctor())
    registration_cancel(registration=registration, actor=registration.doctor)
    assert code_of(lambda: registration_cancel(registration=registration, actor=registration.doctor)) == "not_active"
    assert open_quota(event).taken == 0


def test_approval_pending_holds_a_seat_then_approve_or_reject(celery_eager, django_capture_on_commit_callbacks):
    event = make_event(capacity=2, approval_required=True)
    staff = make_staff()
    first, second = (registration_create(event=event, doctor=make_doctor()) for _ in range(2))
    third = registration_create(event=event, doctor=make_doctor())
    assert (first.status, first.holds_seat, third.status) == (S.PENDING, True, S.WAITLISTED)
    assert not hasattr(first, "ticket") or first.ticket is None
    assert open_quota(event).taken == 2
    with django_capture_on_commit_callbacks(execute=True):
        registration_approve(registration=first, actor=staff)
    first.refresh_from_db()
    assert first.status == S.CONFIRMED and first.ticket and first.decided_by == staff
    assert Notification.objects.filter(key=f"registration:{first.pk}:approved").exists()
    with django_capture_on_commit_callbacks(execute=True):
        registration_reject(registration=second, actor=staff, reason="非目标科室")
    second.refresh_from_db()
    assert (second.status, second.holds_seat, second.reason) == (S.REJECTED, False, "非目标科室")
    third.refresh_from_db()
    assert third.status == S.PENDING and third.holds_seat  # promoted, still needs approval
    assert open_quota(event).taken == 2
    assert code_of(lambda: registration_approve(registration=second, actor=staff)) == "not_pending"
    assert code_of(lambda: registration_approve(registration=third, actor=third.doctor)) == "forbidden"


def test_staff_invitation_is_confirmed_without_approval():
    event = make_event(approval_required=True, registration_opens_at=timezone.now() + timedelta(days=1))
    staff = make_staff()
    registration = registration_staff_invite(event=event, doctor=make_doctor(), actor=staff)
    assert (registration.status, registration.source, registration.invited_by) == (S.CONFIRMED, "staff", staff)
    assert code_of(lambda: registration_staff_invite(event=event, doctor=make_doctor(), actor=make_rep())) \
        == "forbidden"


def test_rep_invitation_registers_into_the_reps_quota():
    event = make_event(capacity=10)
    rep = make_rep()
    quota = make_quota(event, seats=1, rep=rep)
    registration = registration_create(event=event, doctor=make_doctor(), invite=quota.invite_code.lower())
    assert (registration.quota, registration.source, registration.invited_by) == (quota, "rep", rep)
    assert Quota.objects.get(pk=quota.pk).taken == 1 and open_quota(event).taken == 0
    # The rep's quota is full: the next invited doctor waits there, though open seats are free.
    waiting = registration_create(event=event, doctor=make_doctor(), invite=quota.invite_code)
    assert waiting.status == S.WAITLISTED and waiting.quota == quota


@pytest.mark.parametrize("invite", ["AAAAAAAAAAAAAAAAAAAA", "x", "' OR 1=1 --", "码" * 20, "A" * 5000])
def test_forged_invitations_are_refused(invite):
    event = make_event()
    make_quota(event, seats=5, rep=make_rep())
    assert code_of(lambda: registration_create(event=event, doctor=make_doctor(), invite=invite)) == "invalid_invite"


def test_an_invitation_of_another_meeting_is_refused():
    quota = make_quota(make_event(), seats=5, rep=make_rep())
    other = make_event()
    assert code_of(lambda: registration_create(event=other, doctor=make_doctor(), invite=quota.invite_code)) \
        == "invalid_invite"


def test_region_invitation_is_for_doctors_of_the_region():
    event = make_event()
    quota = make_quota(event, seats=5, province="江苏省")
    assert code_of(lambda: registration_create(event=event, doctor=make_doctor(province="浙江省"),
                                               invite=quota.invite_code)) == "not_eligible"
    registration = registration_create(event=event, doctor=make_doctor(province="江苏省"), invite=quota.invite_code)
    assert registration.quota == quota and registration.source == "self"


def test_frequency_rule_warns_or_blocks():
    doctor = make_doctor()
    starts = timezone.now() + timedelta(days=3)
    first, second, third = (make_event(starts_at=starts + timedelta(hours=4 * i), event_type="city")
                            for i in range(3))
    unsponsored = make_event(starts_at=starts, event_type="city", sponsored=False)
    registration_create(event=first, doctor=doctor)
    FrequencyRule.objects.create(event_type="city", max_meetings=1, period="year", action="warn")
    warned = registration_create(event=second, doctor=doctor)
    assert warned.status == S.CONFIRMED and "1" in warned.frequency_warning
    FrequencyRule.objects.create(event_type="", max_meetings=2, period="year", action="block")
    assert code_of(lambda: registration_create(event=third, doctor=doctor)) == "frequency_limit"
    assert registration_create(event=unsponsored, doctor=doctor).frequency_warning == ""
    # A cancelled registration does not count.
    registration_cancel(registration=warned, actor=doctor)
    assert registration_create(event=third, doctor=doctor).status == S.CONFIRMED


def test_quota_taken_counts_held_seats_only():
    event = make_event(capacity=3, approval_required=True)
    make_registration(event, make_doctor(), status="confirmed")
    registration_create(event=event, doctor=make_doctor())
    registration_create(event=event, doctor=make_doctor())
    registration_create(event=event, doctor=make_doctor())
    held = Registration.objects.filter(event=event, holds_seat=True).count()
    assert open_quota(event).taken == held == 3




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
    from events.registrations.models import Registration
    from events.registrations.services import registration_create

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


def test_promotion_rechecks_a_block_rule_and_promotes_the_next_doctor():
    starts = timezone.now() + timedelta(days=3)
    event = make_event(capacity=1, starts_at=starts + timedelta(hours=4))
    seated = registration_create(event=event, doctor=make_doctor())
    doctor = make_doctor()
    blocked = registration_create(event=event, doctor=doctor)  # waiting: no rule yet
    next_one = registration_create(event=event, doctor=make_doctor())
    assert blocked.status == next_one.status == S.WAITLISTED
    registration_create(event=make_event(starts_at=starts), doctor=doctor)
    FrequencyRule.objects.create(event_type="", max_meetings=1, period="year", action="block")
    registration_cancel(registration=seated, actor=seated.doctor)
    blocked.refresh_from_db()
    next_one.refresh_from_db()
    assert blocked.status == S.WAITLISTED and not blocked.holds_seat
    assert "1" in blocked.frequency_warning
    assert next_one.status == S.CONFIRMED and next_one.holds_seat
    assert open_quota(event).taken == 1
    assert AuditEntry.objects.filter(action="events.registration.promotion_blocked").count() == 1
    # Still first in line: once the other meeting is cancelled, the next free seat is theirs.
    registration_cancel(registration=Registration.objects.get(doctor=doctor, status=S.CONFIRMED), actor=doctor)
    registration_cancel(registration=next_one, actor=next_one.doctor)
    blocked.refresh_from_db()
    assert blocked.status == S.CONFIRMED and blocked.frequency_warning == ""


def test_approval_rechecks_a_block_rule():
    starts = timezone.now() + timedelta(days=3)
    event = make_event(capacity=5, approval_required=True, starts_at=starts + timedelta(hours=4))
    doctor = make_doctor()
    pending = registration_create(event=event, doctor=doctor)
    assert pending.status == S.PENDING
    registration_create(event=make_event(starts_at=starts), doctor=doctor)
    FrequencyRule.objects.create(event_type="", max_meetings=1, period="year", action="block")
    assert code_of(lambda: registration_approve(registration=pending, actor=make_staff())) == "frequency_limit"
    pending.refresh_from_db()
    assert pending.status == S.PENDING and pending.holds_seat
    assert not Ticket.objects.filter(registration=pending).exists()
    FrequencyRule.objects.update(active=False)
    assert registration_approve(registration=pending, actor=make_staff()).status == S.CONFIRMED
