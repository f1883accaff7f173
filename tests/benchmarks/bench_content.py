"""Academic content: serving, query counts and Chinese search.

- An article page for a signed-in verified doctor (gating, session, reading record) against a public article
  for an anonymous visitor, both through the same uvicorn server in alternating rounds.
- SQL queries of the therapy-area index and of an article page when the area has 500 children, against the
  same pages with 10 children (they must be equal).
- Site search p50/p95 over 10,000 and 100,000 synthetic Chinese articles (BENCH_SEARCH_SIZES overrides the
  sizes, e.g. "10000"), against a naive substring search (title/summary LIKE) over the same pages in the same
  run. The first BENCH_SEARCH_DISTINCT articles (2,000) go through the publish path (page tree, jieba
  indexing); the rest are bulk-inserted copies of them, rows and index entries alike.
The query counts and search run in a child process on PostgreSQL (see tests/benchmarks/child.py).
"""

import math
import os
import random
import statistics
import subprocess
import sys
import time

from tests.benchmarks.child import bench_doctors, child_main, query_count, run_child, setup_django
from tests.benchmarks.core import BASE_DIR, Context, Row
from tests.benchmarks.server import BenchmarkError, LoadResult, drive

SEARCH_SIZES = [int(n) for n in os.environ.get("BENCH_SEARCH_SIZES", "10000,100000").split(",")]
SEARCH_DISTINCT = int(os.environ.get("BENCH_SEARCH_DISTINCT", "2000"))
QUERIES = ["糖尿病", "血糖", "二甲双胍", "SGLT2 抑制剂", "心力衰竭 利尿剂"]
SEARCH_REPEATS = 30

PAGE_BASELINE = "GET of a public article by an anonymous visitor, same server, alternating rounds"
QUERY_BASELINE = "the same page when its therapy area has 10 children"
SEARCH_BASELINE = "naive search: title or summary LIKE %query% over the same pages, first 20"

# --------------------------------------------------------------------------------------------------------------
# Parent side


def _page_targets(ctx: Context) -> dict:
    """A verified demo doctor's session and CSRF cookies and the paths of a verified-only and a public demo
    article."""
    script = (
        "import json; from django.contrib.sessions.backends.db import SessionStore;"
        "from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY;"
        "from members.models import DoctorProfile; from cms.models import ArticlePage;"
        "u = DoctorProfile.objects.filter(status='verified').select_related('user').first().user;"
        "s = SessionStore(); s[SESSION_KEY] = str(u.pk);"
        "s[BACKEND_SESSION_KEY] = 'engage.core.preload.PreloadingModelBackend';"
        "s[HASH_SESSION_KEY] = u.get_session_auth_hash(); s.create();"
        "gated = ArticlePage.objects.live().filter(audience='verified').order_by('pk').first();"
        "public = ArticlePage.objects.live().filter(audience='public').order_by('pk').first();"
        "from django.utils.crypto import get_random_string; from django.middleware.csrf import CSRF_SECRET_LENGTH;"
        "print(json.dumps({'session': s.session_key, 'gated': gated.url_path, 'public': public.url_path,"
        " 'csrf': get_random_string(CSRF_SECRET_LENGTH)}))"
    )
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=BASE_DIR, env=ctx.env,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise BenchmarkError(f"could not prepare the article benchmark:\n{done.stderr[-2000:]}")
    import json

    targets = json.loads(done.stdout.strip().splitlines()[-1])
    # url_path includes the home page's slug segment ('/home/…'); the site serves it from '/'.
    for key in ("gated", "public"):
        targets[key] = "/" + targets[key].strip("/").split("/", 1)[1] + "/"
    return targets


