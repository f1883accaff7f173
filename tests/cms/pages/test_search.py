"""Chinese search on PostgreSQL (the suite's database); tests/cms/test_search_sqlite.py runs it on SQLite."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from cms.pages.models import Audience, ContentSearchDocument, ContentSearchTerm
from cms.pages.search import MAX_QUERY_LENGTH, query_terms
from cms.pages.selectors import (
    ContentFilter,
    _search_ranked_portable,
    _search_ranked_postgresql,
    _tsquery,
    content_search,
    filtered_content,
)
from tests.cms.factories import approve_and_publish, area_page, make_article, make_literature, make_reader, make_video

pytestmark = pytest.mark.django_db
# (slug, title, body) — the corpus both database tests search.
CORPUS = [
    ("metformin", "二甲双胍仍是2型糖尿病一线治疗", "二甲双胍降低血糖，低血糖风险小。二甲双胍是基石。"),
    ("sglt2", "SGLT2抑制剂的心肾获益", "SGLT2抑制剂降低糖尿病患者心衰住院风险。"),
    ("cgm", "持续葡萄糖监测", "动态监测血糖波动，指导胰岛素调整。"),
    ("statin", "他汀类药物与LDL-C", "强化降脂降低心血管事件。"),
    ("egfr", "EGFR突变肺癌", "奥希替尼是一线治疗。"),
]


@pytest.fixture
def corpus():
    index = area_page("diabetes")
    return {slug: make_article(index, slug=slug, title=title, audience=Audience.PUBLIC,
                               body=[("rich_text", f"<p>{body}</p>")]) for slug, title, body in CORPUS}


def _titles(query, user=None, **filters):
    listing = content_search(user=user, content_filter=ContentFilter(q=query, **filters))
    return [page.slug for page in listing.items]


def test_chinese_queries_find_the_pages_that_contain_them_best_first(corpus):
    assert _titles("糖尿病") == ["metformin", "sglt2"]  # in the title of one, the body of the other
    assert _titles("血糖") == ["metformin", "cgm"]  # 血糖 twice in metformin's body ranks it first
    assert _titles("二甲双胍") == ["metformin"]
    assert _titles("SGLT2 抑制剂") == ["sglt2"]
    assert _titles("sglt2抑制剂") == ["sglt2"]  # case and spacing do not matter
    assert _titles("奥希替尼 肺癌") == ["egfr"]
    assert _titles("二甲双胍 他汀") == []  # every term must match


@pytest.mark.parametrize("query", [
    "", "   ", "x" * 10_000, "糖" * (MAX_QUERY_LENGTH + 1), "！？。，、……", "!!!???***", "😀😀🎉", "的", "<script>",
    "' OR 1=1 --", "\x00\x01", "%_%",
])
def test_empty_and_absurd_queries_find_nothing_cleanly(corpus, client, query):
    assert _titles(query) == []
    response = client.get("/content/search/", {"q": query})
    assert response.status_code == 200
    if query.strip():  # a blank query browses the latest content instead
        assert 'data-testid="content-card"' not in response.content.decode()
    api = client.get("/api/v1/content", {"q": query})
    if len(query) > MAX_QUERY_LENGTH:  # the API refuses an overlong query instead of ignoring it
        assert api.status_code == 422 and api.json()["code"] == "invalid_input"
    elif query.strip():
        assert api.status_code == 200 and api.json()["count"] == 0


def test_absurd_queries_have_no_terms():
    for query in ("", "x" * 10_000, "！？。", "😀🎉", "的 了 和"):
        assert query_terms(query) == []
    assert query_terms("SGLT2 抑制剂") == ["sglt2", "抑制剂"]


def test_search_filters_by_therapy_area_and_type(corpus):
    onco = area_page("oncology")
    make_video(onco, title="糖尿病患者的肿瘤筛查视频", audience=Audience.PUBLIC, slug="onco-video")
    make_literature(onco, title="糖尿病与癌症风险", audience=Audience.PUBLIC, slug="onco-lit")
    assert set(_titles("糖尿病")) == {"metformin", "sglt2", "onco-video", "onco-lit"}
    assert set(_titles("糖尿病", area="diabetes")) == {"metformin", "sglt2"}
    assert _titles("糖尿病", area="oncology", kind="video") == ["onco-video"]
    assert _titles("糖尿病", kind="literature") == ["onco-lit"]


def test_search_only_finds_what_the_reader_may_read(corpus):
    make_article(area_page(), slug="hcp", title="二甲双胍的肾功能剂量调整", audience=Audience.VERIFIED)
    assert _titles("二甲双胍") == ["metformin"]
    assert set(_titles("二甲双胍", user=make_reader("verified"))) == {"metformin", "hcp"}


def test_the_index_follows_publishing(corpus):
    page = corpus["cgm"]
    assert ContentSearchTerm.objects.filter(page=page, term="血糖").exists()
    page.unpublish()
    assert not ContentSearchTerm.objects.filter(page=page).exists()
    assert _titles("血糖") == ["metformin"]
    page.title = "血糖仪的使用"
    approve_and_publish(page)
    assert _titles("血糖仪") == ["cgm"]


def _document_terms(page):
    with connection.cursor() as cursor:
        cursor.execute("SELECT tsvector_to_array(vector) FROM cms_contentsearchdocument WHERE page_id = %s",
                       [page.pk])
        row = cursor.fetchone()
    return set(row[0]) if row else set()


def test_the_postgresql_document_holds_the_same_terms_and_follows_publishing(corpus):
    page = corpus["cgm"]
    assert _document_terms(page) == set(ContentSearchTerm.objects.filter(page=page).values_list("term", flat=True))
    assert "血糖" in _document_terms(page)
    page.unpublish()
    assert not ContentSearchDocument.objects.filter(page=page).exists()
    page.title = "血糖仪的使用"
    approve_and_publish(page)
    assert "血糖仪" in _document_terms(page) and ContentSearchDocument.objects.filter(page=page).count() == 1


@pytest.mark.parametrize("query", ["糖尿病", "血糖", "二甲双胍", "SGLT2 抑制剂", "奥希替尼 肺癌", "降低",
                                   "二甲双胍 他汀"])
def test_the_postgresql_path_ranks_like_the_portable_one(corpus, query):
    """Same pages, same order, same scores: the candidates and the GIN index only narrow what the tf-idf ranks."""
    terms = query_terms(query)
    candidates = filtered_content(user=None, content_filter=ContentFilter(q=query))
    fast, fast_total, reached = _search_ranked_postgresql(terms=terms, candidates=candidates, offset=0, limit=10)
    slow, slow_total, _ = _search_ranked_portable(terms=terms, candidates=candidates, offset=0, limit=10)
    assert fast_total == slow_total == reached and [pk for pk, _ in fast] == [pk for pk, _ in slow]
    assert [round(score, 6) for _, score in fast] == [round(score, 6) for _, score in slow]


def _ranked(terms, offset=0, limit=4):
    candidates = filtered_content(user=None, content_filter=ContentFilter(q=" ".join(terms)))
    return _search_ranked_postgresql(terms=terms, candidates=candidates, offset=offset, limit=limit)


def test_the_postgresql_path_pages_and_counts_once(corpus):
    index = area_page()
    for n in range(5):
        make_article(index, slug=f"dm-{n}", title=f"糖尿病随访第{n}讲", audience=Audience.PUBLIC)
    first, total, _ = _ranked(["糖尿病"])
    rest, again, _ = _ranked(["糖尿病"], offset=4)
    beyond, still, _ = _ranked(["糖尿病"], offset=40)
    assert total == again == still == 7 and len(first) == 4 and len(rest) == 3 and beyond == []
    assert not {pk for pk, _ in first} & {pk for pk, _ in rest}


def test_past_the_candidate_cap_the_best_pages_are_ranked_and_the_count_estimated(corpus, monkeypatch):
    from cms.pages import selectors

    index = area_page()
    for n in range(5):
        make_article(index, slug=f"dm-{n}", title=f"糖尿病随访第{n}讲", audience=Audience.PUBLIC)
    everything, total, reached = _ranked(["糖尿病"], limit=10)
    monkeypatch.setattr(selectors, "SEARCH_CANDIDATES", 3)
    best, estimated, ranked_only = _ranked(["糖尿病"], limit=10)
    assert (total, reached) == (7, 7) and ranked_only == 3 and estimated == 7
    assert best == everything[:3]  # one term: the candidates are the best-scored pages
    listing = content_search(user=None, content_filter=ContentFilter(q="糖尿病", page=5), page_size=2)
    assert listing.total == 7 and listing.num_pages == 2 and listing.page == 2  # pages past the cap: not offered
    assert [page.pk for page in listing.items] == [pk for pk, _ in everything[2:3]]


def test_a_hidden_page_is_neither_found_nor_counted_on_postgresql(corpus):
    make_article(area_page(), slug="hcp", title="糖尿病的胰岛素起始", audience=Audience.VERIFIED)
    rows, total, _ = _ranked(["糖尿病"], limit=10)
    assert total == 2 and {pk for pk, _ in rows} == {corpus["metformin"].pk, corpus["sglt2"].pk}


@pytest.mark.parametrize("term", ["o'neil", "back\\slash", "a:b", "x & y | !z", "''", "糖'尿\\病"])
def test_tsquery_quotes_any_term_as_one_lexeme(db, term):
    with connection.cursor() as cursor:
        cursor.execute("SELECT array_to_tsvector(ARRAY[%s, 'other']) @@ %s::tsquery, "
                       "array_to_tsvector(ARRAY['other']) @@ %s::tsquery", [term, _tsquery([term, "other"]),
                                                                              _tsquery([term])])
        assert cursor.fetchone() == (True, False)


def test_the_migration_backfills_documents_from_the_terms(corpus):
    import importlib

    migration = importlib.import_module("cms.migrations.0012_ssr_search_vector")
    ContentSearchDocument.objects.all().delete()
    with connection.schema_editor() as editor:
        migration.backfill(None, editor)
    assert ContentSearchDocument.objects.count() == len(CORPUS)
    assert _titles("血糖") == ["metformin", "cgm"]


def test_search_page_shows_results_and_paginates(client, corpus):
    index = area_page()
    for n in range(14):
        make_article(index, slug=f"dm-{n}", title=f"糖尿病随访第{n}讲", audience=Audience.PUBLIC)
    first = client.get("/content/search/", {"q": "糖尿病"}).content.decode()
    assert first.count('data-testid="content-card"') == 12
    assert "q=%E7%B3%96%E5%B0%BF%E7%97%85&amp;page=2" in first
    second = client.get("/content/search/", {"q": "糖尿病", "page": 2}).content.decode()
    assert second.count('data-testid="content-card"') == 4
    assert client.get("/content/search/", {"q": "糖尿病", "page": "abc"}).status_code == 200
    assert client.get("/content/search/", {"q": "糖尿病", "page": 10**12}).status_code == 200
    assert client.post("/content/search/", {"q": "糖尿病"}).status_code == 405


ROOT = Path(__file__).resolve().parents[3]
SCRIPT = """
import json
from django.db import connection
from cms.models import Audience
from cms.pages.selectors import ContentFilter, content_search
from tests.cms.factories import area_page, make_article
from tests.cms.pages.test_search import CORPUS

