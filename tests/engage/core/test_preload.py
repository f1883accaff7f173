"""engage.core.preload: the signed-in person is loaded from the session with their roles, access level, privacy
consent state, unread count and share code in one statement, and every remembered value is what the areas'
selectors compute on their own."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cms.pages.models import Audience
from cms.reading.services import share_code_for, share_code_text
from engage.core.preload import user_preloaded
from engage.core.roles import roles_of
from engage.inbox.selectors import unread_count
from engage.inbox.services import notification_send, notifications_mark_all_read
from members.accounts.selectors import access_level_of
from members.consents.models import PolicyVersion
from members.consents.selectors import privacy_consent_needed
from members.models import User
from members.profiles.models import DoctorProfile
from tests.cms.factories import area_page, make_article
from tests.factories import UserFactory, make_doctor, user_with_role
from tests.learning.quals import make_product

pytestmark = pytest.mark.django_db

# What each area reads on its own when nothing was remembered: none of these may run for a loaded reader.
AREA_TABLES = re.compile(r'FROM "(auth_group|members_user_groups|members_doctorprofile|members_consent|'
                         r'core_notification|cms_sharecode)"')


def _fresh(user_id: int) -> dict:
    user = User.objects.get(pk=user_id)  # nothing remembered: every selector asks the database
    return {"roles": roles_of(user), "level": access_level_of(user), "consent": privacy_consent_needed(user),
            "unread": unread_count(user=user), "share": getattr(share_code_for_existing(user), "code", None)}


def share_code_for_existing(user):
    from cms.reading.models import ShareCode

    return ShareCode.objects.filter(user=user).first()


def _remembered(user_id: int) -> dict:
    with CaptureQueriesContext(connection) as queries:
        user = user_preloaded(user_id)
        values = {"roles": roles_of(user), "level": access_level_of(user), "consent": privacy_consent_needed(user),
                  "unread": unread_count(user=user), "share": getattr(user, "_engage_share_code_text", None)}
    assert len(queries.captured_queries) == 1, [q["sql"] for q in queries.captured_queries]
    return values


def _people() -> list[User]:
    staff = user_with_role("marketing")
    staff.groups.add(Group.objects.get(name="medical_reviewer"))
    with_share_code = make_doctor()
    share_code_for(user=with_share_code)
    with_notes = make_doctor(kol=True)
    for n in range(3):
        notification_send(user=with_notes, kind="info", title=f"通知{n}", key=f"preload-{n}")
    notifications_mark_all_read(user=with_notes)
    notification_send(user=with_notes, kind="info", title="新通知", key="preload-new")
    return [
        make_doctor(), make_doctor(kol=True), make_doctor(verified=False), make_doctor(verified=False, profile=False),
        make_doctor(status=DoctorProfile.Status.REJECTED), user_with_role("rep"), staff,
        UserFactory(is_superuser=True), UserFactory(), make_doctor(user=UserFactory(privacy_consent=False)),
        with_share_code, with_notes,
    ]


def test_every_remembered_fact_is_what_the_selectors_compute():
    people = _people()
    for person in people:
        assert _remembered(person.pk) == _fresh(person.pk), person
    facts = [_fresh(person.pk) for person in people]
    # The people above differ in every fact (the comparison is not between empty values).
    assert {fact["level"] for fact in facts} == {1, 2, 3}
    assert {fact["consent"] for fact in facts} == {True, False}
    assert {fact["unread"] for fact in facts} == {0, 1}
    assert len({fact["roles"] for fact in facts}) >= 5
    assert sum(fact["share"] is not None for fact in facts) == 1


def test_a_policy_coming_into_force_is_seen_by_the_next_load():
    doctor = make_doctor()
    PolicyVersion.objects.create(kind="privacy", version="2", title="隐私政策", purpose="新增用途", text="第2版",
                                 effective_at=timezone.now() + timedelta(days=1))
    assert _remembered(doctor.pk)["consent"] is False
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert _remembered(doctor.pk)["consent"] is True
        assert _fresh(doctor.pk)["consent"] is True


def test_unknown_and_malformed_ids_load_no_one():
    assert user_preloaded(987654321) is None
    with pytest.raises(ValidationError):
        user_preloaded("1 OR 1=1")


def test_a_signed_in_page_view_reads_the_person_once(client):
    doctor = make_doctor()
    page = make_article(area_page("oncology"), slug="gated", audience=Audience.VERIFIED)
    page.products.add(make_product())  # qualification binds reps only: a doctor's view reads no product list
    client.force_login(doctor)
    assert client.get(page.url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page.url)
    assert response.status_code == 200
    statements = [query["sql"] for query in queries.captured_queries]
    user_loads = [sql for sql in statements if sql.startswith('SELECT "members_user"."id"')]
    assert len(user_loads) == 1 and "_preload_share_code" in user_loads[0]
    others = [sql for sql in statements if sql not in user_loads]
    assert [sql for sql in others if AREA_TABLES.search(sql) or 'FROM "cms_product"' in sql] == []
    # The page shows what was read with the person: their share code in the links.
    assert f"ref={share_code_text(user=User.objects.get(pk=doctor.pk))}" in response.content.decode()


def test_an_inactive_person_is_signed_out_and_a_withdrawn_verification_counts_at_once(client):
    doctor = make_doctor()
    page = make_article(area_page("oncology"), slug="gated", audience=Audience.VERIFIED)
    client.force_login(doctor)
    assert client.get(page.url).status_code == 200
    DoctorProfile.objects.filter(user=doctor).update(status=DoctorProfile.Status.REJECTED)
    assert client.get(page.url).status_code == 403  # the next request reads the profile again
    User.objects.filter(pk=doctor.pk).update(is_active=False)
    assert client.get(page.url).status_code == 403
    response = client.get("/members/me/")
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_the_unread_badge_follows_changes_made_in_the_same_request():
    doctor = make_doctor()
    notification_send(user=doctor, kind="info", title="一", key="badge-1")
    user = user_preloaded(doctor.pk)
    assert unread_count(user=user) == 1
    notification_send(user=user, kind="info", title="二", key="badge-2")
    assert unread_count(user=user) == 2
    notifications_mark_all_read(user=user)
    assert unread_count(user=user) == 0