def content_article_page(ctx: Context) -> list[Row]:
    targets = _page_targets(ctx)
    server = ctx.server()
    options = ctx.options
    # The cookies a signed-in doctor's browser sends: the session's and the CSRF cookie Django set at sign-in (a
    # client that dropped it would get a new CSRF secret and Set-Cookie on every page with a form).
    cookie = {"Cookie": f"sessionid={targets['session']}; csrftoken={targets['csrf']}"}
    plans = {"gated": (targets["gated"], cookie), "public": (targets["public"], {})}
    for path, headers in plans.values():
        warm = drive(server.base_url + path, requests=options.warmup, concurrency=options.concurrency,
                     headers=headers)
        if warm.failures() or warm.statuses.get(200, 0) != options.warmup:
            raise BenchmarkError(f"GET {path}: {dict(warm.statuses)} {warm.failures()}\n{server.log_tail()}")
    per_round = math.ceil(options.requests / options.rounds)
    results: dict[str, list[LoadResult]] = {"gated": [], "public": []}
    for _ in range(options.rounds):
        for key, (path, headers) in plans.items():
            results[key].append(drive(server.base_url + path, requests=per_round,
                                      concurrency=options.concurrency, headers=headers))
    gated, public = LoadResult.merge(results["gated"]), LoadResult.merge(results["public"])
    note = "; ".join(filter(None, [gated.failures(), public.failures() and f"baseline {public.failures()}",
                                   "client-bound" if gated.client_bound() or public.client_bound() else ""]))
    label = "article page, verified doctor (gated)"
    return [
        Row(f"{label}: throughput", gated.requests_per_second, public.requests_per_second, "req/s",
            PAGE_BASELINE, note),
        *(Row(f"{label}: latency p{q}", gated.percentile_ms(q), public.percentile_ms(q), "ms", PAGE_BASELINE, note)
          for q in (50, 99)),
    ]


def content_queries_and_search(ctx: Context) -> list[Row]:
    started = time.monotonic()
    sizes = ",".join(str(n) for n in SEARCH_SIZES)
    result = run_child(ctx, "tests.benchmarks.bench_content", sizes, timeout=3600)
    print(f"  bench_content: {time.monotonic() - started:.0f}s including building {sizes} articles", flush=True)
    rows = []
    for page in ("index", "article"):
        small, large = result[f"{page}_small"], result[f"{page}_large"]
        rows.append(Row(f"{'therapy-area index' if page == 'index' else 'article page'} SQL queries, 500 children",
                        large, small, "queries", QUERY_BASELINE, "" if small == large else "NOT EQUAL"))
    for size in result["search"]:
        articles = f"{size['articles']:,} articles"
        for query, timing in size["queries"].items():
            for q in ("p50", "p95"):
                rows.append(Row(f"search “{query}” {q} ({articles}, {timing['hits']} hits)", timing[q],
                                timing[f"naive_{q}"], "ms", SEARCH_BASELINE))
    return rows


# --------------------------------------------------------------------------------------------------------------
# Child side

TOPICS = [
    ["糖尿病", "血糖", "二甲双胍", "胰岛素", "糖化血红蛋白", "低血糖", "SGLT2", "抑制剂", "GLP-1", "肥胖"],
    ["心力衰竭", "利尿剂", "高血压", "他汀", "房颤", "抗凝", "心肌梗死", "血脂", "心血管", "SGLT2"],
    ["肿瘤", "免疫治疗", "化疗", "靶向", "PD-1", "乳腺癌", "肺癌", "放疗", "基因检测", "抑制剂"],
    ["慢性肾病", "肾功能", "透析", "蛋白尿", "贫血", "血压", "饮食", "随访", "指南", "糖尿病"],
    ["哮喘", "慢阻肺", "吸入", "激素", "肺功能", "感染", "疫苗", "抗生素", "随访", "指南"],
]
GLUE = ["患者", "治疗", "管理", "研究", "结果", "显示", "降低", "风险", "建议", "评估", "剂量", "疗效", "临床",
        "证据", "人群", "方案", "监测", "预后"]


def _text(rng: random.Random, n: int, topic: list[str] | None = None) -> str:
    topic = topic or rng.choice(TOPICS)
    return "，".join("".join(rng.choice(topic) + rng.choice(GLUE) + rng.choice(GLUE) for _ in range(2))
                    for _ in range(n)) + "。"


