"""The messaging gateway's writes: enqueue, deliver exactly once, apply provider reports, sweep, resend, inbound.

Interface for other apps:

    from engage.messaging.services import message_enqueue
    message = message_enqueue(
        channel="sms" | "wechat_template" | "wechat_subscribe" | "wechat_once",
        to="+8613800138000" (E.164, SMS) or "<openid>" (WeChat),
        template_key="dose_reminder", params={...}, language="zh-hans" | "en",
        user=None, idempotency_key="dose:123",       # same key -> same message, sent once
        fallback_sms_to="+86..." or None,            # WeChat only: SMS if the user cannot be reached over WeChat
        purpose="dose_reminder",                     # free label for outcome handlers
    )

Outcomes: `engage.messaging.outcomes.register_outcome_handler`; replies: `engage.messaging.inbound`.

Delivery guarantees: a message is handed to the provider at most once. The sending task claims the row
(`UPDATE … WHERE status='queued'`) and writes `provider_call_started_at` (committed) before calling the provider.
Transient errors go back to `queued` with exponential backoff and jitter; permanent errors end in `failed`; a timeout
after the request left us ends in `unknown` and is never resent automatically. Status only moves forward
(queued → sending → unknown → sent → delivered | undelivered | failed), so late or repeated reports change nothing.
"""

import asyncio
import atexit
import json
import logging
import os
import random
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Case, CharField, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from engage.audit.services import audit_log
from engage.core.crypto import lookup_hash
from engage.core.errors import DomainError, PermissionDenied
from engage.core.inserts import insert_many_once, insert_once
from engage.core.jobs import enqueue_on_commit
from engage.core.prepared import planned_cursor, returned_instances
from engage.core.roles import Capability, can
from engage.messaging import conf, ratelimit
from engage.messaging.backends import SendError, async_clients_close, sms_backend
from engage.messaging.behind import Behind
from engage.messaging.inbound import Inbound, handlers
from engage.messaging.models import (
    FrequencyCap,
    FrequencyCapUse,
    InboundMessage,
    OutboundMessage,
    WeChatSubscribeChoice,
    WeChatSubscribeGrant,
    mask_recipient,
)
from engage.messaging.outcomes import outcome_changed, outcomes_gathered, register_outcome_handler  # noqa: F401  (re-exported)
from engage.messaging.templates import SECRET_MASK, get_template
from engage.messaging.wechat import wechat_sender

logger = logging.getLogger("engage.messaging")
Status = OutboundMessage.Status
Channel = OutboundMessage.Channel
Category = OutboundMessage.Category
CAP_TIME_ZONE = ZoneInfo("Asia/Shanghai")  # a doctor's day and week for the frequency cap

RANK = {
    Status.QUEUED: 0, Status.SENDING: 1, Status.UNKNOWN: 2, Status.SENT: 3,
    Status.DELIVERED: 4, Status.UNDELIVERED: 4, Status.FAILED: 4,
}
FINAL = {Status.DELIVERED, Status.UNDELIVERED, Status.FAILED}
RESENDABLE = {Status.FAILED, Status.UNDELIVERED, Status.UNKNOWN}
# Test hook: "after_claim" | "after_provider_call" | "before_sent_mark" (the writer of `_sent_marks`) kills the process
CRASH_ENV = "ENGAGE_MESSAGING_CRASH_AT"


def _crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os._exit(17)


def _dispatch(message_id: int, countdown: float | None = None) -> None:
    """Queues the sending task after commit. A lost dispatch (broker down) is rescued by the sweeper."""
    enqueue_on_commit("engage.messaging.tasks.message_deliver", message_id, countdown=countdown)


DELIVER_BATCH = 50  # messages per `messages_deliver` task


def _dispatch_many(message_ids: list[int], countdown: float | None = None) -> None:
    """Queues `messages_deliver` tasks of DELIVER_BATCH after commit; a lost one is rescued by the sweeper."""

    for i in range(0, len(message_ids), DELIVER_BATCH):
        enqueue_on_commit("engage.messaging.tasks.messages_deliver", message_ids[i:i + DELIVER_BATCH],
                          countdown=countdown)


def _preview(template_key: str, params: dict, language: str, channel: str) -> str:
    template = get_template(template_key)
    if channel != Channel.SMS and template.wechat_fields and not template.sms:
        return " / ".join(f["value"] for f in template.render_wechat(params).values())
    return template.render_sms(params, language)


@dataclass(frozen=True)
class MessageSpec:
    """One message for `messages_enqueue_many` (the same fields as `message_enqueue`'s arguments)."""

    channel: str
    to: str
    template_key: str
    params: dict
    idempotency_key: str
    language: str = "zh-hans"
    fallback_sms_to: str | None = None
    purpose: str = ""
    user_id: int | None = None
    category: str = OutboundMessage.Category.TRANSACTIONAL
    when_capped: str = OutboundMessage.WhenCapped.HOLD


def _outbox_row(spec: MessageSpec) -> OutboundMessage:
    """The unsaved outbox row of a spec, validated and rendered; refuses an unknown channel or no recipient."""
    if spec.channel not in Channel.values:
        raise DomainError("unknown_channel", _("Unknown message channel."))
    if spec.category not in Category.values or spec.when_capped not in OutboundMessage.WhenCapped.values:
        raise DomainError("unknown_category", _("Unknown message category."))
    to = (spec.to or "").strip()
    if not to:
        raise DomainError("recipient_missing", _("The message has no recipient."))
    template = get_template(spec.template_key)
    params = template.masked(dict(spec.params or {}))
    secrets = {k: v for k, v in (spec.params or {}).items() if k in template.secret_params}
    if any(value == SECRET_MASK for value in secrets.values()):  # a copy of a message whose secret was erased
        raise DomainError("message_secret_gone", _(
            "This message held a one-time secret that is no longer kept; the person must request a new one."))
    return OutboundMessage(
        channel=spec.channel,
        recipient=to,
        recipient_hash=lookup_hash(to),
        recipient_masked=mask_recipient(to),
        fallback_sms_to=(spec.fallback_sms_to or "") if spec.channel != Channel.SMS else "",
        user_id=spec.user_id,
        purpose=spec.purpose,
        category=spec.category,
        when_capped=spec.when_capped,
        template_key=spec.template_key,
        params=params,
        secret_params=json.dumps(secrets) if secrets else "",
        language=spec.language,
        rendered=_preview(spec.template_key, params, spec.language, spec.channel),
        idempotency_key=spec.idempotency_key or f"{spec.template_key}:{uuid.uuid4().hex}",
    )


