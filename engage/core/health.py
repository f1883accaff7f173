"""`/healthz`: each shared service answered within a short time, or the instance is degraded."""

import asyncio
import uuid

from asgiref.sync import async_to_sync
from celery import current_app as celery_app
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

TIMEOUT_SECONDS = 2.0


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def check_cache() -> str:
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        return "error: value did not round-trip"
    cache.delete(key)
    return "ok"


def check_channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        return "error: no channel layer configured"

    async def round_trip():
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "healthz"})
        message = await layer.receive(channel)
        return message.get("type") == "healthz"

    async def bounded():
        return await asyncio.wait_for(round_trip(), timeout=TIMEOUT_SECONDS)

    return "ok" if async_to_sync(bounded)() else "error: message lost"


def check_broker() -> str:
    with celery_app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
    return "ok"


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "channel_layer": check_channel_layer,
    "broker": check_broker,
}


def run_checks() -> dict[str, str]:
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:  # a health check reports failures, it never raises them
            results[name] = f"error: {type(exc).__name__}"
    return results


@never_cache
@require_GET
def healthz(request):
    checks = run_checks()
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks}, status=200 if healthy else 503
    )