def _area(code: str, name: str):
    from cms.pages.models import HomePage, TherapyAreaPage
    from members.hospitals.models import TherapyArea

    area, _ = TherapyArea.objects.get_or_create(code=code, defaults={"name": name, "name_en": code})
    page = TherapyAreaPage.objects.filter(therapy_area=area).first()
    if page is None:
        page = TherapyAreaPage(title=name, slug=code, therapy_area=area)
        HomePage.objects.first().add_child(instance=page)
    return page, area


def _articles(parent, area, n: int, rng: random.Random, start: int = 0) -> list[int]:
    """`n` live, indexed articles under `parent`. They are made live directly: the benchmark measures reading
    and search, not the review workflow (which refuses unapproved publishes, as it should)."""
    from django.db import transaction
    from django.utils import timezone

    from cms.pages.models import ArticlePage, ContentPage
    from cms.pages.services import content_index_page

    ids = []
    for first in range(0, n, 500):
        with transaction.atomic():
            for i in range(start + first, start + min(first + 500, n)):
                topic = rng.choice(TOPICS)
                page = ArticlePage(title=_text(rng, 1, topic)[:60], slug=f"{area.code}-{i}",
                                   summary=_text(rng, 2, topic),
                                   body=[("rich_text", f"<p>{_text(rng, 12, topic)}</p>")])
                parent.add_child(instance=page)
                page.therapy_areas.add(area)
                ids.append(page.pk)
            now = timezone.now()
            batch = ids[first:]
            ContentPage.objects.filter(pk__in=batch).update(live=True, first_published_at=now,
                                                            last_published_at=now, has_unpublished_changes=False)
            for page in ContentPage.objects.filter(pk__in=batch):
                content_index_page(page=page)
    return ids


def _timed_ms(fn, repeats: int) -> list[float]:
    fn()  # warm
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _quantile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _search_timings(doctor) -> dict:
    from django.db.models import Q

    from cms.pages.models import ContentPage
    from cms.pages.selectors import ContentFilter, content_search

    timings = {}
    for query in QUERIES:
        content_filter = ContentFilter(q=query)
        listing = content_search(user=doctor, content_filter=content_filter)
        searched = _timed_ms(lambda cf=content_filter: content_search(user=doctor, content_filter=cf),
                             SEARCH_REPEATS)
        words = query.split()

        def naive(words=words):
            condition = Q()
            for word in words:
                condition &= Q(title__contains=word) | Q(summary__contains=word)
            return list(ContentPage.objects.live().filter(condition).order_by("-pk")[:20])

        naive_times = _timed_ms(naive, SEARCH_REPEATS)
        timings[query] = {"hits": listing.total, "p50": _quantile(searched, 50), "p95": _quantile(searched, 95),
                          "naive_p50": _quantile(naive_times, 50), "naive_p95": _quantile(naive_times, 95)}
    return timings


def measure(sizes: str) -> dict:
    setup_django()
    from django.db import connection

    from cms.pages.models import ArticlePage, ContentPage

    rng = random.Random(20261123)
    doctor = bench_doctors("bench-content-", 1)[0]
    pages = {}
    for size in (10, 500):
        parent, area = _area(f"bench-area-{size}", f"基准领域{size}")
        ids = _articles(parent, area, size, rng)
        article = ArticlePage.objects.get(pk=ids[0])
        pages[size] = (parent.url, article.url)
    counts = {
        "index_small": query_count(doctor, pages[10][0]), "index_large": query_count(doctor, pages[500][0]),
        "article_small": query_count(doctor, pages[10][1]), "article_large": query_count(doctor, pages[500][1]),
    }
    parent, area = _area("bench-search", "基准检索")
    search, built, templates = [], 0, []
    for size in sorted(SEARCH_SIZES):
        distinct = max(min(size, SEARCH_DISTINCT) - built, 0)
        if distinct:
            templates += _articles(parent, area, distinct, rng, start=built)
            built += distinct
        if size > built:
            _bulk_copies(parent, area, templates, size - built, start=built)
            built = size
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        search.append({"articles": ContentPage.objects.live().count(), "queries": _search_timings(doctor)})
    return {**counts, "search": search}