def message_enqueue(
    *,
    channel: str,
    to: str,
    template_key: str,
    params: dict,
    language: str = "zh-hans",
    user=None,
    idempotency_key: str | None = None,
    fallback_sms_to: str | None = None,
    purpose: str = "",
    fallback_of: OutboundMessage | None = None,
    resend_of: OutboundMessage | None = None,
    category: str = OutboundMessage.Category.TRANSACTIONAL,
    when_capped: str = OutboundMessage.WhenCapped.HOLD,
    once_template_id: str = "",
    send_now: bool = False,
) -> OutboundMessage:
    """Records the message in the outbox and schedules its delivery after commit.

    `send_now`: someone is waiting for this message (a one-time code). Outside a transaction on PostgreSQL it is
    handed to its provider by this call (`_enqueue_and_send`), ahead of any queue and without the broker; anywhere
    else, or when the provider's rate limit has no token for it now, it takes the queued way.

    `wechat_once` (a one-time subscription message to `to`, an openid) spends one unspent authorisation of
    `once_template_id` in the same transaction; without one it raises `no_subscribe_grant` and writes nothing.

    The same idempotency key returns the existing message and schedules nothing: a message is sent once.
    `category` informational or promotional (with a `user`) counts against the doctor's frequency cap across
    WeChat and SMS; over the cap the message waits for the next allowed slot or, with `when_capped="drop"`, is
    dropped with the reason `frequency_cap`. Transactional messages are exempt.
    """
    message = _outbox_row(MessageSpec(
        channel=channel, to=to, template_key=template_key, params=params, idempotency_key=idempotency_key or "",
        language=language, fallback_sms_to=fallback_sms_to, purpose=purpose, category=category,
        when_capped=when_capped,
    ))
    message.user, message.fallback_of, message.resend_of = user, fallback_of, resend_of
    if send_now and _may_send_at_once(message):
        return _enqueue_and_send(message)
    # One INSERT … ON CONFLICT DO NOTHING (planned once per connection): a duplicate key leaves the caller's
    # transaction usable. A one-time message spends its authorisation in the same transaction as its row.
    with transaction.atomic() if channel == Channel.WECHAT_ONCE else nullcontext():
        inserted = insert_once(message, key="idempotency_key")
        if inserted and channel == Channel.WECHAT_ONCE:
            _subscribe_grant_spend(message, once_template_id)
    if not inserted:
        return OutboundMessage.objects.get(idempotency_key=message.idempotency_key)
    _dispatch(message.pk)
    return message


def _may_send_at_once(message: OutboundMessage) -> bool:
    """Whether `message` may be started in the statement that records it: PostgreSQL with no transaction open (its
    row must be committed before the call), a channel needing nothing else in that transaction, no frequency cap,
    and a provider that sends (not the development backend, whose outbox row is the delivery)."""
    return (connection.vendor == "postgresql" and not connection.in_atomic_block
            and message.channel != Channel.WECHAT_ONCE and not _may_be_capped(message)
            and (message.channel != Channel.SMS or getattr(sms_backend(), "sends_at_once", True)))


def _enqueue_and_send(message: OutboundMessage) -> OutboundMessage:
    """A message someone is waiting for, sent by the caller: the outbox row is recorded already claimed and
    start-marked (one durable INSERT: the commit-before-call rule holds) and the provider is called — no broker hop
    and no queue in front of it (a one-time code never waits behind a burst of reminders; with the broker down it
    still goes). A repeated idempotency key returns the recorded message and sends nothing.

    What the person at the form need not wait for is written a moment later by the process's writers, for all the
    callers of that moment at once (engage.messaging.behind): the `sent` mark (until then the row is a started row
    like any other in flight; the message object returned says `sent`) and the rate-limit charge. A code does not
    wait for a token: it is charged to the provider's bucket, into debt if need be, and the messages that can wait
    wait that out (`ratelimit.charge`); with Redis unreachable the charge is lost, the code still goes.
    A failure is settled at once, as on every path: a transient error requeues with backoff, an unknown outcome is
    never resent. A process dying after the INSERT (before the call, during it, or before the `sent` mark) leaves a
    started row that the sweeper marks `unknown`: never sent twice."""
    token, now = uuid.uuid4().hex, timezone.now()
    message.status, message.claim_token, message.claimed_at = Status.SENDING, token, now
    message.provider_call_started_at, message.attempts = now, 1
    if not insert_once(message, key="idempotency_key"):
        return OutboundMessage.objects.get(idempotency_key=message.idempotency_key)
    _crash_point("after_claim")
    _code_charges.put(provider_key(message))
    outcome = _provider_call(message)
    if isinstance(outcome, SendError | DomainError):
        with outcomes_gathered():
            _settle_alone([(message, outcome)], token)
        return message
    now = timezone.now()
    _sent_here(message, _provider_id(outcome), now, now)
    _sent_marks.put((message, outcome, now))
    return message


def _charge_codes(providers: list[str]) -> None:
    """The writer's batch of rate-limit charges: one request per provider."""
    for provider, tokens in Counter(providers).items():
        ratelimit.charge(provider, tokens)


# A lost charge costs the provider a message over its rate, no more: not retried (Redis down stays down a while).
_code_charges = Behind("rate-limit charges of one-time codes", apply=_charge_codes, retries=0)


def _subscribe_grant_spend(message: OutboundMessage, template_id: str) -> None:
    """Inside the message's insert: spends the oldest unspent one-time authorisation of its openid for
    `template_id` (locked, so two messages never spend one grant); none left raises `no_subscribe_grant` and the
    message is not written."""
    grant = (WeChatSubscribeGrant.objects.select_for_update(skip_locked=True)
             .filter(openid=message.recipient, template_id=template_id, used_at__isnull=True)
             .order_by("granted_at", "pk").first())
    if grant is None:
        raise DomainError("no_subscribe_grant", _("The doctor has not authorised a WeChat notice of this kind."))
    grant.used_at, grant.message = timezone.now(), message
    grant.save(update_fields=["used_at", "message"])


def messages_enqueue_many(specs: list[MessageSpec], *, dispatch: bool = True) -> dict[str, int]:
    """Records many messages in one statement on PostgreSQL (`insert_many_once`: an INSERT from one array per column;
    one INSERT per 1,000 elsewhere), `ON CONFLICT DO NOTHING` on the idempotency key, and
    returns {idempotency key: message id} for all of them, new or existing. With `dispatch`, the new and still
    queued ones are handed to `messages_deliver` tasks of DELIVER_BATCH after commit; without it the caller
    delivers them (`messages_deliver_now`) after its commit, and the sweeper does if the caller dies first.

    Validation is all or nothing: one bad spec raises before anything is written."""
    rows = [_outbox_row(spec) for spec in specs]
    if not rows:
        return {}
    keys = [row.idempotency_key for row in rows]
    with transaction.atomic():
        if connection.vendor == "postgresql":  # one statement of one text for any number of rows
            found = {key: (pk, Status.QUEUED) for key, pk in insert_many_once(rows, key="idempotency_key").items()}
        else:
            OutboundMessage.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
            found = {}
        if missing := [key for key in keys if key not in found]:  # keys that were there already: read back
            found.update({key: (pk, status) for key, pk, status in OutboundMessage.objects.filter(
                idempotency_key__in=missing).values_list("idempotency_key", "pk", "status")})
    if dispatch:
        _dispatch_many([pk for pk, status in found.values() if status == Status.QUEUED])
    return {key: pk for key, (pk, _status) in found.items()}


