"""A doctor's own registration as one read and one write statement (events.registrations.services._register_at_once)
writes exactly what the general path writes, and hands its confirmation to the outbox."""

import threading

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from engage.core.models import DeferredTask
from engage.inbox.models import Notification
from events.registrations.models import FrequencyRule, Quota, Registration, Ticket
from events.registrations.services import NOTIFY_TASK, registration_create
from members.engagement.models import EngagementEvent
from tests.events.factories import make_doctor, make_event, make_quota, make_rep
from tests.race import someone_waits_for_a_lock

pytestmark = pytest.mark.django_db
S = Registration.Status


def _statements(queries) -> tuple[list[str], list[str]]:
    sql = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    return [s for s in sql if s.startswith("SELECT")], [s for s in sql if not s.startswith("SELECT")]


def test_a_doctors_own_registration_is_one_read_and_one_write_statement():
    event = make_event(capacity=3)
    doctor = make_doctor()
    with CaptureQueriesContext(connection) as queries:
        registration = registration_create(event=event, doctor=doctor)
    reads, writes = _statements(queries)
    assert len(reads) == 1 and '"events_quota"' in reads[0], reads
    assert len(writes) == 1 and writes[0].startswith("WITH seat AS ("), writes
    assert registration.status == S.CONFIRMED and registration.holds_seat
    assert registration.ticket.pk == Ticket.objects.get(registration=registration).pk


def _written(registration: Registration) -> dict:
    """What a registration wrote, without what differs by doctor, id or time."""
    registration = Registration.objects.select_related("quota").get(pk=registration.pk)
    engagement = EngagementEvent.objects.get(source_key=f"meeting_registered:{registration.event_id}:"
                                                        f"{registration.doctor_id}")
    audit = AuditEntry.objects.get(action="events.registration.created", object_id=str(registration.pk))
    ticket = Ticket.objects.filter(registration=registration).first()
    return {
        "registration": (registration.status, registration.holds_seat, registration.source,
                         registration.invited_by_id, registration.referrer_id, registration.frequency_warning,
                         registration.quota.kind, registration.decided_at, registration.decided_by_id,
                         registration.cancelled_at, registration.reason),
        "ticket": (ticket.event_id, len(ticket.secret), ticket.revoked_at, ticket.issued_at >= registration.created_at)
        if ticket else None,
        "engagement": (engagement.kind, engagement.object_type, engagement.object_id, engagement.object_repr,
                       engagement.therapy_area_id, engagement.metadata,
                       engagement.occurred_at <= audit.created_at),
        "audit": (audit.actor_id == registration.doctor_id, audit.object_type,
                  audit.object_repr == str(registration), audit.before, audit.after, audit.reason),
    }


@pytest.mark.parametrize("approval_required", [False, True])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("by_rep", [False, True])
def test_the_one_statement_writes_what_the_general_path_writes(approval_required, full, by_rep):
    event = make_event(capacity=4, approval_required=approval_required)
    quota = make_quota(event, seats=2, rep=make_rep()) if by_rep else Quota.objects.get(event=event, kind="open")
    invite = quota.invite_code if by_rep else None
    if full:
        for _ in range(quota.seats):
            registration_create(event=event, doctor=make_doctor(), invite=invite)
    at_once = registration_create(event=event, doctor=make_doctor(), invite=invite)
    # An active frequency rule of another meeting type sends the next one down the general path, changing nothing
    # it writes.
    FrequencyRule.objects.create(event_type="other", max_meetings=1, period="year", action="block", active=True)
    with CaptureQueriesContext(connection) as queries:
        general = registration_create(event=event, doctor=make_doctor(), invite=invite)
    assert not any(q["sql"].startswith("WITH seat AS") for q in queries)  # it really took the general path
    if not full:
        assert at_once.status == (S.PENDING if approval_required else S.CONFIRMED)
    else:
        assert at_once.status == S.WAITLISTED
    assert _written(at_once) == _written(general)
    quota.refresh_from_db()
    assert quota.taken == Registration.objects.filter(quota=quota, holds_seat=True).count()


def test_the_confirmation_goes_through_the_outbox_row_written_with_the_registration(
        django_capture_on_commit_callbacks, celery_eager):
    event = make_event(capacity=2)
    doctor = make_doctor()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        registration = registration_create(event=event, doctor=doctor)
    row = DeferredTask.objects.get()
    assert (row.name, row.args, row.kwargs, row.error) == (NOTIFY_TASK, [registration.pk, "confirmed"], {}, "")
    assert not Notification.objects.filter(user=doctor).exists()
    for callback in callbacks:  # the commit: one sweep sends the outbox
        callback()
    assert not DeferredTask.objects.exists()
    assert Notification.objects.filter(user=doctor, key=f"registration:{registration.pk}:confirmed").count() == 1


def test_a_refused_registration_writes_nothing_and_keeps_the_callers_transaction_usable():
    event = make_event(capacity=2)
    doctor = make_doctor()
    first = registration_create(event=event, doctor=doctor)
    with pytest.raises(DomainError) as refused:
        registration_create(event=event, doctor=doctor)
    assert refused.value.code == "already_registered"
    assert Registration.objects.filter(doctor=doctor).count() == 1 and DeferredTask.objects.count() == 1
    assert Registration.objects.get(doctor=doctor).pk == first.pk  # the test's transaction still answers


@pytest.mark.django_db(transaction=True)
def test_a_race_lost_inside_the_statement_is_already_registered_and_writes_nothing():
    """The read sees no registration while another one of the same doctor is being committed: the statement waits
    on the unique constraint, fails on it, and the whole of it (seat, rows, outbox) is undone."""
    event = make_event(capacity=2)
    doctor = make_doctor()
    quota = Quota.objects.get(event=event, kind="open")
    result: dict = {}

    def register():
        try:
            result["status"] = registration_create(event=event, doctor=doctor).status
        except DomainError as error:
            result["code"] = error.code
        finally:
            connections.close_all()

    with transaction.atomic():  # the other registration, not committed yet
        Registration.objects.create(event=event, doctor=doctor, quota=quota, status=S.WAITLISTED, source="self")
        thread = threading.Thread(target=register)
        thread.start()
        assert someone_waits_for_a_lock(), result  # the statement waits on the unique index
    thread.join(timeout=30)
    assert result == {"code": "already_registered"}
    quota.refresh_from_db()
    assert quota.taken == 0 and not DeferredTask.objects.exists() and not Ticket.objects.exists()
    assert not AuditEntry.objects.filter(action="events.registration.created").exists()
    assert Registration.objects.filter(doctor=doctor).count() == 1
