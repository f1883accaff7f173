"""Doctors' hospital proposals: approve, reject with a reason, merge into an existing hospital; duplicates."""

import pytest

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from members.hospitals import services
from members.hospitals.models import Hospital, Territory
from members.hospitals.selectors import hospital_duplicates_of
from members.profiles.models import DoctorProfile
from tests.factories import DoctorProfileFactory, HospitalFactory, user_with_role
from tests.race import codes, race

pytestmark = pytest.mark.django_db
ADMIN_LIST = "/admin/hospital_proposals/"


@pytest.fixture
def marketing(role_user):
    return role_user("marketing")


@pytest.fixture
def proposal(doctor):
    return HospitalFactory(name="上海市第十人民医院 ", city="上海", province="上海市", status=Hospital.Status.PROPOSED,
                           proposed_by=doctor)


def test_approve_makes_it_active_and_is_audited(marketing, proposal):
    services.hospital_proposal_approve(actor=marketing, hospital_id=proposal.pk)
    proposal.refresh_from_db()
    assert proposal.status == Hospital.Status.ACTIVE
    entry = AuditEntry.objects.get(action="hospital.approve")
    assert entry.actor_id == marketing.pk and entry.after["status"] == "active"


def test_a_decision_is_taken_once(marketing, proposal):
    services.hospital_proposal_approve(actor=marketing, hospital_id=proposal.pk)
    for call in (
        lambda: services.hospital_proposal_approve(actor=marketing, hospital_id=proposal.pk),
        lambda: services.hospital_proposal_reject(actor=marketing, hospital_id=proposal.pk, reason="x"),
    ):
        with pytest.raises(DomainError) as caught:
            call()
        assert caught.value.code == "hospital_not_proposed"
    with pytest.raises(DomainError) as caught:
        services.hospital_proposal_approve(actor=marketing, hospital_id=999_999)
    assert caught.value.code == "hospital_not_found"


@pytest.mark.parametrize("role", ["doctor", "rep", "compliance", "medical_reviewer"])
def test_only_marketing_and_admin_decide(role_user, proposal, role):
    with pytest.raises(DomainError) as caught:
        services.hospital_proposal_approve(actor=role_user(role), hospital_id=proposal.pk)
    assert caught.value.code == "forbidden"
    proposal.refresh_from_db()
    assert proposal.status == Hospital.Status.PROPOSED


def test_reject_needs_a_reason(marketing, proposal):
    for reason, code in (("", "reason_required"), ("   ", "reason_required"), ("x" * 1001, "reason_too_long")):
        with pytest.raises(DomainError) as caught:
            services.hospital_proposal_reject(actor=marketing, hospital_id=proposal.pk, reason=reason)
        assert caught.value.code == code
    services.hospital_proposal_reject(actor=marketing, hospital_id=proposal.pk, reason="Not a hospital")
    proposal.refresh_from_db()
    assert proposal.status == Hospital.Status.REJECTED
    assert AuditEntry.objects.get(action="hospital.reject").reason == "Not a hospital"


def test_duplicate_candidates_by_loose_name_alias_and_city(proposal):
    same = HospitalFactory(name="上海市第十人民医院", city="上海市")  # same name, city written with 市
    by_alias = HospitalFactory(name="同济大学附属第十人民医院", city="上海市", aliases=["上海市第十人民医院（本部）"])
    elsewhere = HospitalFactory(name="上海市第十人民医院", city="苏州市")
    HospitalFactory(name="上海市第一人民医院", city="上海市")
    found = hospital_duplicates_of(proposal)
    assert found[0] == same
    assert by_alias not in found or found.index(by_alias) > 0
    assert elsewhere not in found
    assert len(found) <= 3


def test_merge_moves_doctors_and_territories_and_keeps_the_name_as_alias(marketing, proposal):
    target = HospitalFactory(name="同济大学附属第十人民医院", city="上海市")
    profile = DoctorProfileFactory(hospital=proposal)
    territory = Territory.objects.create(code="sh", name="上海")
    territory.hospitals.add(proposal)
    services.hospital_proposal_merge(actor=marketing, hospital_id=proposal.pk, into_id=target.pk)
    profile.refresh_from_db()
    proposal.refresh_from_db()
    target.refresh_from_db()
    assert profile.hospital == target
    assert proposal.status == Hospital.Status.REJECTED
    assert list(territory.hospitals.all()) == [target]
    assert "上海市第十人民医院" in target.aliases
    entry = AuditEntry.objects.get(action="hospital.merge")
    assert entry.after["merged_into"] == target.pk and entry.after["profiles_moved"] == 1


def test_merge_refuses_bad_targets(marketing, proposal):
    other_proposal = HospitalFactory(name="另一个", city="上海市", status=Hospital.Status.PROPOSED)
    for into, code in ((proposal.pk, "hospital_merge_same"), (other_proposal.pk, "hospital_merge_target_inactive"),
                       (999_999, "hospital_not_found")):
        with pytest.raises(DomainError) as caught:
            services.hospital_proposal_merge(actor=marketing, hospital_id=proposal.pk, into_id=into)
        assert caught.value.code == code
    proposal.refresh_from_db()
    assert proposal.status == Hospital.Status.PROPOSED