def _transition(message_id: int, status: str, *, claim_token: str | None = None, **fields) -> bool:
    """Moves a message forward to `status` in one conditional UPDATE; never backwards, never out of a final state.

    Returns whether it moved. Outcome handlers run after commit.
    """
    now = timezone.now()
    allowed_from = [s for s, rank in RANK.items() if rank < RANK[status] and s not in FINAL]
    query = OutboundMessage.objects.filter(pk=message_id, status__in=allowed_from)
    if claim_token is not None:
        query = query.filter(claim_token=claim_token)
    # the provider took it, or it will never be sent again automatically: its secrets are erased
    updates = {"status": status, "updated_at": now, "claim_token": "", "secret_params": "", **fields}
    if status == Status.SENT:
        updates.setdefault("sent_at", now)
    if status == Status.DELIVERED:
        updates.setdefault("delivered_at", now)
    if status in FINAL or status == Status.UNKNOWN:
        updates.setdefault("finished_at", now)
    moved = bool(query.update(**updates))
    if moved:
        outcome_changed(message_id, status)
    return moved


def _fallback_to_sms(message: OutboundMessage) -> OutboundMessage | None:
    """The SMS copy of a WeChat message that could not reach the person. `message` is the row as read before its
    final transition (which erased its secrets); a message whose secrets are gone gets no copy."""
    if message.channel == Channel.SMS or not message.fallback_sms_to:
        return None
    params = message.send_params()
    if SECRET_MASK in params.values():
        return None
    return message_enqueue(
        channel=Channel.SMS, to=message.fallback_sms_to, template_key=message.template_key, params=params,
        language=message.language, user=message.user, idempotency_key=f"{message.idempotency_key}:sms",
        purpose=message.purpose, fallback_of=message, category=message.category, when_capped=message.when_capped,
    )


def _call_provider(message: OutboundMessage):
    if message.channel == Channel.SMS:
        return sms_backend().send(
            message.recipient, message.template_key, message.send_params(), message.language,
            idempotency_key=message.idempotency_key, callback_query=f"m={message.pk}",
        )
    sender = wechat_sender()
    if message.channel == Channel.WECHAT_ONCE:
        grant = WeChatSubscribeGrant.objects.filter(message_id=message.pk).first()
        if grant is None:  # the doctor's account was closed meanwhile
            raise SendError("no_subscribe_grant", "The one-time authorisation is gone.", unreachable=True)
        return sender.send_once(message.recipient, message.template_key, message.send_params(),
                                template_id=grant.template_id, scene=grant.scene, language=message.language)
    send = sender.send_template if message.channel == Channel.WECHAT_TEMPLATE else sender.send_subscribe
    return send(message.recipient, message.template_key, message.send_params(), idempotency_key=message.idempotency_key)


