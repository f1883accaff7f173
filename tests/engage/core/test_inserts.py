"""insert_once: one INSERT … ON CONFLICT DO NOTHING RETURNING; a repeat writes nothing and leaves the transaction
usable, any other refusal still raises."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from engage.core.inserts import insert_once
from members.engagement.models import EngagementEvent, EngagementKind
from members.engagement.services import engagement_record
from tests.factories import make_doctor

pytestmark = pytest.mark.django_db


def _event(doctor, key: str, **fields) -> EngagementEvent:
    return EngagementEvent(doctor=doctor, kind=EngagementKind.MEETING_REGISTERED, source_key=key,
                           occurred_at=timezone.now(), **fields)


def test_inserts_once_and_a_repeat_writes_nothing_in_the_same_transaction():
    doctor = make_doctor()
    with transaction.atomic():
        first = _event(doctor, "k-1")
        assert insert_once(first, key="source_key") is True
        assert first.pk is not None and not first._state.adding
        assert insert_once(_event(doctor, "k-1"), key="source_key") is False
        # The transaction is still usable: the repeat did not abort it.
        assert EngagementEvent.objects.filter(source_key="k-1").count() == 1
    assert EngagementEvent.objects.get(source_key="k-1").pk == first.pk


def test_another_constraint_still_raises():
    doctor = make_doctor()
    with pytest.raises(IntegrityError), transaction.atomic():
        row = _event(doctor, "k-2")
        row.doctor_id = None  # NOT NULL refuses it: not a repeat of the key
        insert_once(row, key="source_key")
    assert not EngagementEvent.objects.filter(source_key="k-2").exists()
    assert connection.is_usable()


def test_engagement_record_says_whether_it_created():
    doctor = make_doctor()
    event, created = engagement_record(doctor=doctor, kind=EngagementKind.MEETING_REGISTERED, source_key="k-3")
    again, created_again = engagement_record(doctor=doctor, kind=EngagementKind.MEETING_REGISTERED, source_key="k-3")
    assert (created, created_again) == (True, False)
    assert again.pk == event.pk
