import pytest
from django.contrib.auth.models import Group

from engage.core.roles import STAFF_ROLES, Role, has_role, is_staff_member, roles_of
from members.accounts.services import role_grant

pytestmark = pytest.mark.django_db


def test_roles_exist_as_groups_from_the_migration():
    assert set(Group.objects.values_list("name", flat=True)) >= {r.value for r in Role}


def test_roles_of_and_staff_decision(role_user, make_user):
    assert roles_of(role_user("doctor")) == {Role.DOCTOR}
    assert not is_staff_member(role_user("rep"))
    assert is_staff_member(role_user("marketing"))
    assert roles_of(make_user()) == frozenset()
    superuser = make_user(is_superuser=True)
    assert roles_of(superuser) == frozenset(Role)
    inactive = role_user("admin", is_active=False)
    assert roles_of(inactive) == frozenset()


def test_role_grant_is_audited(make_user):
    from engage.audit.models import AuditEntry

    user = make_user()
    role_grant(user=user, role=Role.REP, reason="joined the sales team")
    assert has_role(user, Role.REP)
    entry = AuditEntry.objects.get(action="role.grant")
    assert entry.after == {"role": "rep"}
    assert entry.reason == "joined the sales team"


@pytest.mark.parametrize("role", sorted(r.value for r in Role))
def test_only_staff_roles_reach_the_wagtail_admin(client, role_user, role):
    client.force_login(role_user(role))
    response = client.get("/admin/")
    if Role(role) in STAFF_ROLES:
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert "/admin/login/" in response.url


def test_anonymous_is_sent_to_admin_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302


def test_marketing_sees_the_outbox_doctor_does_not(client, role_user):
    client.force_login(role_user("marketing"))
    assert client.get("/admin/outbox/").status_code == 200
    client.force_login(role_user("medical_reviewer"))
    assert client.get("/admin/outbox/").status_code in (302, 403)


def test_member_page_needs_sign_in(client, doctor):
    response = client.get("/members/me/")
    assert response.status_code == 302
    assert "/accounts/login/" in response.url
    client.force_login(doctor)
    response = client.get("/members/me/")
    assert response.status_code == 200
    assert doctor.display_name in response.content.decode()


def test_user_needs_mobile_or_email():
    from django.db import IntegrityError

    from members.accounts.models import User

    with pytest.raises(IntegrityError):
        User.objects.create(username="nobody", mobile=None, email=None)


def test_mobile_and_email_are_unique(make_user):
    from django.db import IntegrityError, transaction

    make_user(mobile="+8613800000001", email="a@example.cn")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_user(mobile="+8613800000001")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_user(email="a@example.cn")