def provider_key(message: OutboundMessage) -> str:
    """The rate-limit bucket: one per provider, shared by all workers."""
    if message.channel == Channel.SMS:
        from django.conf import settings
        from django.utils.module_loading import import_string

        return getattr(import_string(settings.ENGAGE_SMS_BACKEND), "provider", "sms")
    return "wechat"


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter: base·2^(n-1), capped, times a random factor in [0.5, 1.5)."""
    base = float(conf.get("ENGAGE_MESSAGE_RETRY_BASE_SECONDS"))
    cap = float(conf.get("ENGAGE_MESSAGE_RETRY_MAX_SECONDS"))
    return min(cap, base * 2 ** max(0, attempts - 1)) * (0.5 + random.random())


def _requeue(message_id: int, claim_token: str, delay: float, *, dispatch: bool = True, **fields) -> bool:
    now = timezone.now()
    moved = OutboundMessage.objects.filter(pk=message_id, status=Status.SENDING, claim_token=claim_token).update(
        status=Status.QUEUED, claim_token="", claimed_at=None, provider_call_started_at=None,
        next_attempt_at=now + timedelta(seconds=delay), updated_at=now, **fields,
    )
    if moved and dispatch:
        _dispatch(message_id, countdown=delay)
    return bool(moved)


def _provider_call(message: OutboundMessage):
    """The provider's answer: a SendResult, or the SendError / DomainError it ended with. Anything else that
    goes wrong once the request may have left us is an unknown outcome (never resent)."""
    try:
        outcome = _call_provider(message)
    except Exception as exc:
        outcome = _failure(message, exc)
    _crash_point("after_provider_call")
    return outcome


def _failure(message: OutboundMessage, exc: Exception):
    """The outcome a provider call that raised `exc` ends with (call it in the `except` block)."""
    if isinstance(exc, SendError | DomainError):
        return exc
    logger.exception("provider call for message %s failed unexpectedly", message.pk)
    return SendError("internal_error", f"{type(exc).__name__}: {exc}"[:500], kind=SendError.UNKNOWN)


def _async_send(message: OutboundMessage):
    """The backend's coroutine for this message's call, when it has one (twilio's asynchronous client)."""
    return getattr(sms_backend(), "send_async", None) if message.channel == Channel.SMS else None


async def _provider_call_async(message: OutboundMessage, pool: ThreadPoolExecutor | None):
    """`_provider_call` in the sender's event loop: natively where the backend can, else in a sender thread."""
    send = _async_send(message)
    if send is None:
        return await asyncio.get_running_loop().run_in_executor(pool, _provider_call_in_thread, message)
    try:
        outcome = await send(message.recipient, message.template_key, message.send_params(), message.language,
                             idempotency_key=message.idempotency_key, callback_query=f"m={message.pk}")
    except Exception as exc:
        outcome = _failure(message, exc)
    _crash_point("after_provider_call")
    return outcome


def _settle(message: OutboundMessage, outcome, claim_token: str) -> None:
    """Applies the provider's answer to a message whose call started (one-way: a late result still lands)."""
    if isinstance(outcome, SendError):
        error = {"error_code": outcome.code[:50], "error_message": str(outcome)[:2000]}
        if outcome.kind == SendError.TRANSIENT and message.attempts < int(conf.get("ENGAGE_MESSAGE_MAX_ATTEMPTS")):
            _requeue(message.pk, claim_token, retry_delay(message.attempts), **error)
        elif outcome.kind == SendError.UNKNOWN:
            _transition(message.pk, Status.UNKNOWN, **error)
        elif _transition(message.pk, Status.FAILED, **error) and outcome.unreachable:
            _fallback_to_sms(message)
    elif isinstance(outcome, DomainError):  # a template that cannot be rendered: nothing was sent, nothing will work
        _transition(message.pk, Status.FAILED, error_code=outcome.code[:50], error_message=str(outcome.message)[:2000])
    else:
        pid = (outcome.provider_message_id or "")[:100]
        if not _transition(message.pk, Status.SENT, provider_message_id=pid, error_code="", error_message="") and pid:
            # a status report overtook us (or the sweeper marked it unknown): keep the provider id anyway
            OutboundMessage.objects.filter(pk=message.pk, provider_message_id="").update(provider_message_id=pid)


def _settle_many(pending: list[tuple], claim_token: str) -> None:
    """`_settle` for a group: the accepted ones move to `sent` in one UPDATE, the others one by one."""
    accepted = [(m, o) for m, o in pending if not isinstance(o, SendError | DomainError)]
    for message, outcome in pending:
        if isinstance(outcome, SendError | DomainError):
            _settle(message, outcome, claim_token)
    if connection.vendor == "postgresql" and accepted:
        _mark_sent(accepted)
        return
    if len(accepted) < 2:
        for message, outcome in accepted:
            _settle(message, outcome, claim_token)
        return
    now = timezone.now()
    ids = {m.pk: (o.provider_message_id or "")[:100] for m, o in accepted}
    provider_id = Case(*[When(pk=pk, then=Value(pid)) for pk, pid in ids.items()], default=Value(""),
                       output_field=CharField())
    moved = OutboundMessage.objects.filter(pk__in=list(ids), status__in=SENT_FROM).update(
        status=Status.SENT, provider_message_id=provider_id, error_code="", error_message="", claim_token="",
        secret_params="", sent_at=now, updated_at=now)
    if moved == len(ids):
        moved_ids = set(ids)
    else:  # a status report overtook some: they keep their status, and get the provider id if they lack it
        moved_ids = set(OutboundMessage.objects.filter(pk__in=list(ids), status=Status.SENT, updated_at=now,
                                                       sent_at=now).values_list("pk", flat=True))
        _keep_provider_ids({pk: pid for pk, pid in ids.items() if pk not in moved_ids})
    for pk in moved_ids:
        outcome_changed(pk, Status.SENT)


# Statements that pick their rows by id say so to the planner: the other conditions sit inside `( … ) IS TRUE`, which
# no index can serve. In a burst (100,000 reminders in a minute) the statistics lag far behind the statuses: the
# planner took `status = 'sending'` for a hundred rows and scanned 27,000 entries of the status index beside the
# primary key, 4 ms for a start mark of 8 messages instead of 0.1.
SENT_FROM = [s for s, rank in RANK.items() if rank < RANK[Status.SENT] and s not in FINAL]
# The provider took these messages: `sent`, with the provider's ids, secrets erased; rows a status report (or the
# sweeper) moved past `sent` meanwhile are left alone. One statement, planned once per connection.
MARK_SENT_SQL = (
    'UPDATE "messaging_outboundmessage" AS m SET "status" = %s, '
    '"provider_message_id" = (%s::text[])[array_position(%s::int8[], m."id"::int8)], "error_code" = \'\', '
    '"error_message" = \'\', "claim_token" = \'\', "secret_params" = \'\', '
    '"sent_at" = (%s::timestamptz[])[array_position(%s::int8[], m."id"::int8)], "updated_at" = %s{relaxed} '
    'WHERE m."id" = ANY(%s::int8[]) AND (m."status" = ANY(%s)) IS TRUE RETURNING m."id"'
)
# Outside a transaction the statement's own commit does not wait for the disk (see `_unflushed_commit`).
RELAXED = " FROM (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed"


def _provider_id(outcome) -> str:
    return (outcome.provider_message_id or "")[:100]


def _sent_here(message: OutboundMessage, provider_id: str, sent_at: datetime, now: datetime) -> None:
    """The message object as `MARK_SENT_SQL` leaves its row."""
    message.status, message.provider_message_id, message.sent_at = Status.SENT, provider_id, sent_at
    message.error_code = message.error_message = message.claim_token = message.secret_params = ""
    message.updated_at = now


def _mark_sent(accepted: list[tuple], sent_at: dict[int, datetime] | None = None) -> None:
    """PostgreSQL: the accepted messages of a group to `sent` in one statement (`sent_at`: when each was, by id, if
    not now). Inside a transaction it joins it; alone it is its own transaction, committed without waiting for the
    disk. The handlers get the messages as this statement wrote them (the claimed rows with its changes) without
    reading them again."""
    now = timezone.now()
    ids = {m.pk: _provider_id(o) for m, o in accepted}
    times = {pk: (sent_at or {}).get(pk, now) for pk in ids}
    sql = MARK_SENT_SQL.format(relaxed="" if connection.in_atomic_block else RELAXED)
    with planned_cursor(connection) as cursor:
        cursor.execute(sql, [Status.SENT, list(ids.values()), list(ids), list(times.values()), list(ids), now,
                             list(ids), SENT_FROM])
        moved = {pk for (pk,) in cursor.fetchall()}
    if len(moved) != len(ids):  # a status report overtook some: they keep their status (and get the provider id)
        _keep_provider_ids({pk: pid for pk, pid in ids.items() if pk not in moved})
    for message, _outcome in accepted:
        if message.pk in moved:
            _sent_here(message, ids[message.pk], times[message.pk], now)
            outcome_changed(message.pk, Status.SENT, row=message)


def _write_sent_marks(marks: list[tuple]) -> None:
    """The writer's batch of one-time codes the provider took: their `sent` marks in one statement, each sent at the
    time its caller returned it `sent`."""
    _crash_point("before_sent_mark")
    with outcomes_gathered():
        _mark_sent([(m, o) for m, o, _at in marks], {m.pk: at for m, _o, at in marks})


_sent_marks = Behind("sent marks of one-time codes", apply=_write_sent_marks)


def codes_written(timeout: float | None = None) -> bool:
    """Waits until what the one-time codes this process sent left to its writers (their `sent` marks, their
    rate-limit charges) is written (tests; the writers also finish at exit)."""
    return all([_code_charges.flush(timeout), _sent_marks.flush(timeout)])


def _keep_provider_ids(ids: dict[int, str]) -> None:
    """Messages that moved on before their `sent` landed still get the provider's id if they lack one."""
    for pk, pid in ids.items():
        if pid:
            OutboundMessage.objects.filter(pk=pk, provider_message_id="").update(provider_message_id=pid)


CAPPED = {OutboundMessage.Category.INFORMATIONAL, OutboundMessage.Category.PROMOTIONAL}
CAP_LOCK_NAMESPACE = 0x46524551  # pg_advisory_xact_lock(namespace, user id): one doctor's cap at a time
HELD = "held_frequency_cap"
DROPPED = "frequency_cap"


def frequency_cap() -> FrequencyCap:
    return FrequencyCap.objects.get_or_create(pk=1)[0]


def _cap_period(now: datetime) -> tuple:
    local = timezone.localtime(now, CAP_TIME_ZONE)
    day = local.date()
    return day, day - timedelta(days=day.weekday())


def _cap_take(message: OutboundMessage) -> datetime | None:
    """Inside the sender's transaction: takes the next day and week slot of the message's doctor for a capped
    message (once; a retry keeps its slot). Returns None when the message may go, else when the next slot opens.
    Concurrent senders for one doctor wait on an advisory lock; the unique slots back the cap regardless."""
    if not _may_be_capped(message):
        return None
    if FrequencyCapUse.objects.filter(message_id=message.pk).exists() or (
            message.fallback_of_id and FrequencyCapUse.objects.filter(message_id=message.fallback_of_id).exists()):
        return None  # its slot was taken on an earlier attempt, or by the WeChat message it stands in for
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [CAP_LOCK_NAMESPACE, message.user_id])
    cap = frequency_cap()
    now = timezone.now()
    day, week = _cap_period(now)
    uses = FrequencyCapUse.objects.filter(user_id=message.user_id, week=week)
    week_count = uses.count()
    day_count = uses.filter(day=day).count()
    if week_count >= cap.per_week:
        return datetime.combine(week + timedelta(days=7), time.min, tzinfo=CAP_TIME_ZONE)
    if day_count >= cap.per_day:
        return datetime.combine(day + timedelta(days=1), time.min, tzinfo=CAP_TIME_ZONE)
    try:
        with transaction.atomic():
            FrequencyCapUse.objects.create(user_id=message.user_id, message_id=message.pk, day=day, week=week,
                                           day_slot=day_count + 1, week_slot=week_count + 1)
    except IntegrityError:  # another sender took that slot (only without the advisory lock): try again later
        return now + timedelta(minutes=1)
    return None


