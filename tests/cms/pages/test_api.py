"""GET /api/v1/content and /api/v1/content/{id}: filters, gating answer, bad input, OpenAPI."""

import pytest
from wagtail.models import APIToken

from cms.pages.models import Audience
from tests.cms.factories import area_page, make_article, make_literature, make_reader, make_video

pytestmark = pytest.mark.django_db


@pytest.fixture
def content():
    diabetes, onco = area_page("diabetes"), area_page("oncology")
    return {
        "article": make_article(diabetes, slug="art", audience=Audience.PUBLIC, title="二甲双胍指南", tags=["指南"]),
        "literature": make_literature(diabetes, slug="lit", audience=Audience.PUBLIC),
        "video": make_video(onco, slug="vid", audience=Audience.PUBLIC, title="肺癌免疫治疗"),
        "hcp": make_article(onco, slug="hcp", audience=Audience.VERIFIED, title="奥希替尼",
                            body=[("rich_text", "<p>专业正文</p>")]),
    }


def _ids(response):
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["results"]}


def test_list_filters_by_area_type_tag_and_query(client, content):
    c = content
    assert _ids(client.get("/api/v1/content")) == {c["article"].pk, c["literature"].pk, c["video"].pk}
    assert _ids(client.get("/api/v1/content", {"area": "diabetes"})) == {c["article"].pk, c["literature"].pk}
    assert _ids(client.get("/api/v1/content", {"type": "video"})) == {c["video"].pk}
    assert _ids(client.get("/api/v1/content", {"tag": "指南"})) == {c["article"].pk}
    assert _ids(client.get("/api/v1/content", {"q": "二甲双胍"})) == {c["article"].pk}
    assert _ids(client.get("/api/v1/content", {"since": "2999-01-01"})) == set()
    item = client.get("/api/v1/content", {"q": "二甲双胍"}).json()["results"][0]
    assert item["type"] == "article" and item["url"] == c["article"].url and item["score"] > 0
    assert item["therapy_areas"] == [{"code": "diabetes", "name": "糖尿病"}]


def test_detail_for_each_type_and_the_gated_answer(client, content):
    article = client.get(f"/api/v1/content/{content['article'].pk}").json()
    assert article["gated"] is False and article["body"][0]["type"] == "rich_text"
    literature = client.get(f"/api/v1/content/{content['literature'].pk}").json()
    assert literature["literature"]["doi"] == "10.1056/NEJMoa2024816"
    video = client.get(f"/api/v1/content/{content['video'].pk}").json()
    assert video["video"]["stream_url"].endswith(".m3u8") and video["video"]["chapters"][0]["title"] == "引言"

    gated = client.get(f"/api/v1/content/{content['hcp'].pk}")
    assert gated.status_code == 200
    data = gated.json()
    assert data["gated"] is True and data["body"] is None and data["summary"] == ""
    assert data["title"] == "奥希替尼" and data["gate"]["reason"] == "sign_in"
    assert "专业正文" not in gated.content.decode()


def test_rich_text_reaches_api_readers_whitelisted(client):
    page = make_article(audience=Audience.PUBLIC, slug="xss", body=[
        ("rich_text", '<p onclick="steal()">正文</p><script>alert(1)</script>'),
        ("callout", {"kind": "info", "title": "", "text": '<p>要点<img src=x onerror="alert(2)"></p>'}),
    ])
    data = client.get(f"/api/v1/content/{page.pk}").json()
    assert "onclick" not in str(data) and "<script" not in str(data) and "onerror" not in str(data)
    assert "<p>正文</p>" in data["body"][0]["value"]


def test_bearer_token_identifies_the_reader_and_a_bad_one_is_anonymous(client, content):
    doctor = make_reader("verified")
    _token, key = APIToken.create_token(user=doctor, name="app")
    url = f"/api/v1/content/{content['hcp'].pk}"
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {key}").json()["gated"] is False
    assert client.get(url, HTTP_AUTHORIZATION="Bearer wrong").json()["gated"] is True
    # A bad token never falls back to the session.
    client.force_login(doctor)
    assert client.get(url).json()["gated"] is False
    assert client.get(url, HTTP_AUTHORIZATION="Bearer wrong").json()["gated"] is True


@pytest.mark.parametrize("params", [
    {"type": "podcast"}, {"area": "DIABETES; drop"}, {"area": "x" * 51}, {"page": 0}, {"page": "abc"},
    {"page": 10**9}, {"q": "x" * 201}, {"since": "yesterday"}, {"tag": "t" * 101},
])
def test_bad_list_input_is_a_422(client, content, params):
    response = client.get("/api/v1/content", params)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"


def test_unknown_and_malformed_ids(client, content):
    assert client.get("/api/v1/content/999999").json()["code"] == "content_not_found"
    assert client.get("/api/v1/content/999999").status_code == 404
    assert client.get(f"/api/v1/content/{area_page().pk}").status_code == 404  # not a content page
    assert client.get("/api/v1/content/abc").status_code == 404
    assert client.get("/api/v1/content/-1").status_code == 404
    assert client.post("/api/v1/content", {}).status_code in (403, 405)


def test_openapi_documents_the_content_endpoints(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/content" in schema["paths"]
    assert "/api/v1/content/{content_id}" in schema["paths"]
    params = {p["name"] for p in schema["paths"]["/api/v1/content"]["get"]["parameters"]}
    assert {"area", "type", "q", "page"} <= params