assert connection.vendor == "sqlite", connection.vendor
index = area_page("diabetes")
for slug, title, body in CORPUS:
    make_article(index, slug=slug, title=title, audience=Audience.PUBLIC, body=[("rich_text", f"<p>{body}</p>")])
results = {}
for query in ["糖尿病", "血糖", "二甲双胍", "SGLT2 抑制剂", "二甲双胍 他汀", "", "x" * 10000, "！？。", "😀🎉"]:
    listing = content_search(user=None, content_filter=ContentFilter(q=query))
    results[query[:20]] = [page.slug for page in listing.items]
print("RESULTS=" + json.dumps(results, ensure_ascii=False))
"""


@pytest.mark.timeout(600)
def test_chinese_search_on_sqlite(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_SETTINGS_MODULE="engage.settings.dev", ENGAGE_VAR_DIR=str(tmp_path), DEBUG="0",
               LOG_LEVEL="WARNING")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, capture_output=True)
    done = subprocess.run([*manage, "shell", "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULTS="))
    results = json.loads(line.removeprefix("RESULTS="))
    assert (tmp_path / "engage.sqlite3").exists()
    assert results == {
        "糖尿病": ["metformin", "sglt2"],
        "血糖": ["metformin", "cgm"],
        "二甲双胍": ["metformin"],
        "SGLT2 抑制剂": ["sglt2"],
        "二甲双胍 他汀": [],
        "": [],
        "x" * 20: [],
        "！？。": [],
        "😀🎉": [],
    }