def _may_be_capped(message: OutboundMessage) -> bool:
    return message.category in CAPPED and bool(message.user_id)


def _capped(message: OutboundMessage, token: str, held_until: datetime) -> None:
    if message.when_capped == OutboundMessage.WhenCapped.DROP:
        _transition(message.pk, Status.FAILED, claim_token=token, error_code=DROPPED,
                    error_message=_("Dropped: the doctor reached the frequency cap for informational and promotional "
                                    "messages."))
        return
    delay = max(1.0, (held_until - timezone.now()).total_seconds())
    # No task countdown of days: the sweeper hands due queued rows to the workers.
    _requeue(message.pk, token, delay, dispatch=False, error_code=HELD,
             error_message=_("Held until %(time)s: the doctor reached the frequency cap.") % {
                 "time": timezone.localtime(held_until, CAP_TIME_ZONE).strftime("%Y-%m-%d %H:%M")})


@transaction.atomic
def frequency_cap_set(*, actor, per_day: int, per_week: int) -> FrequencyCap:
    """Compliance sets the cap; applies to messages not yet sent."""
    if not can(actor, Capability.MANAGE_MESSAGE_CAP):
        raise PermissionDenied("not_allowed", _("You may not change the message frequency cap."))
    if not (0 <= per_day <= 50 and 0 <= per_week <= 100):
        raise DomainError("invalid_cap", _("A cap is between 0 and 50 a day and 0 and 100 a week."))
    cap = FrequencyCap.objects.select_for_update().get_or_create(pk=1)[0]
    before = {"per_day": cap.per_day, "per_week": cap.per_week}
    cap.per_day, cap.per_week, cap.updated_by = per_day, per_week, actor
    cap.save()
    audit_log(actor=actor, action="messaging.frequency_cap_set", obj=cap, before=before,
              after={"per_day": per_day, "per_week": per_week})
    return cap


@contextmanager
def _unflushed_commit():
    """A transaction whose commit does not wait for the disk (PostgreSQL `synchronous_commit = off`; visibility and
    atomicity are unchanged). Only for the claim and for outcomes: the WAL is written in order, so the synchronous
    commit of any later start mark flushes them first, and a database crash that loses an outcome leaves its row
    `sending` with the start mark, which the sweeper turns into `unknown` (never resent). Inside a caller's
    transaction it is a plain savepoint."""
    relaxed = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if relaxed:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


CLAIM_SQL = (
    'UPDATE "messaging_outboundmessage" SET "status" = %s, "claim_token" = %s, "claimed_at" = %s, '
    '"provider_call_started_at" = NULL, "updated_at" = %s '
    "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed "
    'WHERE "messaging_outboundmessage"."id" = ANY(%s::int8[]) AND ("messaging_outboundmessage"."status" = %s '
    'AND ("messaging_outboundmessage"."next_attempt_at" IS NULL '
    'OR "messaging_outboundmessage"."next_attempt_at" <= %s)) IS TRUE RETURNING "messaging_outboundmessage".*'
)


def _claim(message_ids: list[int], token: str, now: datetime) -> list[OutboundMessage]:
    """Marks the queued, due messages among `message_ids` `sending` under `token` and returns them, in one unflushed
    commit. A copy of the task claiming at once waits for the row locks, then finds the rows taken."""
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + timedelta(seconds=1))
    fields = {"status": Status.SENDING, "claim_token": token, "claimed_at": now, "provider_call_started_at": None,
              "updated_at": now}
    ids = [int(pk) for pk in message_ids]
    if not ids:
        return []
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # One round trip: UPDATE … RETURNING, its own transaction, committed without waiting for the disk.
        with planned_cursor(connection) as cursor:  # planned once per connection; the ids sent as one array
            cursor.execute(CLAIM_SQL, [Status.SENDING, token, now, now, ids, Status.QUEUED,
                                       now + timedelta(seconds=1)])
            messages = returned_instances(OutboundMessage, cursor, cursor.fetchall(), statement=CLAIM_SQL)
        return sorted(messages, key=lambda m: m.pk)
    with _unflushed_commit():
        messages = list(OutboundMessage.objects.select_for_update().filter(due, pk__in=ids, status=Status.QUEUED)
                        .order_by("pk"))
        OutboundMessage.objects.filter(pk__in=[m.pk for m in messages]).update(**fields)
    for message in messages:
        for name, value in fields.items():
            setattr(message, name, value)
    return messages


