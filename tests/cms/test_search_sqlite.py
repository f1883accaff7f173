"""The same Chinese search on SQLite, the embedded default: a separate process with its own SQLite database.

The suite itself runs on PostgreSQL, so this test starts `manage.py` with engage.settings.dev, no DATABASE_URL
and a temporary ENGAGE_VAR_DIR: migrate, then publish the corpus of test_search.py and search it.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json
from django.db import connection
from cms.models import Audience
from cms.selectors import ContentFilter, content_search
from tests.cms.content import area_page, make_article
from tests.cms.test_search import CORPUS

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