_STEPS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # treebeard's path alphabet, 4 characters a level


def _step(n: int) -> str:
    digits = ""
    for _ in range(4):
        n, digit = divmod(n, 36)
        digits = _STEPS[digit] + digits
    return digits


def _bulk_copies(parent, area, templates: list[int], n: int, start: int) -> None:
    """`n` live article pages under `parent`, copies of `templates` (round robin) with their own tree path,
    slug and id, inserted a table at a time with INSERT … SELECT: page, content page, article, therapy area,
    search terms and search document."""
    from django.db import connection, transaction

    from cms.pages.services import content_generation_bump

    parent.refresh_from_db()
    with transaction.atomic(), connection.cursor() as cursor:
        for first in range(0, n, 20_000):
            count = min(20_000, n - first)
            numbers = range(parent.numchild + 1, parent.numchild + 1 + count)
            paths = [parent.path + _step(number) for number in numbers]
            slugs = [f"{area.code}-{start + first + i}" for i in range(count)]
            sources = [templates[(first + i) % len(templates)] for i in range(count)]
            cursor.execute(
                """INSERT INTO wagtailcore_page (path, depth, numchild, title, slug, live, has_unpublished_changes,
                       url_path, seo_title, show_in_menus, search_description, expired, content_type_id, locked,
                       first_published_at, last_published_at, draft_title, translation_key, locale_id)
                   SELECT n.path, p.depth, 0, p.title, n.slug, true, false, %s || n.slug || '/', '', false, '',
                       false, p.content_type_id, false, p.first_published_at, p.last_published_at, p.draft_title,
                       gen_random_uuid(), p.locale_id
                   FROM unnest(%s::text[], %s::text[], %s::int[]) AS n(path, slug, source)
                   JOIN wagtailcore_page p ON p.id = n.source
                   RETURNING id, path""",
                [parent.url_path, paths, slugs, sources],
            )
            new_id = dict((path, pk) for pk, path in cursor.fetchall())
            mapping = [[new_id[path] for path in paths], sources]
            for table, key, columns in (
                ("cms_contentpage", "page_ptr_id", "audience, summary, cover_image_id, approval_code, expires_at"),
                ("cms_articlepage", "contentpage_ptr_id", "body"),
            ):
                cursor.execute(  # fixed table and column names
                    f"INSERT INTO {table} ({key}, {columns}) SELECT m.id, {columns} FROM unnest(%s::int[], "  # noqa: S608
                    f"%s::int[]) AS m(id, source) JOIN {table} t ON t.{key} = m.source", mapping,
                )
            cursor.execute(
                "INSERT INTO cms_contentpage_therapy_areas (contentpage_id, therapyarea_id) "
                "SELECT id, %s FROM unnest(%s::int[]) AS m(id)", [area.pk, mapping[0]],
            )
            cursor.execute(
                "INSERT INTO cms_contentsearchterm (page_id, term, weight) SELECT m.id, t.term, t.weight "
                "FROM unnest(%s::int[], %s::int[]) AS m(id, source) JOIN cms_contentsearchterm t "
                "ON t.page_id = m.source", mapping,
            )
            cursor.execute(
                "INSERT INTO cms_contentsearchdocument (page_id, vector) SELECT m.id, d.vector "
                "FROM unnest(%s::int[], %s::int[]) AS m(id, source) JOIN cms_contentsearchdocument d "
                "ON d.page_id = m.source", mapping,
            )
            cursor.execute("UPDATE wagtailcore_page SET numchild = numchild + %s WHERE id = %s", [count, parent.pk])
            parent.numchild += count
    content_generation_bump()  # the search's term statistics are kept per content generation


if __name__ == "__main__":
    child_main("tests.benchmarks.bench_content", measure)