MARK_STARTED_SQL = (
    'UPDATE "messaging_outboundmessage" SET "provider_call_started_at" = %s, "attempts" = "attempts" + 1, '
    '"updated_at" = %s WHERE "id" = ANY(%s::int8[]) AND ("status" = %s AND "claim_token" = %s) IS TRUE RETURNING "id"'
)


def _mark_started(messages: list[OutboundMessage], token: str) -> list[OutboundMessage]:
    """Writes the start mark of `messages` in one UPDATE (inside the caller's transaction); returns those still
    claimed by `token` (the sweeper may have requeued one meanwhile: someone else sends it)."""
    if not messages:
        return []
    mark = timezone.now()
    ids = [m.pk for m in messages]
    if connection.vendor == "postgresql":
        with planned_cursor(connection) as cursor:
            cursor.execute(MARK_STARTED_SQL, [mark, mark, ids, Status.SENDING, token])
            still = {pk for (pk,) in cursor.fetchall()}
    else:
        claimed = OutboundMessage.objects.filter(pk__in=ids, status=Status.SENDING, claim_token=token)
        count = claimed.update(provider_call_started_at=mark, attempts=F("attempts") + 1, updated_at=mark)
        still = set(ids) if count == len(ids) else set(
            claimed.filter(provider_call_started_at=mark).values_list("pk", flat=True))
    if len(still) != len(messages):
        messages = [m for m in messages if m.pk in still]
    for message in messages:
        message.attempts += 1
        message.provider_call_started_at = mark
    return messages


_senders: tuple[int, int, ThreadPoolExecutor] | None = None  # (pid, size, pool): threads do not survive a fork


def _sender_pool(size: int) -> ThreadPoolExecutor:
    global _senders
    if _senders is None or _senders[0] != os.getpid() or _senders[1] < size:
        _senders = (os.getpid(), size, ThreadPoolExecutor(max_workers=size, thread_name_prefix="engage-send"))
    return _senders[2]


def _provider_call_in_thread(message: OutboundMessage):
    try:
        return _provider_call(message)
    finally:
        connections.close_all()  # a provider that touched the database must not leave a connection per thread


_sending: tuple[int, asyncio.AbstractEventLoop] | None = None  # (pid, loop): threads do not survive a fork
_sending_lock = threading.Lock()


def _sender_loop() -> asyncio.AbstractEventLoop:
    """The process's event loop for provider calls in flight, running in a thread of its own: the asynchronous
    clients (and their open connections) live there for the life of the process, whichever thread asks."""
    global _sending
    with _sending_lock:
        if _sending is None or _sending[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="engage-send-loop", daemon=True).start()
            _sending = (os.getpid(), loop)
            atexit.register(_sender_loop_close, os.getpid(), loop)
        return _sending[1]


def _sender_loop_close(pid: int, loop: asyncio.AbstractEventLoop) -> None:
    """At exit: the open connections are closed in their loop, which then stops."""
    if pid == os.getpid() and loop.is_running():
        with suppress(Exception):
            asyncio.run_coroutine_threadsafe(async_clients_close(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)


def _provider_calls(messages: list[OutboundMessage]) -> list:
    """The outcomes of `messages`' provider calls, made at once in the process's sender loop: SMS on twilio's
    asynchronous client (one connection per call in flight, kept open), other channels in sender threads (their
    clients are synchronous). A single call is made in this thread with the synchronous client."""
    if len(messages) <= 1:
        return [_provider_call(message) for message in messages]
    pool = None if all(_async_send(m) for m in messages) else _sender_pool(len(messages))

    async def at_once():
        return await asyncio.gather(*(_provider_call_async(message, pool) for message in messages))

    return asyncio.run_coroutine_threadsafe(at_once(), _sender_loop()).result()


CLAIM_STARTED_SQL = (
    'UPDATE "messaging_outboundmessage" SET "status" = %s, "claim_token" = %s, "claimed_at" = %s, '
    '"provider_call_started_at" = %s, "attempts" = "attempts" + 1, "updated_at" = %s '
    'WHERE "id" = ANY(%s::int8[]) AND ("status" = %s AND ("next_attempt_at" IS NULL OR "next_attempt_at" <= %s) '
    'AND NOT ("category" = ANY(%s) AND "user_id" IS NOT NULL)) IS TRUE RETURNING *'
)


def _claim_started(ids: list[int], token: str, now: datetime) -> list[OutboundMessage]:
    """PostgreSQL, no transaction open: claims the queued, due messages among `ids` that no frequency cap can hold
    and writes their start marks, in one statement committed durably (planned once per connection). Returns them."""
    with planned_cursor(connection) as cursor:
        cursor.execute(CLAIM_STARTED_SQL, [Status.SENDING, token, now, now, now, ids, Status.QUEUED,
                                           now + timedelta(seconds=1), sorted(CAPPED)])
        messages = returned_instances(OutboundMessage, cursor, cursor.fetchall(), statement=CLAIM_STARTED_SQL)
    return sorted(messages, key=lambda m: m.pk)


def _tokens_for(messages: list[OutboundMessage]) -> tuple[list[OutboundMessage], float]:
    """Takes a rate-limit token per message, in order, until a provider's bucket is empty: the messages that may
    go now, and how long to wait before the next token (0 when all may go). One request per provider for the
    group; tokens taken for messages behind the first one held back are not used (the bucket is never overdrawn)."""
    keys = [provider_key(message) for message in messages]
    taken = {key: ratelimit.acquire_up_to(key, keys.count(key)) for key in dict.fromkeys(keys)}
    left = {key: granted for key, (granted, _wait) in taken.items()}
    for i, key in enumerate(keys):
        if left[key] == 0:
            return messages[:i], max(taken[key][1], 0.001)
        left[key] -= 1
    return messages, 0.0


def _give_back(messages: list[OutboundMessage], token: str, wait: float, **fields) -> None:
    """Claimed messages the rate limit holds back go back to `queued` and are dispatched again shortly."""
    delay = min(wait, 60.0) + random.random() * 0.5
    given_back = [m.pk for m in messages if _requeue(m.pk, token, delay, dispatch=False, **fields)]
    _dispatch_many(given_back, countdown=delay)


def _deliver_at_once(ids: list[int], token: str, in_flight: int) -> tuple[int, list[int]]:
    """A task of at most `in_flight` messages on PostgreSQL, outside a transaction: claim and start mark in one
    statement, the calls, the outcomes in one more. Returns the calls made and the ids it did not take (capped,
    not due, or not queued), which go the general way."""
    if not ids or len(ids) > in_flight or connection.vendor != "postgresql" or connection.in_atomic_block:
        return 0, ids
    started = _claim_started(ids, token, timezone.now())
    _crash_point("after_claim")
    taken = {message.pk for message in started}
    rest = [pk for pk in ids if pk not in taken]
    sendable, wait = _tokens_for(started)
    if wait > 0:  # the provider's bucket is empty: the others are given back unsent, the attempt not counted
        _give_back(started[len(sendable):], token, wait, attempts=F("attempts") - 1)
    if sendable:
        _settle_alone(list(zip(sendable, _provider_calls(sendable), strict=True)), token)
    return len(sendable), rest


def _settle_alone(pending: list[tuple], token: str) -> None:
    """The last group's outcomes, in a commit of their own that does not wait for the disk: all accepted, one
    statement on PostgreSQL."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block and not any(
            isinstance(outcome, SendError | DomainError) for _, outcome in pending):
        _mark_sent(pending)
        return
    with _unflushed_commit():
        _settle_many(pending, token)


def messages_deliver_now(*, message_ids: list[int]) -> int:
    """Claims the queued, due messages among `message_ids` at once and hands each to its provider at most once;
    messages already claimed, not yet due or finished are left alone. Returns how many provider calls were made.
    Called by the `messages_deliver` / `message_deliver` tasks, any number of times per message.

    Exactly once, per message: `provider_call_started_at` is committed (synchronously) before its provider call.
    Up to ENGAGE_MESSAGING_SENDS_IN_FLIGHT messages are started in one commit and sent at once; their outcomes are
    committed with the next group's start marks (the last group's on their own). A process that dies in between
    leaves claimed rows without a start mark (the sweeper requeues them) or at most one group of rows whose calls
    started (the sweeper marks them `unknown`, never resends them). When the provider's rate limit is exhausted
    the rest of the batch is given back and retried shortly. Outcome handlers hear about the whole batch at its
    end.

    A task of at most ENGAGE_MESSAGING_SENDS_IN_FLIGHT messages on PostgreSQL (a single message's task, the common
    case) claims and start-marks its messages in one statement (`_deliver_at_once`): one durable commit instead of
    two, three round trips per message in all. There is no claimed-but-not-started state on that path, so a process
    that dies right after that statement leaves its messages `unknown` (never resent), as one dying during the
    provider call does. Messages a frequency cap may hold take the general path, whose cap slot is taken in the
    start mark's transaction."""
    token = uuid.uuid4().hex
    in_flight = max(1, int(conf.get("ENGAGE_MESSAGING_SENDS_IN_FLIGHT")))
    with outcomes_gathered():
        calls, rest = _deliver_at_once([int(pk) for pk in message_ids], token, in_flight)
        if rest:
            calls += _deliver_in_groups(rest, token, in_flight)
    return calls


