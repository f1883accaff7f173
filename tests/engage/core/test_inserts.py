"""insert_once: one INSERT … ON CONFLICT DO NOTHING RETURNING; a repeat writes nothing and leaves the transaction
usable, any other refusal still raises."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engage.audit.models import AuditEntry
from engage.core.inserts import insert_once, insert_together, reserve_pks
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


def _entry(action: str, **fields):
    return AuditEntry(actor_label="system", action=action, **fields)


def test_insert_together_writes_every_row_in_one_statement_with_reserved_keys_linking_them():
    doctor = make_doctor()
    [event_pk] = reserve_pks(EngagementEvent)
    event = _event(doctor, "together-1")
    event.pk = event_pk
    with CaptureQueriesContext(connection) as queries:
        saved = insert_together(event, lambda: _entry("x.linked", object_id=str(event.pk)))
    statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 1 and statements[0].startswith("WITH ")  # the test's transaction adds a savepoint
    assert [row.pk is not None and not row._state.adding for row in saved] == [True, True]
    assert saved[0].pk == event_pk
    assert AuditEntry.objects.get(pk=saved[1].pk).object_id == str(event_pk)


def test_insert_together_writes_nothing_when_one_row_is_refused_and_keeps_the_transaction_usable():
    doctor = make_doctor()
    engagement_record(doctor=doctor, kind=EngagementKind.MEETING_REGISTERED, source_key="together-taken")
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            insert_together(_entry("x.first"), _event(doctor, "together-taken"))  # the key is taken
        assert not AuditEntry.objects.filter(action="x.first").exists()  # the first row went with the second
    assert EngagementEvent.objects.filter(source_key="together-taken").count() == 1


def test_insert_together_refuses_a_row_naming_an_unsaved_one():
    orphan = EngagementEvent(kind=EngagementKind.MEETING_REGISTERED, source_key="orphan", occurred_at=timezone.now())
    orphan.doctor = type(make_doctor())(username="never-saved")
    with pytest.raises(ValueError):
        insert_together(orphan)
    assert not EngagementEvent.objects.filter(source_key="orphan").exists()


def test_a_models_insert_is_compiled_once_and_an_expression_value_still_lands():
    from django.db.models.functions import Now

    from engage.core.inserts import _insert_texts

    doctor = make_doctor()
    assert insert_once(_event(doctor, "c-1"), key="source_key")
    texts = dict(_insert_texts)
    assert any(key[0] is EngagementEvent for key in texts)
    with CaptureQueriesContext(connection) as queries:
        assert insert_once(_event(doctor, "c-2", object_repr="第二"), key="source_key")
    assert queries.captured_queries[0]["sql"] == texts[next(k for k in texts if k[0] is EngagementEvent)]
    expression = EngagementEvent(doctor=doctor, kind=EngagementKind.MEETING_REGISTERED, source_key="c-3",
                                 occurred_at=Now())
    assert insert_once(expression, key="source_key")  # compiled afresh: the cached text has a plain placeholder
    rows = {e.source_key: e for e in EngagementEvent.objects.filter(source_key__startswith="c-")}
    assert set(rows) == {"c-1", "c-2", "c-3"} and rows["c-3"].occurred_at is not None
    assert rows["c-2"].object_repr == "第二"


def test_insert_many_once_writes_rows_from_arrays_and_skips_keys_already_there_or_repeated():
    from engage.core.inserts import insert_many_once

    doctor = make_doctor()
    assert insert_once(_event(doctor, "m-0"), key="source_key")
    rows = [_event(doctor, f"m-{i}", object_repr=f"第{i}", metadata={"n": [i, "二"]}) for i in range(4)]
    rows.append(_event(doctor, "m-1"))  # the same key twice among the new rows
    with CaptureQueriesContext(connection) as queries:
        inserted = insert_many_once(rows, key="source_key")
    assert len(queries.captured_queries) == 1 and "unnest(" in queries.captured_queries[0]["sql"]
    assert set(inserted) == {"m-1", "m-2", "m-3"} and rows[0].pk is None and rows[4].pk is None
    for row in rows[1:4]:
        stored = EngagementEvent.objects.get(pk=row.pk)
        assert stored.pk == inserted[stored.source_key]
        assert stored.object_repr == row.object_repr and stored.metadata == row.metadata
        assert stored.occurred_at == row.occurred_at and stored.doctor_id == doctor.pk
    assert insert_many_once([_event(doctor, "m-2"), _event(doctor, "m-9")], key="source_key").keys() == {"m-9"}
    assert insert_many_once([], key="source_key") == {}
