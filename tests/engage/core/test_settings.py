"""Production settings: secrets from the environment, refuse a development key, `check --deploy` is clean."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[3]


def run_manage(*args, **env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DJANGO_SETTINGS_MODULE"}}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "engage.settings.production",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/engage",
    "REDIS_URL": "redis://127.0.0.1:6379/1",
    "ALLOWED_HOSTS": "engage.example.cn",
    "FIELD_ENCRYPTION_KEY": "q6Hh3oTcfNFlBjjOe_TqOC1Bv6M9CSHq2XQ4ydYLjxU=",
}


def test_check_deploy_reports_nothing_on_production_settings():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", SECRET_KEY=secrets.token_urlsafe(60), **PRODUCTION_ENV
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_real_secret_key():
    missing = run_manage("check", **PRODUCTION_ENV)
    assert missing.returncode != 0
    assert "SECRET_KEY" in missing.stderr
    weak = run_manage("check", SECRET_KEY="short", **PRODUCTION_ENV)
    assert weak.returncode != 0
    assert "SECRET_KEY" in weak.stderr


def test_time_zone_and_languages():
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.USE_TZ is True
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _ in settings.LANGUAGES] == ["zh-hans", "en"]


def test_suite_runs_on_postgresql_and_redis():
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"


def test_no_model_change_lacks_a_migration(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_production_refuses_wechat_callbacks_in_plain_mode():
    key = secrets.token_urlsafe(60)
    plain = run_manage("check", SECRET_KEY=key, WECHAT_TOKEN="token", **PRODUCTION_ENV)
    assert plain.returncode != 0
    assert "WECHAT_ENCODING_AES_KEY" in plain.stderr
    safe = run_manage("check", SECRET_KEY=key, WECHAT_TOKEN="token", WECHAT_ENCODING_AES_KEY="a" * 43,
                      **PRODUCTION_ENV)
    assert safe.returncode == 0, safe.stderr


DEV_SCRIPT = """
from django.conf import settings
from django.http.request import validate_host
print("HOSTS=" + ",".join(settings.ALLOWED_HOSTS))
print("EVIL=" + str(validate_host("evil.example", settings.ALLOWED_HOSTS)))
"""


def test_development_settings_honour_allowed_hosts(tmp_path):
    base = {"DJANGO_SETTINGS_MODULE": "engage.settings.dev", "ENGAGE_VAR_DIR": str(tmp_path)}
    default = run_manage("shell", "-c", DEV_SCRIPT, **base)
    chosen = run_manage("shell", "-c", DEV_SCRIPT, ALLOWED_HOSTS="engage.lan, 10.0.0.5", **base)
    assert default.returncode == chosen.returncode == 0, default.stderr + chosen.stderr
    assert "HOSTS=127.0.0.1,localhost\n" in default.stdout and "EVIL=False" in default.stdout
    assert "HOSTS=engage.lan,10.0.0.5\n" in chosen.stdout and "EVIL=False" in chosen.stdout