def _deliver_in_groups(message_ids: list[int], token: str, in_flight: int) -> int:
    """The general way: claim (unflushed), then per group of `in_flight` the previous group's outcomes, cap slots
    and start marks in one transaction, then the group's calls at once."""
    messages = _claim(message_ids, token, timezone.now())
    if not messages:
        return 0
    _crash_point("after_claim")
    pending: list[tuple] = []  # (message, outcome) of the last group, written with the next start marks
    calls = 0
    rest = messages
    try:
        while rest:
            group, wait = _tokens_for(rest[:in_flight])
            alone = not pending and wait <= 0 and not any(_may_be_capped(m) for m in group)
            with nullcontext() if alone else transaction.atomic():  # alone: one UPDATE, its own transaction
                _settle_many(pending, token)
                pending = []
                startable = []
                for message in group:
                    if (held_until := _cap_take(message)) is not None:
                        _capped(message, token, held_until)
                    else:
                        startable.append(message)
                started = _mark_started(startable, token)
                if wait > 0:  # the provider's bucket is empty: give the other claims back, try again shortly
                    _give_back(rest[len(group):], token, wait)
            rest = rest[len(group):] if wait <= 0 else []
            # From here on the provider may have these messages: their outcomes are applied by the one-way
            # state machine alone (the sweeper never requeues a row whose provider call started).
            calls += len(started)
            pending = list(zip(started, _provider_calls(started), strict=True))
    finally:
        if pending:
            _settle_alone(pending, token)
    return calls


def message_deliver_now(*, message_id: int) -> OutboundMessage | None:
    """One message through `messages_deliver_now`; returns it as it stands afterwards."""
    messages_deliver_now(message_ids=[message_id])
    return OutboundMessage.objects.filter(pk=message_id).first()


def message_status_report(
    *, channel: str, status: str, provider_message_id: str = "", message_id: int | None = None,
    error_code: str = "",
) -> OutboundMessage | None:
    """Applies a provider's delivery report as a one-way state machine. Unknown messages return None; duplicates
    and late reports (a `sent` after `delivered`) change nothing."""
    channels = [Channel.SMS] if channel == Channel.SMS else [Channel.WECHAT_TEMPLATE, Channel.WECHAT_SUBSCRIBE,
                                                              Channel.WECHAT_ONCE]
    query = OutboundMessage.objects.filter(channel__in=channels)
    if message_id is not None:
        query = query.filter(pk=message_id)
        if provider_message_id:
            query = query.filter(Q(provider_message_id=provider_message_id) | Q(provider_message_id=""))
    elif provider_message_id:
        query = query.filter(provider_message_id=provider_message_id)
    else:
        return None
    message = query.first()
    if message is None:
        return None
    with transaction.atomic():
        if provider_message_id and not message.provider_message_id:
            OutboundMessage.objects.filter(pk=message.pk, provider_message_id="").update(
                provider_message_id=provider_message_id[:100])
        fields = {"error_code": error_code[:50]} if error_code else {}
        moved = _transition(message.pk, status, **fields)
        if moved and status == Status.UNDELIVERED and message.channel != Channel.SMS and error_code in (
            "user_block", "43101"
        ):
            _fallback_to_sms(message)
    message.refresh_from_db()
    return message


