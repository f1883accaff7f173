"""The segmentation pages of the Wagtail admin: roles, matrix counts, cell lists, settings, indicators, recompute."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from engage.audit.models import AuditEntry
from engage.celery import app as celery_app
from members.engagement.models import EngagementKind
from members.hospitals.models import TherapyArea
from members.segments.models import DoctorIndicators, DoctorSegment, KolTier, SegmentationConfig
from members.segments.services import DEFAULT_CUTOFFS, DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS, segments_recompute
from tests.members.segments.test_services import event, indicators, make_doctor

pytestmark = pytest.mark.django_db
ROLES = ["doctor", "rep", "marketing", "medical_reviewer", "compliance", "admin"]
VIEWERS = {"marketing", "compliance", "admin"}


@pytest.fixture
def diabetes(db):
    return TherapyArea.objects.get(code="diabetes")


def client_as(client, role_user, role):
    if role != "anonymous":
        client.force_login(role_user(role))
    return client


def expect(response, role, allowed, ok=200):
    if role == "anonymous" or role in {"doctor", "rep"}:
        assert response.status_code == 302 and "/admin/login/" in response.url, (role, response.status_code)
    elif role in allowed:
        assert response.status_code == ok, (role, response.status_code)
    else:  # Wagtail answers a refused staff member with a redirect to the dashboard and a message
        assert response.status_code == 302 and response.url == reverse("wagtailadmin_home"), (role, response)


def config_post(**overrides):
    data = {}
    for group, grades in DEFAULT_THRESHOLDS.items():
        for grade, values in grades.items():
            for name, value in values.items():
                data[f"t_{group}_{grade}_{name}"] = value
    data |= {f"w_{kind}": value for kind, value in DEFAULT_WEIGHTS.items()}
    data |= {f"c_{key}": value for key, value in DEFAULT_CUTOFFS.items()}
    data.update(overrides)
    return data


@pytest.mark.parametrize("role", ["anonymous", *ROLES])
def test_role_matrix_for_every_segmentation_page(client, role_user, diabetes, role):
    doctor = make_doctor()
    indicators(doctor, diabetes, beds=50)
    segments_recompute()
    c = client_as(client, role_user, role)
    expect(c.get(reverse("segments_matrix")), role, VIEWERS)
    expect(c.get(reverse("segments_cell", args=["diabetes", "A3"])), role, VIEWERS)
    expect(c.get(reverse("segments_config", args=["diabetes"])), role, VIEWERS)
    expect(c.post(reverse("segments_config", args=["diabetes"]), config_post(c_1=90)), role, {"admin"}, ok=302)
    expect(c.get(reverse("segments_indicators", args=["diabetes", doctor.pk])), role, {"marketing", "admin"})
    expect(c.post(reverse("segments_indicators", args=["diabetes", doctor.pk]),
                  {"beds_in_charge": 1, "weekly_outpatients": 0, "weekly_target_patients": 0, "kol_tier": "none"}),
           role, {"marketing", "admin"}, ok=302)
    expect(c.post(reverse("segments_recompute")), role, VIEWERS, ok=302)
    # Only the roles allowed changed anything.
    changed = SegmentationConfig.objects.get(therapy_area=diabetes).support_cutoffs["1"] == 90
    assert changed is (role == "admin")
    assert (DoctorIndicators.objects.get(doctor=doctor).beds_in_charge == 1) is (role in {"marketing", "admin"})


def test_recompute_is_get_proof(client, role_user):
    client.force_login(role_user("marketing"))
    assert client.get(reverse("segments_recompute")).status_code == 405


@pytest.mark.parametrize("role", ["marketing", "compliance", "admin", "medical_reviewer", "rep"])
def test_menu_item_only_for_viewers(client, role_user, role):
    client.force_login(role_user(role))
    response = client.get("/admin/")
    if role == "rep":
        assert response.status_code == 302
        return
    html = response.content.decode()
    assert (reverse("segments_matrix") in html) is (role in VIEWERS)
    assert (reverse("doctor360_list") in html) is (role in VIEWERS)


def test_matrix_counts_cells_and_kol_tiers(client, role_user, diabetes):
    now = timezone.now()
    for _ in range(3):  # A3 (big five, 40 beds)
        indicators(make_doctor(city="北京市"), diabetes, beds=40, kol=KolTier.NATIONAL)
    b1 = make_doctor(city="成都市")  # B: 15 beds in another city; support 1: 12 meetings = 60
    indicators(b1, diabetes, beds=15, kol=KolTier.LOCAL)
    for i in range(12):
        event(b1, EngagementKind.MEETING_ATTENDED, now - timedelta(days=i + 1), diabetes)
    indicators(make_doctor(city="北京"), diabetes, beds=5)  # C3
    make_doctor(specialties=[diabetes])  # a diabetes doctor without indicators: counted as not assessed
    segments_recompute()

    client.force_login(role_user("marketing"))
    response = client.get(reverse("segments_matrix") + "?area=diabetes")
    assert response.status_code == 200
    matrix = response.context["matrix"]
    counts = {c.cell: c.count for _p, cells, _t in matrix.rows for c in cells}
    assert counts == {"A1": 0, "A2": 0, "A3": 3, "B1": 1, "B2": 0, "B3": 0, "C1": 0, "C2": 0, "C3": 1}
    assert matrix.total == 5 and matrix.column_totals == [1, 0, 4]
    assert {v: n for v, _label, n in matrix.kol_counts} == {"none": 1, "local": 1, "regional": 0, "national": 3}
    assert matrix.unassessed == 1
    html = response.content.decode()
    assert 'data-cell="A3">3</a>' in html and 'data-cell="B1">1</a>' in html
    assert "Recompute" in html or "重新计算" in html

    # The switcher: another area shows its own (empty) matrix.
    other = client.get(reverse("segments_matrix") + "?area=oncology")
    assert other.context["area"].code == "oncology" and other.context["matrix"].total == 0
    # An unknown area falls back to the first one rather than failing.
    assert client.get(reverse("segments_matrix") + "?area=<script>").status_code == 200


def test_matrix_query_count_does_not_grow_with_doctors(client, role_user, diabetes):
    client.force_login(role_user("compliance"))
    url = reverse("segments_matrix") + "?area=diabetes"

    def add(n):
        for i in range(n):
            indicators(make_doctor(specialties=[diabetes]), diabetes, beds=i * 3, kol=KolTier.values[i % 4])
        segments_recompute()

    add(2)
    client.get(url)  # warm up the session and the menu
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    add(40)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert many.captured_queries and len(many) == len(few)
    assert client.get(url).context["matrix"].total == 42


def test_cell_list_paginates_and_shows_hospital_department_title(client, role_user, diabetes):
    for _ in range(55):
        indicators(make_doctor(city="北京市"), diabetes, beds=40)
    segments_recompute()
    client.force_login(role_user("marketing"))
    url = reverse("segments_cell", args=["diabetes", "A3"])
    page1 = client.get(url)
    assert page1.context["page_obj"].paginator.count == 55 and len(page1.context["page_obj"]) == 50
    html = page1.content.decode()
    first = page1.context["page_obj"][0].doctor.doctor_profile
    assert first.hospital.name in html and first.department.name in html
    assert first.get_title_display() in html
    assert len(client.get(url + "?p=2").context["page_obj"]) == 5
    assert client.get(url + "?p=999").status_code == 200  # out of range: last page, not an error
    assert client.get(url + "?p=abc").status_code == 200
    assert client.get(url + "?kol=national").context["page_obj"].paginator.count == 0
    assert client.get(reverse("segments_cell", args=["diabetes", "D9"])).status_code == 404
    assert client.get(reverse("segments_cell", args=["nowhere", "A1"])).status_code == 404


def test_cell_list_query_count_is_flat(client, role_user, diabetes):
    client.force_login(role_user("marketing"))
    url = reverse("segments_cell", args=["diabetes", "C3"])
    indicators(make_doctor(), diabetes)
    segments_recompute()
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(20):
        indicators(make_doctor(), diabetes)
    segments_recompute()
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


@pytest.mark.parametrize("overrides, message", [
    ({"t_big5_A_beds_in_charge": "-1"}, None),
    ({"t_big5_A_beds_in_charge": "abc"}, None),
    ({"t_big5_A_beds_in_charge": ""}, None),
    ({"t_big5_A_beds_in_charge": "1e99"}, None),
    ({"t_big5_A_beds_in_charge": "99999999999"}, None),
    ({"t_other_A_weekly_target_patients": "10"}, "must not be below"),  # below B's 20
    ({"c_1": "20"}, "must be greater"),  # equal to cut-off 2
    ({"c_1": "5", "c_2": "30"}, "must be greater"),
    ({"w_course_taught": "-3"}, None),
    ({"w_content_read": "<script>alert(1)</script>"}, None),
])
def test_bad_settings_input_shows_errors_and_saves_nothing(client, role_user, diabetes, overrides, message):
    client.force_login(role_user("admin"))
    client.get("/admin/")
    before = SegmentationConfig.objects.get(therapy_area=diabetes)
    response = client.post(reverse("segments_config", args=["diabetes"]), config_post(**overrides),
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors
    if message:
        assert message in " ".join(form.non_field_errors())
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    after = SegmentationConfig.objects.get(therapy_area=diabetes)
    assert (after.potential_thresholds, after.support_weights, after.support_cutoffs) == (
        before.potential_thresholds, before.support_weights, before.support_cutoffs)
    assert not AuditEntry.objects.filter(action="segments.config_update").exists()


def test_settings_missing_fields_are_errors(client, role_user, diabetes):
    client.force_login(role_user("admin"))
    response = client.post(reverse("segments_config", args=["diabetes"]), {"c_1": "70"})
    assert response.status_code == 400
    assert "c_2" in response.context["form"].errors


def test_settings_save_and_marketing_sees_them_read_only(client, role_user, diabetes,
                                                         django_capture_on_commit_callbacks):
    client.force_login(role_user("admin"))
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("segments_config", args=["diabetes"]),
                               config_post(t_big5_A_beds_in_charge=55, w_content_read=2, c_1=70))
    assert response.status_code == 302
    assert len(callbacks) == 1
    config = SegmentationConfig.objects.get(therapy_area=diabetes)
    assert config.potential_thresholds["big5"]["A"]["beds_in_charge"] == 55
    assert config.support_weights["content_read"] == 2 and config.support_cutoffs == {"1": 70, "2": 20}
    assert AuditEntry.objects.filter(action="segments.config_update").count() == 1

    client.force_login(role_user("marketing"))
    response = client.get(reverse("segments_config", args=["diabetes"]))
    assert response.status_code == 200 and not response.context["can_edit"]
    assert 'value="55"' in response.content.decode() and "disabled" in response.content.decode()


@pytest.mark.parametrize("data", [
    {"beds_in_charge": "-5", "weekly_outpatients": "0", "weekly_target_patients": "0", "kol_tier": "none"},
    {"beds_in_charge": "x", "weekly_outpatients": "0", "weekly_target_patients": "0", "kol_tier": "none"},
    {"beds_in_charge": "1", "weekly_outpatients": "0", "weekly_target_patients": "0", "kol_tier": "emperor"},
    {"beds_in_charge": "100001", "weekly_outpatients": "0", "weekly_target_patients": "0", "kol_tier": "none"},
    {"beds_in_charge": "1"},
    {},
])
def test_bad_indicator_input_saves_nothing(client, role_user, diabetes, data):
    doctor = make_doctor()
    client.force_login(role_user("marketing"))
    response = client.post(reverse("segments_indicators", args=["diabetes", doctor.pk]), data)
    assert response.status_code == 400 and response.context["form"].errors
    assert not DoctorIndicators.objects.exists() and not DoctorSegment.objects.exists()


def test_indicator_edit_regrades_the_doctor(client, role_user, diabetes):
    doctor = make_doctor(city="南京市")
    client.force_login(role_user("marketing"))
    url = reverse("segments_indicators", args=["diabetes", doctor.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"beds_in_charge": "25", "weekly_outpatients": "0", "weekly_target_patients": "0",
                                 "kol_tier": "regional"})
    assert response.status_code == 302 and reverse("doctor360_detail", args=[doctor.pk]) in response.url
    seg = DoctorSegment.objects.get(doctor=doctor, therapy_area=diabetes)
    assert (seg.cell, seg.kol_tier) == ("B3", "regional")
    assert client.get(reverse("segments_indicators", args=["diabetes", 999999])).status_code == 404
    not_a_doctor = role_user("rep")
    assert client.get(reverse("segments_indicators", args=["diabetes", not_a_doctor.pk])).status_code == 404


def test_recompute_button_queues_the_task_and_shows_the_last_run(client, role_user, diabetes,
                                                                 django_capture_on_commit_callbacks):
    doctor = make_doctor()
    indicators(doctor, diabetes, beds=50)
    marketing = role_user("marketing")
    client.force_login(marketing)
    html = client.get(reverse("segments_matrix")).content.decode()
    assert not DoctorSegment.objects.exists()

    celery_app.conf.task_always_eager = True  # run the queued task in this process, for real
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = client.post(reverse("segments_recompute"), {"area": "diabetes"})
    finally:
        celery_app.conf.task_always_eager = False
    assert response.status_code == 302 and response.url.endswith("?area=diabetes")
    assert len(callbacks) == 1
    assert DoctorSegment.objects.get(doctor=doctor).cell == "A3"
    run = AuditEntry.objects.get(action="segments.recompute")
    assert run.actor_id == marketing.pk and run.after["scope"] == "all" and run.after["created"] == 1
    assert AuditEntry.objects.filter(action="segments.recompute_requested", actor_id=marketing.pk).count() == 1

    response = client.get(reverse("segments_matrix"))
    runs = response.context["runs"]
    assert runs.last_finished == run and not runs.pending
    html = response.content.decode()
    assert timezone.localtime(run.created_at).strftime("%Y-%m-%d %H:%M") in html


def test_a_second_click_while_queued_queues_nothing(client, role_user, django_capture_on_commit_callbacks):
    client.force_login(role_user("compliance"))
    with django_capture_on_commit_callbacks() as first:
        client.post(reverse("segments_recompute"))
    with django_capture_on_commit_callbacks() as second:
        client.post(reverse("segments_recompute"))
    assert len(first) == 1 and len(second) == 0
    assert AuditEntry.objects.filter(action="segments.recompute_requested").count() == 1
    assert client.get(reverse("segments_matrix")).context["runs"].pending


def test_nightly_task_is_scheduled_at_half_past_two():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["members-segments-recompute"]
    assert entry["task"] == "members.segments.tasks.segments_recompute_task"
    assert entry["schedule"].hour == {2} and entry["schedule"].minute == {30}
    from members.segments.tasks import segments_recompute_task

    assert segments_recompute_task.name == entry["task"]


def test_nightly_task_runs_the_recompute(diabetes):
    from members.segments.tasks import segments_recompute_task

    doctor = make_doctor()
    indicators(doctor, diabetes, beds=50)
    segments_recompute_task.apply()
    assert DoctorSegment.objects.get(doctor=doctor).cell == "A3"
    assert AuditEntry.objects.get(action="segments.recompute").actor_id is None
    segments_recompute_task.apply(kwargs={"therapy_area_id": 999999})  # a deleted area: nothing, no error
    assert AuditEntry.objects.filter(action="segments.recompute").count() == 1
