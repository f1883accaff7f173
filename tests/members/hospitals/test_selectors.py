"""Hospital search (selector) and GET /api/v1/hospitals: matching, ranking, status, roles and odd input."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.hospitals.models import Hospital
from members.hospitals.selectors import hospital_search
from tests.factories import DepartmentFactory, HospitalFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/hospitals"
ROLES = ["doctor", "rep", "marketing", "medical_reviewer", "compliance", "admin"]


@pytest.fixture
def hospitals():
    endo = DepartmentFactory()
    cardio = DepartmentFactory(code="cardiology", name="心血管内科", name_en="Cardiology")
    pumch = HospitalFactory(name="北京协和医院", province="北京市", city="北京市", aliases=["协和医院", "PUMCH"])
    pumch.departments.set([endo, cardio])
    return {
        "pumch": pumch,
        "pku": HospitalFactory(name="北京大学第一医院", province="北京市", city="北京市", aliases=["北大医院"]),
        "zs_long": HospitalFactory(name="复旦大学附属中山医院", city="上海市", aliases=["中山医院"]),
        "zs_exact": HospitalFactory(name="中山医院", province="广东省", city="中山市", level="2", beds=300),
        "rj": HospitalFactory(name="上海交通大学医学院附属瑞金医院", city="上海市"),
        "proposed": HospitalFactory(name="北京协和医院西院", city="北京市", status=Hospital.Status.PROPOSED),
        "rejected": HospitalFactory(name="北京协和假医院", city="北京市", status=Hospital.Status.REJECTED),
    }


def names(results):
    return [h.name for h in results]


def test_pinyin_initials_find_the_hospital_first(hospitals):
    assert hospitals["pumch"].pinyin_initials == "BJXHYY"
    assert names(hospital_search(q="bjxh"))[0] == "北京协和医院"
    assert names(hospital_search(q="BJXH"))[0] == "北京协和医院"
    assert "北京协和医院" in names(hospital_search(q="xhyy"))  # initials in the middle still match


def test_substring_alias_and_city_matching(hospitals):
    assert names(hospital_search(q="协和")) == ["北京协和医院"]
    assert names(hospital_search(q="pumch")) == ["北京协和医院"]
    assert names(hospital_search(q="北大医院")) == ["北京大学第一医院"]
    assert set(names(hospital_search(q="上海"))) == {"复旦大学附属中山医院", "上海交通大学医学院附属瑞金医院"}


def test_exact_name_ranks_before_alias_and_substring(hospitals):
    result = names(hospital_search(q="中山医院"))
    assert result[0] == "中山医院"  # exact name, although a smaller hospital
    assert result[1] == "复旦大学附属中山医院"
    # a prefix beats a substring
    HospitalFactory(name="瑞金医院分院", city="上海市")
    assert names(hospital_search(q="瑞金"))[0] == "瑞金医院分院"


def test_only_active_hospitals_are_found(hospitals):
    found = names(hospital_search(q="北京协和"))
    assert found == ["北京协和医院"]
    assert names(hospital_search(q="")) and "北京协和假医院" not in names(hospital_search(q="", limit=50))


def test_city_filter_with_or_without_shi(hospitals):
    shanghai = {"复旦大学附属中山医院", "上海交通大学医学院附属瑞金医院"}
    assert set(names(hospital_search(q="", city="上海市"))) == shanghai
    assert set(names(hospital_search(q="医院", city="上海"))) == shanghai
    assert names(hospital_search(q="协和", city="上海市")) == []


@pytest.mark.parametrize("q", ["%", "_", "\\", "'", '"', "\x00", "协\x00和", "🙂", " ", "<script>", "a" * 500,
                               "%%%%", "[]", "{}", "\u200b"])
def test_odd_queries_never_fail(hospitals, q):
    results = hospital_search(q=q, city=q)
    assert isinstance(results, list)
    if q in ("%", "_", "%%%%"):
        assert results == []  # LIKE wildcards are matched literally


def test_limit_is_clamped(hospitals):
    for n in range(30):
        HospitalFactory(name=f"测试医院{n}", city="杭州市")
    assert len(hospital_search(q="测试", limit=5)) == 5
    assert len(hospital_search(q="测试", limit=10_000)) == 30
    assert len(hospital_search(q="测试", limit=0)) == 20


def test_anonymous_gets_401(client, hospitals):
    response = client.get(URL, {"q": "bjxh"})
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("role", ROLES)
def test_every_signed_in_role_can_search(client, role_user, role, hospitals):
    client.force_login(role_user(role))
    response = client.get(URL, {"q": "bjxh"})
    assert response.status_code == 200
    first = response.json()[0]
    assert first == {
        "id": hospitals["pumch"].pk, "name": "北京协和医院", "city": "北京市", "province": "北京市", "district": "",
        "level_grade": "三级甲等",
        "departments": [{"id": d.pk, "name": d.name, "name_en": d.name_en}
                        for d in hospitals["pumch"].departments.order_by("name")],
    }


def test_api_city_and_limit(client, doctor, hospitals):
    client.force_login(doctor)
    body = client.get(URL, {"q": "医院", "city": "上海市", "limit": 1}).json()
    assert len(body) == 1 and body[0]["city"] == "上海市"


@pytest.mark.parametrize("params", [
    {"q": "x" * 51}, {"limit": 0}, {"limit": 51}, {"limit": "abc"}, {"limit": "1e9"}, {"city": "c" * 51},
])
def test_api_refuses_bad_parameters_with_a_code(client, doctor, hospitals, params):
    client.force_login(doctor)
    response = client.get(URL, params)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"


@pytest.mark.parametrize("q", ["%00", "%", "<script>alert(1)</script>", "'; DROP TABLE members_hospital; --"])
def test_api_odd_queries_answer_200(client, doctor, hospitals, q):
    client.force_login(doctor)
    response = client.get(f"{URL}?q={q}")
    assert response.status_code == 200
    assert isinstance(response.json(), list)
    assert Hospital.objects.filter(pk=hospitals["pumch"].pk).exists()


def test_api_query_count_does_not_grow_with_results(client, doctor, hospitals):
    client.force_login(doctor)
    client.get(URL, {"q": "医院"})  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(URL, {"q": "协和"})
    for n in range(20):
        HospitalFactory(name=f"协和测试医院{n}", city="武汉市").departments.add(DepartmentFactory())
    with CaptureQueriesContext(connection) as many:
        body = client.get(URL, {"q": "协和"}).json()
    assert len(body) == 20
    assert len(many) == len(few)


def test_api_is_in_the_openapi_schema(client):
    assert "/api/v1/hospitals" in client.get("/api/v1/openapi.json").json()["paths"]
