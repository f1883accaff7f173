"""engage.core.prepared: a queryset compiled once gives what the ORM gives for every value put in its stand-ins'
places, and refuses to run when a stand-in could not be found among the parameters."""

from datetime import datetime, timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.models import Count, F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engage.core.prepared import Prepared
from members.models import User
from members.profiles.models import DoctorProfile
from tests.factories import UserFactory, make_doctor, user_with_role

pytestmark = pytest.mark.django_db


def test_every_call_gives_what_the_orm_gives_for_its_values():
    builds = []

    def build(user_id, joined):
        builds.append(1)
        return User.objects.filter(pk__gte=user_id, date_joined__lte=joined).annotate(
            groups_held=Count("groups"), double=F("pk") * 2).order_by("pk")

    prepared = Prepared(User, build, user_id=int, joined=datetime)
    first, second, third = UserFactory(), user_with_role("doctor"), user_with_role("rep")
    now = timezone.now()
    for user_id, joined in [(first.pk, now), (second.pk, now), (third.pk + 1, now),
                            (first.pk, now - timedelta(days=1))]:
        expected = list(build(user_id, joined))
        got = prepared.objects(user_id=user_id, joined=joined)
        assert [user.pk for user in got] == [user.pk for user in expected]
        assert [(user.groups_held, user.double) for user in got] == [(u.groups_held, u.double) for u in expected]
    assert prepared.first(user_id=second.pk, joined=now).username == second.username
    assert prepared.first(user_id=third.pk + 1, joined=now) is None
    # Built once for the compilation, plus the reference querysets built above (one per call to `build` here).
    assert len(builds) == 1 + 4


def test_a_string_stand_in_and_a_slice():
    prepared = Prepared(Session, lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now)[:1],
                        key=str, now=datetime)
    Session.objects.create(session_key="k" * 32, session_data="x", expire_date=timezone.now() + timedelta(hours=1))
    assert prepared.first(key="k" * 32, now=timezone.now()).session_data == "x"
    assert prepared.first(key="k" * 32, now=timezone.now() + timedelta(hours=2)) is None  # expired by then
    assert prepared.first(key="j" * 32, now=timezone.now()) is None
    # A value that looks like SQL stays a parameter.
    assert prepared.first(key="' OR '1'='1", now=timezone.now()) is None


def test_a_lookup_that_changes_its_value_is_refused_before_anything_runs():
    prepared = Prepared(User, lambda name: User.objects.filter(username__contains=name), name=str)
    with pytest.raises(RuntimeError, match="did not reach the SQL parameters"):
        prepared.objects(name="x")


def test_values_must_match_the_declared_stand_ins():
    prepared = Prepared(User, lambda user_id: User.objects.filter(pk=user_id), user_id=int)
    with pytest.raises(TypeError):
        prepared.objects()
    with pytest.raises(TypeError):
        prepared.objects(user_id=1, other=2)
    with pytest.raises(ValueError):
        prepared.objects(user_id="not a number")


def test_a_build_of_another_model_is_refused():
    prepared = Prepared(Session, lambda user_id: User.objects.filter(pk=user_id), user_id=int)
    with pytest.raises(TypeError, match="built a User query"):
        prepared.objects(user_id=1)


def test_select_related_objects_come_attached_as_the_orm_attaches_them():
    doctor = make_doctor()
    prepared = Prepared(DoctorProfile, lambda user_id: DoctorProfile.objects.filter(user_id=user_id)
                        .select_related("user", "hospital", "department")[:1], user_id=int)
    expected = DoctorProfile.objects.select_related("user", "hospital", "department").get(user=doctor)
    with CaptureQueriesContext(connection) as queries:
        got = prepared.first(user_id=doctor.pk)
        names = (got.user.username, got.hospital.name if got.hospital else None,
                 got.department.name if got.department else None)
    assert len(queries) == 1  # the related rows came in the one statement
    assert names == (expected.user.username, expected.hospital.name if expected.hospital else None,
                     expected.department.name if expected.department else None)
    assert got.pk == expected.pk and not got._state.adding and got._state.db == "default"


def _prepared_statements_naming(text: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall() if text in row[0]]


def test_a_prepared_query_is_planned_once_per_connection_and_the_orms_own_queries_never_are():
    user = UserFactory()
    prepared = Prepared(User, lambda user_id, name: User.objects.filter(pk=user_id).exclude(first_name=name)[:1],
                        user_id=int, name=str)
    mine = '"members_user"."first_name" = $2'  # this query's text, with its server-side placeholders
    assert not _prepared_statements_naming(mine)
    for _ in range(3):
        assert prepared.first(user_id=user.pk, name="prepared-marker") == user
    assert len(_prepared_statements_naming(mine)) == 1  # one server-side statement, run three times
    for _ in range(8):  # the ORM binds on the client: nothing of it is prepared, however often it runs
        assert User.objects.filter(pk=user.pk).exclude(last_name="orm-only-marker").first() == user
    assert not _prepared_statements_naming('"members_user"."last_name" = ')


def test_with_prepared_statements_turned_off_the_query_is_sent_as_any_other(monkeypatch):
    user = UserFactory()
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "prepare_threshold", None)  # DB_PREPARE=0
    prepared = Prepared(User, lambda user_id, email: User.objects.filter(pk=user_id).exclude(email=email)[:1],
                        user_id=int, email=str)
    for _ in range(3):
        assert prepared.first(user_id=user.pk, email="nobody@example.invalid") == user
    assert not _prepared_statements_naming('"members_user"."email" = ')


def test_returned_rows_become_the_instances_the_orm_reads_whatever_the_tables_column_order():
    from engage.core.prepared import planned_cursor, returned_instances
    from engage.messaging.models import OutboundMessage

    message = OutboundMessage.objects.create(
        channel="sms", recipient="+8613800138000", recipient_hash="h", template_key="t", params={"a": [1, "二"]},
        secret_params='{"code": "1"}', idempotency_key="returned-1", provider_call_started_at=timezone.now())
    with connection.cursor() as cursor:  # a table whose later migrations added columns at its end
        cursor.execute("SELECT * FROM messaging_outboundmessage LIMIT 0")
        table_order = [column.name for column in cursor.description]
    model_order = [field.column for field in OutboundMessage._meta.concrete_fields]
    assert table_order != model_order and sorted(table_order) == sorted(model_order)
    with planned_cursor(connection) as cursor:
        cursor.execute("UPDATE messaging_outboundmessage SET attempts = attempts + 1 WHERE id = %s RETURNING *",
                       [message.pk])
        [got] = returned_instances(OutboundMessage, cursor, cursor.fetchall())
    expected = OutboundMessage.objects.get(pk=message.pk)
    for field in OutboundMessage._meta.concrete_fields:
        assert getattr(got, field.attname) == getattr(expected, field.attname), field.name
    assert got.params == {"a": [1, "二"]} and got.recipient == "+8613800138000" and got.attempts == 1
    assert not got._state.adding and got._state.db == "default"
