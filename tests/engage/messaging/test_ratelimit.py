"""The per-provider token bucket lives in Redis and is shared by every worker process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis.commands.core
from django.conf import settings as django_settings

from engage.messaging import ratelimit
from engage.messaging.models import OutboundMessage
from engage.messaging.services import message_deliver_now, message_enqueue, messages_deliver_now
from tests.engage.messaging.fixtures_templates import PARAMS

ROOT = Path(__file__).resolve().parents[3]
# Refills one token per ~3 hours: within a test the bucket holds exactly its burst.
SLOW = {"sms": (0.0001, 5), "wechat": (0.0001, 3)}

TAKE = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engage.settings.test")
django.setup()
from django.conf import settings
settings.ENGAGE_MESSAGING_RATE_LIMITS = {"sms": (0.0001, 5)}
from engage.messaging.ratelimit import acquire
print(sum(1 for _ in range(10) if acquire("sms") == 0.0))
"""


def test_two_processes_share_one_bucket(settings):
    settings.ENGAGE_MESSAGING_RATE_LIMITS = SLOW
    env = {**os.environ, "REDIS_URL": django_settings.REDIS_URL}
    processes = [subprocess.Popen([sys.executable, "-c", TAKE], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in processes]
    taken = [int(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(taken) == 5  # the burst, split between the two processes however they raced
    assert ratelimit.acquire("sms") > 0  # and this process sees the bucket empty too


def test_buckets_are_per_provider_and_unlimited_when_unconfigured(settings):
    settings.ENGAGE_MESSAGING_RATE_LIMITS = SLOW
    assert [ratelimit.acquire("wechat") for _ in range(4)][:3] == [0.0, 0.0, 0.0]
    assert ratelimit.acquire("wechat") > 0
    assert ratelimit.acquire("sms") == 0.0
    assert all(ratelimit.acquire("outbox") == 0.0 for _ in range(50))


@pytest.mark.django_db
def test_empty_bucket_reschedules_instead_of_sending(fake_twilio, settings):
    settings.ENGAGE_MESSAGING_RATE_LIMITS = {"sms": (0.0001, 2)}
    messages = [message_enqueue(channel="sms", to=f"+861380013800{i}", template_key="test_reminder",
                                params=PARAMS, idempotency_key=f"rl{i}") for i in range(3)]
    results = [message_deliver_now(message_id=m.pk) for m in messages]
    assert [r.status for r in results] == ["sent", "sent", "queued"]
    held = results[2]
    assert held.attempts == 0 and held.next_attempt_at is not None and held.provider_call_started_at is None
    assert len(fake_twilio.sent) == 2
    assert held.status == OutboundMessage.Status.QUEUED


def test_a_group_takes_what_the_bucket_holds_in_one_request(settings):
    settings.ENGAGE_MESSAGING_RATE_LIMITS = SLOW
    assert ratelimit.acquire_up_to("sms", 3) == (3, 0.0)
    granted, wait = ratelimit.acquire_up_to("sms", 4)  # two left of the burst of five
    assert granted == 2 and wait > 3600  # the next token, about three hours away at this rate
    assert ratelimit.acquire_up_to("sms", 1)[0] == 0
    assert ratelimit.acquire("wechat", 4) > 0 and ratelimit.acquire_up_to("wechat", 4)[0] == 3  # all or none
    assert ratelimit.acquire_up_to("outbox", 500) == (500, 0.0)  # no limit configured


@pytest.mark.django_db
def test_a_group_in_flight_sends_as_many_as_the_bucket_holds_and_gives_back_the_rest(fake_twilio, settings,
                                                                                      monkeypatch):
    settings.ENGAGE_MESSAGING_RATE_LIMITS = {"sms": (0.0001, 3)}
    ids = [message_enqueue(channel="sms", to=f"+861380013801{i}", template_key="test_reminder", params=PARAMS,
                           idempotency_key=f"rlg{i}").pk for i in range(5)]
    assert message_deliver_now(message_id=ids[0]).status == "sent"  # one token of three
    requests = []  # the Redis client's script calls (the library's, watched, not replaced)
    call = redis.commands.core.Script.__call__
    monkeypatch.setattr(redis.commands.core.Script, "__call__",
                        lambda script, *args, **kwargs: requests.append(kwargs) or call(script, *args, **kwargs))
    assert messages_deliver_now(message_ids=ids[1:]) == 2
    assert len(requests) == 1  # one request for the group of four, not one per message
    rows = {m.pk: m for m in OutboundMessage.objects.filter(pk__in=ids)}
    assert [rows[pk].status for pk in ids] == ["sent", "sent", "sent", "queued", "queued"]
    assert all(rows[pk].attempts == 0 and rows[pk].provider_call_started_at is None for pk in ids[3:])
    assert len(fake_twilio.sent) == 3


def test_a_charge_takes_tokens_whatever_the_bucket_holds_down_to_a_debt_of_one_burst(settings):
    settings.ENGAGE_MESSAGING_RATE_LIMITS = SLOW  # sms: a burst of five
    ratelimit.charge("sms", 3)
    assert ratelimit.acquire_up_to("sms", 5)[0] == 2  # what the charge left
    ratelimit.charge("sms", 2)  # two more: the bucket owes them
    granted, wait = ratelimit.acquire_up_to("sms", 1)
    assert granted == 0 and wait > 2 * 3 * 3600  # the debt is waited out before the next token
    assert ratelimit.acquire("sms") > 0
    ratelimit.charge("sms", 50)
    tokens = float(ratelimit.redis_client().hget(ratelimit.bucket_key("sms"), "tokens"))
    assert tokens == pytest.approx(-5, abs=0.01)  # never more than one burst in debt
    ratelimit.charge("outbox", 10)  # no limit configured: nothing to charge, no error
