"""PostgreSQL connections come from a pool per process in production (engage/settings/base.py): a closed connection
goes back to the pool and the next request takes it, without a new PostgreSQL backend."""

import copy
import json
import secrets
import threading

import pytest
from django.db import connections
from django.db.backends.postgresql.base import DatabaseWrapper

from tests.engage.core.test_settings import PRODUCTION_ENV, run_manage

SHOW_OPTIONS = "import json; from django.conf import settings; print(json.dumps(settings.DATABASES['default']))"


def production_database(**env) -> dict:
    env = {"DB_POOL_MAX_SIZE": "", "DB_CONN_MAX_AGE": "", **env}  # the test settings turn the pool off
    result = run_manage("shell", "-c", SHOW_OPTIONS, SECRET_KEY=secrets.token_urlsafe(60), **PRODUCTION_ENV, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_pools_connections_unless_turned_off():
    pooled = production_database()
    assert pooled["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 20, "timeout": 10.0}
    assert pooled["CONN_MAX_AGE"] == 0  # Django refuses a pool with persistent connections
    assert production_database(DB_POOL_MAX_SIZE="5", DB_POOL_TIMEOUT="3")["OPTIONS"]["pool"]["max_size"] == 5
    assert "pool" not in production_database(DB_POOL_MAX_SIZE="0").get("OPTIONS", {})
    persistent = production_database(DB_CONN_MAX_AGE="60")
    assert "pool" not in persistent.get("OPTIONS", {}) and persistent["CONN_MAX_AGE"] == 60


@pytest.fixture
def pooled_connection(db):
    settings_dict = copy.deepcopy(connections["default"].settings_dict)
    settings_dict["OPTIONS"] = {**settings_dict.get("OPTIONS", {}), "pool": {"min_size": 1, "max_size": 2}}
    wrapper = DatabaseWrapper(settings_dict, alias="pool_test")
    yield wrapper
    wrapper.close()
    wrapper.close_pool()


def backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_closed_connection_returns_to_the_pool_and_is_reused(pooled_connection):
    pids = set()
    for _request in range(10):
        pids.add(backend_pid(pooled_connection))
        pooled_connection.close()  # what Django does when a request finishes
    assert len(pids) <= 2  # at most the pool's size; without the pool every request opens its own backend
    assert pooled_connection.pool.get_stats()["pool_size"] <= 2


def test_threads_at_the_same_time_get_different_connections(pooled_connection):
    settings_dict = pooled_connection.settings_dict
    both_in = threading.Barrier(2, timeout=10)
    pids: list[int] = []

    def request():
        wrapper = DatabaseWrapper(settings_dict, alias="pool_test")  # Django keeps one pool per alias and process
        try:
            pids.append(backend_pid(wrapper))
            both_in.wait()
        finally:
            wrapper.close()

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert len(set(pids)) == 2