def message_sweep(*, now: datetime | None = None, limit: int = 1000) -> dict[str, int]:
    """Rescues messages whose task was lost or whose worker died (the beat runs it every minute).

    - `sending` past the lease without a recorded provider call: never sent, so back to `queued` and re-dispatched;
    - `sending` past the lease after the provider call started: it may have been sent, so `unknown` (never resent);
    - `queued` and due for longer than the grace period: re-dispatched (the claim makes a duplicate task harmless).
    """
    now = now or timezone.now()
    lease = now - timedelta(seconds=int(conf.get("ENGAGE_MESSAGE_SENDING_LEASE_SECONDS")))
    grace = now - timedelta(seconds=int(conf.get("ENGAGE_MESSAGE_QUEUED_GRACE_SECONDS")))
    requeued = OutboundMessage.objects.filter(
        status=Status.SENDING, claimed_at__lt=lease, provider_call_started_at__isnull=True
    ).update(status=Status.QUEUED, claim_token="", claimed_at=None, next_attempt_at=grace, updated_at=now)
    unknown = 0
    for pk in OutboundMessage.objects.filter(
        status=Status.SENDING, claimed_at__lt=lease, provider_call_started_at__isnull=False
    ).values_list("pk", flat=True)[:limit]:
        unknown += _transition(pk, Status.UNKNOWN, error_code="lease_expired",
                               error_message="The worker stopped after calling the provider.")
    due = list(
        OutboundMessage.objects.filter(status=Status.QUEUED)
        .filter(Q(next_attempt_at__lte=grace) | Q(next_attempt_at__isnull=True, created_at__lte=grace))
        .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]
    )
    if due:  # the next sweep re-dispatches them only after another grace period
        OutboundMessage.objects.filter(pk__in=due, status=Status.QUEUED).update(
            next_attempt_at=min(now, timezone.now()))
        for pk in due:
            _dispatch(pk)
    return {"requeued": requeued, "unknown": unknown, "dispatched": len(due)}


def message_resend(*, message: OutboundMessage, actor, reason: str) -> OutboundMessage:
    """Staff resend a failed, undelivered or unknown message as a new message linked to the original; audited."""
    if not can(actor, Capability.RESEND_MESSAGES):
        raise PermissionDenied("messaging_resend_forbidden", _("Only staff may resend messages."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason_required", _("Give a reason for the resend."))
    message = OutboundMessage.objects.get(pk=message.pk)
    if message.status not in RESENDABLE:
        raise DomainError("message_not_resendable", _("Only failed, undelivered or unknown messages can be resent."))
    with transaction.atomic():
        number = message.resends.count() + 1
        copy = message_enqueue(
            channel=message.channel, to=message.recipient, template_key=message.template_key,
            params=message.send_params(), language=message.language, user=message.user,
            idempotency_key=f"resend:{message.pk}:{number}",
            fallback_sms_to=message.fallback_sms_to or None, purpose=message.purpose, resend_of=message,
        )
        audit_log(actor=actor, action="messaging.message_resend", obj=copy, reason=reason[:1000],
                  before={"message": message.pk, "status": message.status, "error_code": message.error_code},
                  after={"message": copy.pk, "status": copy.status})
    return copy


def inbound_receive(
    *, channel: str, sender: str, text: str, kind: str, provider_id: str, received_at: datetime | None = None,
    scene: str = "",
) -> tuple[InboundMessage, bool]:
    """Stores an inbound message once per provider id and runs the inbound handlers on the first sight.

    Returns (row, created). `row.reply` holds the reply to send back ("" for none); a duplicate returns the stored
    row without running the handlers again.
    """
    received_at = received_at or timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = InboundMessage.objects.create(
                    channel=channel, provider_id=provider_id[:200], sender=sender, sender_hash=lookup_hash(sender),
                    sender_masked=mask_recipient(sender), kind=kind, text=(text or scene)[:2000],
                    received_at=received_at,
                )
        except IntegrityError:
            return InboundMessage.objects.get(channel=channel, provider_id=provider_id[:200]), False
        inbound = Inbound(channel=channel, sender=sender, text=text, kind=kind, received_at=received_at,
                          provider_id=provider_id, scene=scene)
        reply = ""
        for handler in handlers():
            answer = handler(inbound)
            if answer and not reply:
                reply = str(answer)
        if reply:
            row.reply = reply[:1600]
            row.save(update_fields=["reply"])
    return row, True


SUBSCRIBE_SCENE_MAX = 10000


def subscribe_grant_record(*, user, openid: str, template_id: str, scene, action: str) -> WeChatSubscribeGrant | None:
    """What WeChat's one-time subscription page reported back: `confirm` records one authorisation of `template_id`
    under `scene` for `user` (a second confirm of the same unspent scene is the same grant: WeChat does not add them
    up); `cancel` records nothing. Audited either way. Bad values raise `invalid_subscribe` and write nothing."""
    openid, template_id = (openid or "").strip(), (template_id or "").strip()
    try:
        scene = int(scene)
    except (TypeError, ValueError):
        scene = -1
    if action not in ("confirm", "cancel") or not openid or len(openid) > 64 or not template_id \
            or len(template_id) > 64 or not 0 <= scene <= SUBSCRIBE_SCENE_MAX:
        raise DomainError("invalid_subscribe", _("WeChat did not confirm the subscription. Try again."))
    with transaction.atomic():
        grant = None
        if action == "confirm":
            grant = WeChatSubscribeGrant.objects.filter(openid=openid, template_id=template_id, scene=scene,
                                                        used_at__isnull=True).first()
            if grant is None:
                try:
                    with transaction.atomic():
                        grant = WeChatSubscribeGrant.objects.create(user=user, openid=openid, template_id=template_id,
                                                                    scene=scene)
                except IntegrityError:  # the same authorisation recorded by a parallel request
                    grant = WeChatSubscribeGrant.objects.get(openid=openid, template_id=template_id, scene=scene,
                                                             used_at__isnull=True)
        audit_log(actor=user, action="messaging.wechat_subscribe_grant", obj=grant or user,
                  after={"template_id": template_id, "scene": scene, "action": action})
    return grant


def subscribe_choices_record(*, openid: str, source: str, occurred_at: datetime,
                             items: list[dict]) -> list[WeChatSubscribeChoice]:
    """The subscription-notice pop-up or settings events of one callback: per item (`template_id`, `status`
    accept/reject, `popup_scene`) one history row; a repeated event (WeChat retries) adds nothing. Returns the rows
    written. The latest row per openid and template is the standing choice (`subscribe_choice`)."""
    rows = [
        WeChatSubscribeChoice(openid=openid[:64], template_id=item["template_id"][:64], status=item["status"],
                              source=source, popup_scene=str(item.get("popup_scene") or "")[:16],
                              occurred_at=occurred_at)
        for item in items
        if item.get("template_id") and item.get("status") in WeChatSubscribeChoice.Status.values
    ]
    if not openid or not rows:
        return []
    written = []
    with transaction.atomic():
        for row in rows:
            try:
                with transaction.atomic():
                    row.save(force_insert=True)
            except IntegrityError:
                continue
            written.append(row)
        if written:
            audit_log(actor=None, action="messaging.wechat_subscribe_choice", object_type="wechat.subscribe",
                      object_id=mask_recipient(openid),
                      after={"source": source, "choices": {row.template_id: row.status for row in written}})
    return written