def test_saving_a_duplicate_is_a_domain_error(marketing):
    HospitalFactory(name="北京协和医院", city="北京市")
    with pytest.raises(DomainError) as caught:
        services.hospital_save(actor=marketing, hospital=Hospital(name=" 北京 协和医院", province="北京市",
                                                                   city="北京市"))
    assert caught.value.code == "hospital_duplicate"
    assert Hospital.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_creates_of_the_same_hospital_make_one_row():
    actor = user_with_role("marketing")

    def create(i):
        services.hospital_save(actor=actor, hospital=Hospital(name="浙江省人民医院", province="浙江省", city="杭州市"))
        return "ok"

    outcomes = codes(race(8, create))
    assert sorted(outcomes) == ["hospital_duplicate"] * 7 + ["ok"]
    assert Hospital.objects.filter(name="浙江省人民医院").count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_decisions_on_one_proposal_take_effect_once():
    actors = [user_with_role("marketing") for _ in range(6)]
    proposal = HospitalFactory(name="新医院", city="上海市", status=Hospital.Status.PROPOSED)
    target = HospitalFactory(name="老医院", city="上海市")
    DoctorProfileFactory(hospital=proposal)

    def decide(index):
        if index % 3 == 0:
            services.hospital_proposal_approve(actor=actors[index], hospital_id=proposal.pk)
        elif index % 3 == 1:
            services.hospital_proposal_reject(actor=actors[index], hospital_id=proposal.pk, reason="dup")
        else:
            services.hospital_proposal_merge(actor=actors[index], hospital_id=proposal.pk, into_id=target.pk)
        return "ok"

    outcomes = codes(race(6, decide))
    assert sorted(outcomes) == ["hospital_not_proposed"] * 5 + ["ok"]
    assert AuditEntry.objects.filter(action__in=["hospital.approve", "hospital.reject", "hospital.merge"]).count() == 1


@pytest.mark.parametrize("role,allowed", [
    ("marketing", True), ("admin", True), ("compliance", False), ("medical_reviewer", False),
    ("doctor", False), ("rep", False), (None, False),
])
def test_queue_role_matrix(client, role_user, proposal, role, allowed):
    if role:
        client.force_login(role_user(role))
    for url in (ADMIN_LIST, f"{ADMIN_LIST}{proposal.pk}/"):
        response = client.get(url)
        if allowed:
            assert response.status_code == 200
            assert "上海市第十人民医院" in response.content.decode()
        else:
            assert response.status_code in (302, 403)
    if role:
        response = client.post(f"{ADMIN_LIST}{proposal.pk}/", {"action": "approve"})
        proposal.refresh_from_db()
        assert (proposal.status == Hospital.Status.ACTIVE) == allowed


def test_queue_approve_reject_merge_through_the_admin(client, marketing, doctor):
    client.force_login(marketing)
    a = HospitalFactory(name="甲医院", city="上海市", status=Hospital.Status.PROPOSED, proposed_by=doctor)
    b = HospitalFactory(name="乙医院", city="上海市", status=Hospital.Status.PROPOSED)
    c = HospitalFactory(name="丙医院 ", city="上海", status=Hospital.Status.PROPOSED)
    target = HospitalFactory(name="丙医院", city="上海市")
    page = client.get(ADMIN_LIST).content.decode()
    assert "甲医院" in page and "乙医院" in page
    assert client.post(f"{ADMIN_LIST}{a.pk}/", {"action": "approve"}).status_code == 302
    response = client.post(f"{ADMIN_LIST}{b.pk}/", {"action": "reject", "reason": ""})
    assert response.status_code == 400
    b.refresh_from_db()
    assert b.status == Hospital.Status.PROPOSED
    assert client.post(f"{ADMIN_LIST}{b.pk}/", {"action": "reject", "reason": "<b>fake</b>"}).status_code == 302
    detail = client.get(f"{ADMIN_LIST}{c.pk}/").content.decode()
    assert "Merge into this hospital" in detail or "合并" in detail
    assert client.post(f"{ADMIN_LIST}{c.pk}/", {"action": "merge", "into": target.pk}).status_code == 302
    a.refresh_from_db(), b.refresh_from_db(), c.refresh_from_db()
    assert (a.status, b.status, c.status) == ("active", "rejected", "rejected")


@pytest.mark.parametrize("data", [
    {"action": "merge", "into": "999999"}, {"action": "merge", "into": "abc"}, {"action": "merge"},
    {"action": "explode"}, {}, {"action": "reject", "reason": "x" * 1001},
])
def test_queue_refuses_bad_posts_and_changes_nothing(client, marketing, proposal, data):
    client.force_login(marketing)
    response = client.post(f"{ADMIN_LIST}{proposal.pk}/", data)
    assert response.status_code == 400
    proposal.refresh_from_db()
    assert proposal.status == Hospital.Status.PROPOSED
    assert DoctorProfile.objects.exclude(hospital=proposal).count() == 0


def test_queue_merge_into_a_proposal_is_refused(client, marketing, proposal):
    client.force_login(marketing)
    other = HospitalFactory(name="别的", city="上海市", status=Hospital.Status.PROPOSED)
    assert client.post(f"{ADMIN_LIST}{proposal.pk}/", {"action": "merge", "into": other.pk}).status_code == 400


def test_queue_unknown_proposal_is_404(client, marketing):
    client.force_login(marketing)
    assert client.get(f"{ADMIN_LIST}999999/").status_code == 404
