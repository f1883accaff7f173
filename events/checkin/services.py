"""Check-in: the one place a ticket is checked in (scanner page, scanner devices, manual search, self check-in).

Every attempt is a Scan row, failed ones too. Exactly one active CheckIn per ticket is kept by the partial unique
constraint `checkin_one_per_ticket` (a scan reads, then writes in one statement; the loser of a race is answered
again as `already_checked_in`). A repeated client nonce is the same scan: it returns the stored answer and writes
nothing. The attendance credit follows from one sweep per meeting (`attendance_credit_sweep`).
"""

import hashlib
import hmac
import json
import logging
import re
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from engage.audit.models import AuditEntry
from engage.audit.services import audit_entry, audit_log
from engage.core.errors import Conflict, DomainError, PermissionDenied
from engage.core.geo import distance_m
from engage.core.inserts import insert_together, require_columns
from engage.core.jobs import enqueue_coalesced, enqueue_now
from engage.core.prepared import INT_PK_MAX, Prepared, planned_cursor
from engage.core.times import local_text
from events.checkin.models import CheckIn, Scan
from events.checkin.selectors import (
    can_manage_checkins,
    checkin_window,
    event_counters,
    in_checkin_scope,
    registration_card,
)
from events.pages.models import EventPage
from events.pages.selectors import EventUse, access_event
from events.registrations.models import Registration, Ticket
from members.engagement.models import EngagementKind
from members.engagement.services import engagement_record
from members.points.services import points_award, points_award_reverse

logger = logging.getLogger(__name__)
ATTEND_RULE = "attend_meeting"
RAW_INPUT_MAX = 500
# Ticket secrets are short random strings of letters and digits; anything else cannot be one and is never
# looked up (a NUL byte, for one, would make PostgreSQL refuse the query).
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")
STEP_RE = re.compile(r"[0-9]{1,12}")
PK_MAX = INT_PK_MAX  # a registration id beyond PostgreSQL's integer is no registration
CHECKIN_ONCE = "checkin_one_per_ticket"
HTTP_STATUS = {
    Scan.Result.OK: 201,
    Scan.Result.ALREADY: 409,
    Scan.Result.INVALID: 404,
    Scan.Result.REVOKED: 400,
    Scan.Result.WRONG_EVENT: 400,
    Scan.Result.NOT_APPROVED: 400,
    Scan.Result.OUTSIDE_WINDOW: 400,
    Scan.Result.OUTSIDE_RADIUS: 400,
    Scan.Result.POSITION_REQUIRED: 400,
    Scan.Result.EXPIRED_CODE: 400,
}


# The on-site code for self check-in: a new one every STEP seconds, each accepted for VALID seconds.
ONSITE_STEP_SECONDS = 20
ONSITE_VALID_SECONDS = 60


@dataclass(frozen=True)
class CheckinResult:
    status: str
    http_status: int
    body: dict = field(default_factory=dict)
    replayed: bool = False  # the answer stored for a repeated nonce

    @property
    def ok(self) -> bool:
        return self.status == Scan.Result.OK


def live_group(event_id: int) -> str:
    return f"event-live-{event_id}"


def _clean(value, limit: int) -> str:
    return str(value or "").replace("\x00", "").strip()[:limit]


def _coordinate(value, limit: int) -> Decimal | None:
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001"))
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() and abs(number) <= limit else None


def _replay(event: EventPage, nonce: str) -> CheckinResult | None:
    scan = Scan.objects.filter(event=event, nonce=nonce).only("result", "http_status", "response").first()
    if scan is None:
        return None
    return CheckinResult(scan.result, scan.http_status, dict(scan.response), replayed=True)


def _decide(*, event: EventPage, ticket: Ticket | None, now: datetime) -> tuple[str, datetime | None]:
    """The result for a ticket read with `_ticket`, and when it was checked in if it is."""
    if ticket is None:
        return Scan.Result.INVALID, None
    if ticket.event_id != event.pk:
        return Scan.Result.WRONG_EVENT, None
    if ticket.revoked_at is not None:
        return Scan.Result.REVOKED, None
    if ticket.registration.status != Registration.Status.CONFIRMED:
        return Scan.Result.NOT_APPROVED, None
    if ticket.checked_in_at is not None:
        return Scan.Result.ALREADY, ticket.checked_in_at
    opens, closes = checkin_window(event)
    if not opens <= now <= closes:
        return Scan.Result.OUTSIDE_WINDOW, None
    return Scan.Result.OK, None


def _body(result: str, *, ticket: Ticket | None, checked_in_at: datetime | None) -> dict:
    body: dict = {"status": str(result)}
    if ticket is not None and result != Scan.Result.WRONG_EVENT:
        body["registration"] = registration_card(ticket.registration)
    if checked_in_at is not None:
        body["checked_in_at"] = checked_in_at.isoformat()
        body["checked_in_at_local"] = local_text(checked_in_at, "Y-m-d H:i:s")  # what the scanner shows
    return body


def _scan(*, event, ticket, result, body, staff, method, device, nonce, client_time, ip, raw_input, latitude,
          longitude) -> Scan:
    return Scan(
        event=event, ticket=ticket, staff=staff if getattr(staff, "is_authenticated", False) else None,
        method=method, device=device, nonce=nonce, raw_input=raw_input, result=result,
        http_status=HTTP_STATUS[result], response=body, client_time=client_time, ip_address=ip,
        latitude=latitude, longitude=longitude,
    )


def _record(**fields) -> Scan:
    """Writes the scan row of a refused attempt (one statement; a repeated nonce raises IntegrityError)."""
    [scan] = insert_together(_scan(**fields))
    return scan


# What a scan reads of the ticket and what comes with it: the decision (`_decide`), the answer
# (`registration_card`) and the audit entry's name of the check-in (`str(registration)`), nothing more. A
# meeting page has some fifty columns and the doctor's user twenty: read whole, turning them into instances cost a
# scan more Python than everything else it reads (measured: 320 → 190 µs per read). Anything else the door comes
# to need must be added here: a field left out is read by a query of its own (the tests count the statements).
_DOOR_COLUMNS = [
    "id", "event", "registration", "secret", "revoked_at",
    "registration__event", "registration__doctor", "registration__status",
    *(f"registration__doctor__{name}" for name in ("display_name", "first_name", "last_name", "mobile", "email",
                                                    "username")),
    *(f"registration__doctor__doctor_profile__{name}" for name in ("user", "real_name", "title", "hospital__name",
                                                                    "department__name")),
]
_DOOR_EVENT_COLUMNS = [  # checkin_window, str(registration), the counters' push
    f"event__{name}" for name in ("title", "starts_at", "ends_at", "checkin_opens_minutes", "checkin_closes_at")
]


def _tickets(*, at_event: bool, **match):
    # The first active check-in rides along: the decision needs nothing more from the database.
    active = CheckIn.objects.filter(ticket=OuterRef("pk"), annulled_at__isnull=True).order_by("checked_in_at", "pk")
    related = ["registration__doctor__doctor_profile__hospital", "registration__doctor__doctor_profile__department"]
    return (Ticket.objects.filter(**match)
            .select_related(*(["event"] if at_event else []), *related)
            .only(*_DOOR_COLUMNS, *(_DOOR_EVENT_COLUMNS if at_event else []))
            .annotate(checked_in_at=Subquery(active.values("checked_in_at")[:1]))[:1])


# The door's hot reads, compiled once per process (engage.core.prepared). The scanner names the meeting and nearly
# always it is the ticket's: the first read asks for the ticket AT that meeting, with the meeting, so the meeting
# needs no read of its own. The meeting is matched on the given id, never only through the ticket's column: joined
# through the ticket alone, PostgreSQL may plan a merge join along the page table's primary key, which its
# statistics say stops early (the tickets' meetings they have seen are old pages) but which reads the whole page
# table for a new meeting — measured at 100–130 ms a scan with 100,000 articles. Only a ticket not found there is
# looked for anywhere (another meeting's: `wrong_event`), without its meeting.
_ticket_at_by_secret = Prepared(Ticket, lambda secret, event: _tickets(secret=secret, event_id=event, at_event=True),
                                secret=str, event=int)
_ticket_at_by_registration = Prepared(
    Ticket, lambda registration, event: _tickets(registration_id=registration, event_id=event, at_event=True),
    registration=int, event=int)
_ticket_by_secret = Prepared(Ticket, lambda secret: _tickets(secret=secret, at_event=False), secret=str)
_ticket_by_registration = Prepared(Ticket, lambda registration: _tickets(registration_id=registration,
                                                                         at_event=False), registration=int)


def _lost_race(exc: IntegrityError, ticket: Ticket) -> bool:
    """Whether `exc` is `checkin_one_per_ticket` refusing this scan's check-in (named by PostgreSQL; elsewhere
    an active check-in of the ticket says so)."""
    diagnosis = getattr(exc.__cause__, "diag", None)
    if diagnosis is not None:
        return diagnosis.constraint_name == CHECKIN_ONCE
    return CheckIn.objects.filter(ticket=ticket, annulled_at__isnull=True).exists()


def _ticket(*, secret: str, registration_id: int | None, event_id) -> Ticket | None:
    """The ticket scanned (`secret`) or chosen (`registration_id`) with its registration, doctor and profile and
    `checked_in_at` (its active check-in's time, or None); None when there is none. A ticket of meeting `event_id`
    comes with its meeting (`Ticket.event.is_cached`), in one read; one of another meeting without it."""
    if registration_id is not None:
        if not (isinstance(registration_id, int) and 0 < registration_id <= PK_MAX):
            return None
        at, anywhere, match = _ticket_at_by_registration, _ticket_by_registration, {"registration": registration_id}
    else:
        if not SECRET_RE.fullmatch(secret):
            return None
        at, anywhere, match = _ticket_at_by_secret, _ticket_by_secret, {"secret": secret}
    ticket = at.first(event=event_id, **match) if isinstance(event_id, int) and 0 < event_id <= PK_MAX else None
    if ticket is None:
        return anywhere.first(**match)
    if ticket.registration.event_id == ticket.event_id:
        ticket.registration.event = ticket.event  # str(registration) in the audit entry: no query for the meeting
    return ticket


_UNREAD = object()


def _checkin_statement() -> str:
    scan, checkin, audit = Scan._meta.db_table, CheckIn._meta.db_table, AuditEntry._meta.db_table
    require_columns({
        Scan: ["event_id", "ticket_id", "staff_id", "method", "device", "nonce", "raw_input", "result", "http_status",
               "response", "server_time", "client_time", "ip_address", "latitude", "longitude"],
        CheckIn: ["ticket_id", "event_id", "registration_id", "scan_id", "method", "checked_in_at", "annulled_at",
                  "annulled_by_id", "annul_reason", "credited_at"],
        AuditEntry: ["created_at", "actor_id", "actor_label", "action", "object_type", "object_id", "object_repr",
                     "before", "after", "reason", "ip_address", "user_agent"],
    })
    # Table names from the models; every value a parameter.
    return f"""WITH scan AS (
    INSERT INTO "{scan}" ("event_id", "ticket_id", "staff_id", "method", "device", "nonce", "raw_input", "result",
                          "http_status", "response", "server_time", "client_time", "ip_address", "latitude",
                          "longitude")
    VALUES (%(event)s, %(ticket)s, %(staff)s, %(method)s, %(device)s, %(nonce)s, %(raw_input)s, %(result)s,
            %(http_status)s, %(response)s::jsonb, %(now)s, %(client_time)s, %(ip)s, %(latitude)s, %(longitude)s)
    RETURNING "id"
), checkin AS (
    INSERT INTO "{checkin}" ("ticket_id", "event_id", "registration_id", "scan_id", "method", "checked_in_at",
                             "annulled_at", "annulled_by_id", "annul_reason", "credited_at")
    SELECT %(ticket)s, %(event)s, %(registration)s, "id", %(method)s, %(now)s, NULL, NULL, '', NULL FROM scan
    RETURNING "id", "scan_id"
), audit AS (
    INSERT INTO "{audit}" ("created_at", "actor_id", "actor_label", "action", "object_type", "object_id",
                           "object_repr", "before", "after", "reason", "ip_address", "user_agent")
    SELECT %(now)s, %(actor_id)s, %(actor_label)s, %(action)s, %(object_type)s, "id"::text, %(object_repr)s, NULL,
           jsonb_set(%(after)s::jsonb, '{{scan}}', to_jsonb("scan_id")), '', %(audit_ip)s, %(user_agent)s
    FROM checkin
)
SELECT "id", "scan_id" FROM checkin"""  # noqa: S608


_CHECKIN_STATEMENT: list[str] = []  # built on first use, once the models are loaded


def _check_in(*, event: EventPage, ticket: Ticket, body: dict, now: datetime, staff, method: str, device: str,
              nonce: str, client_time, ip, raw_input: str, latitude, longitude) -> None:
    """A successful scan's rows — the scan, the check-in and its audit entry — in ONE statement and round trip on
    PostgreSQL, their keys drawn by the statement itself (elsewhere through `insert_together`); all or none. The
    same rows either way. `checkin_one_per_ticket` refusing the check-in raises IntegrityError."""
    scan_fields = {"staff": staff, "method": method, "device": device, "nonce": nonce, "client_time": client_time,
                   "ip": ip, "raw_input": raw_input, "latitude": latitude, "longitude": longitude}
    result = Scan.Result.OK
    checkin = CheckIn(ticket=ticket, event=event, registration=ticket.registration, method=method, checked_in_at=now)
    after = {"ticket": ticket.pk, "method": method, "device": device, "scan": None}
    if connection.vendor != "postgresql":
        scan = _scan(event=event, ticket=ticket, result=result, body=body, **scan_fields)
        scan.server_time = now
        checkin.scan = scan
        insert_together(scan, checkin, lambda: audit_entry(actor=staff, action="event.checkin", obj=checkin,
                                                           ip_address=ip, after=after | {"scan": scan.pk}))
        return
    entry = audit_entry(actor=staff, action="event.checkin", object_type=CheckIn._meta.label_lower, ip_address=ip)
    values = {
        "event": event.pk, "ticket": ticket.pk, "registration": ticket.registration_id,
        "staff": staff.pk if getattr(staff, "is_authenticated", False) else None, "method": method,
        "device": device, "nonce": nonce, "raw_input": raw_input, "result": result,
        "http_status": HTTP_STATUS[result], "response": json.dumps(body), "now": now, "client_time": client_time,
        "ip": ip, "latitude": latitude, "longitude": longitude,
        "actor_id": entry.actor_id, "actor_label": entry.actor_label, "action": entry.action,
        "object_type": entry.object_type, "object_repr": str(checkin)[:300], "after": json.dumps(after),
        "audit_ip": entry.ip_address, "user_agent": entry.user_agent,
    }
    if not _CHECKIN_STATEMENT:
        _CHECKIN_STATEMENT.append(_checkin_statement())
    # Inside a transaction a refused statement would abort it: a savepoint keeps the caller's transaction usable.
    with (transaction.atomic() if connection.in_atomic_block else nullcontext(),
          planned_cursor(connection) as cursor):
        cursor.execute(_CHECKIN_STATEMENT[0], values)


class _CheckedInMeanwhile(Exception):
    """Another scan of the same ticket wrote its check-in between this scan's read and its write."""


def _attempt(*, event: EventPage, secret: str, registration_id: int | None, scan_fields: dict,
             ticket=_UNREAD) -> CheckinResult:
    """One read and one write, without a transaction around them: the write is one statement (the scan row, and
    for a check-in also the check-in and its audit entry), and the partial unique constraint
    `checkin_one_per_ticket` refuses a second active check-in, whoever reads first. The losing scan of a race
    raises `_CheckedInMeanwhile` and is tried again: it then answers `already_checked_in`."""
    now = timezone.now()
    if ticket is _UNREAD:  # `ticket`: as checkin_perform read it to find the meeting
        ticket = _ticket(secret=secret, registration_id=registration_id, event_id=event.pk)
    # A doctor outside the scanner's check-in scope (a rep: not of their quota) answers like an unknown code and
    # the answer tells nothing about them; the Scan row keeps the ticket, for the log.
    shown = ticket if ticket is None or in_checkin_scope(user=scan_fields["staff"],
                                                         registration=ticket.registration) else None
    result, first_at = _decide(event=event, ticket=shown, now=now)
    body = _body(result, ticket=shown, checked_in_at=now if result == Scan.Result.OK else first_at)
    if result != Scan.Result.OK:
        _record(event=event, ticket=ticket, result=result, body=body, **scan_fields)
        return CheckinResult(result, HTTP_STATUS[result], body)
    try:
        _check_in(event=event, ticket=ticket, body=body, now=now, **scan_fields)
    except IntegrityError as exc:
        if _lost_race(exc, ticket):
            raise _CheckedInMeanwhile from exc
        raise
    # A worker pays the credit: the scanner at the door waits only for the check-in itself, and a burst of
    # check-ins sends one sweep per meeting per moment, not one task each.
    transaction.on_commit(lambda: enqueue_coalesced(CREDIT_SWEEP_TASK, (event.pk,), delay=CREDIT_SWEEP_DELAY,
                                                    window=CREDIT_SWEEP_WINDOW), robust=True)
    transaction.on_commit(lambda: _push_coalesced(event), robust=True)
    return CheckinResult(result, HTTP_STATUS[result], body)


def checkin_perform(
    *,
    event: EventPage | None = None,
    event_id: int | None = None,
    secret: str = "",
    registration_id: int | None = None,
    staff,
    method: str = Scan.Method.API,
    device: str = "",
    nonce: str = "",
    client_time: datetime | None = None,
    ip: str | None = None,
    raw_input: str | None = None,
    latitude=None,
    longitude=None,
) -> CheckinResult:
    """Checks the ticket with `secret` (scanned) or of the registration `registration_id` (chosen from the
    search) in at `event` and says how it went; never raises for bad input. Given `event_id` instead of `event`,
    it checks that `staff` may work on site there (`access_event`, NotFound / PermissionDenied before anything
    is written), taking the meeting from the ticket's read when it is the ticket's: no read of its own. A ticket
    whose doctor is outside `staff`'s check-in scope (`checkin_scope`: a rep checks in only the doctors of their
    own quota) answers `invalid`, as an unknown code does.

    Guarantees: one Scan row per attempt (none for a repeated nonce, which returns the first answer); at most
    one active CheckIn per ticket whatever the concurrency; on success the attendance credit (points rule
    `attend_meeting`, engagement event) and the live counters follow after commit.
    """
    if registration_id is not None and raw_input is None:
        raw_input = f"registration:{registration_id}"  # never the secret: the chooser did not see it
    raw = _clean(secret if raw_input is None else raw_input, RAW_INPUT_MAX)
    secret = _clean(secret, 100)
    nonce = _clean(nonce, 100)
    if method not in Scan.Method.values:
        method = Scan.Method.API
    scan_fields = {
        "staff": staff, "method": method, "device": _clean(device, 100), "nonce": nonce,
        "client_time": client_time if isinstance(client_time, datetime) and client_time.tzinfo else None,
        "ip": ip or None, "raw_input": raw,
        "latitude": _coordinate(latitude, 90), "longitude": _coordinate(longitude, 180),
    }
    first_read = {}
    if event is None:
        try:
            event_id = int(event_id)
        except (TypeError, ValueError):
            event_id = 0
        ticket = _ticket(secret=secret, registration_id=registration_id, event_id=event_id)
        event = access_event(user=staff, event_id=event_id, use=EventUse.ON_SITE,
                             read=ticket.event if ticket is not None and Ticket.event.is_cached(ticket) else None)
        first_read = {"ticket": ticket}
    try:
        try:
            return _attempt(event=event, secret=secret, registration_id=registration_id, scan_fields=scan_fields,
                            **first_read)
        except _CheckedInMeanwhile:  # the ticket was checked in by a concurrent scan: this one now says so
            return _attempt(event=event, secret=secret, registration_id=registration_id, scan_fields=scan_fields)
    except IntegrityError:
        # The nonce was used before (a retry), or by a concurrent request that committed first: the unique
        # constraint refused this scan's row, everything it wrote was rolled back, and the first answer stands.
        # No read before the attempt: a fresh scan (nearly all of them) pays no round trip for the rare retry.
        if nonce and (replay := _replay(event, nonce)):
            return replay
        raise


CREDIT_SWEEP_TASK = "events.registrations.tasks.attendance_credit_sweep_task"
CREDIT_SWEEP_DELAY = 2.0  # seconds after the first check-in of a burst
CREDIT_SWEEP_WINDOW = 1.0  # later check-ins of the burst within this rely on that sweep (1 s for clock skew)


def attendance_credit_sweep(*, event_id: int | None = None) -> int:
    """Pays the attendance credit of every active check-in not yet credited, of meeting `event_id` (sent after
    check-ins) or of every meeting (the periodic safety net for a sweep that was never sent); how many it settled.
    Each one as `attendance_credit`: a repeated or concurrent sweep pays nothing twice."""
    pending = CheckIn.objects.filter(credited_at__isnull=True, annulled_at__isnull=True)
    if event_id is not None:
        pending = pending.filter(event_id=event_id)
    settled = 0
    for registration_id in pending.order_by("pk").values_list("registration_id", flat=True):
        settled += attendance_credit(registration_id=registration_id)
    return settled


def attendance_credit(*, registration_id: int) -> bool:
    """Points for the registration's active check-in (keyed to that check-in: an annulled check-in's points were
    taken back, so a new check-in pays once more) and the engagement event (once per registration). Runs after
    the check-in committed (from a task): a failure here never undoes the check-in, and a repeated run pays
    nothing twice. The check-in row is locked, as `checkin_annul` locks it: an annulment either sees the award
    and reverses it, or comes first and nothing is paid.

    Returns True when it settled the credit now, False when there is no active check-in or it was settled before."""
    with transaction.atomic():
        checkin = (CheckIn.objects.select_for_update(of=("self",)).select_related("registration__doctor", "event")
                   .filter(registration_id=registration_id, annulled_at__isnull=True).first())
        if checkin is None or checkin.credited_at is not None:
            return False
        doctor, event = checkin.registration.doctor, checkin.event
        try:
            points_award(member=doctor, rule_code=ATTEND_RULE, source=checkin, source_label=event.title)
        except DomainError as exc:
            logger.warning("attendance points not awarded for check-in %s: %s", checkin.pk, exc.code)
        engagement_record(doctor=doctor, kind=EngagementKind.MEETING_ATTENDED,
                          source_key=f"events.registration:{registration_id}:attended", obj=event,
                          therapy_area=event.therapy_area)
        CheckIn.objects.filter(pk=checkin.pk).update(credited_at=timezone.now())
    return True


def checkin_annul(*, checkin: CheckIn, actor, reason: str) -> CheckIn:
    """Annuls a mistaken check-in (kept, never deleted); the ticket can then be checked in again.
    Needs a reason and a staff actor. The attendance points paid for this check-in are taken back by a
    reversing ledger row, once."""
    reason = _clean(reason, 300)
    if not reason:
        raise DomainError("reason_required", _("Say why the check-in is annulled."))
    if not can_manage_checkins(actor):
        raise PermissionDenied("forbidden", _("Only staff may annul a check-in."))
    with transaction.atomic():
        locked = CheckIn.objects.select_for_update().get(pk=checkin.pk)
        if locked.annulled_at is not None:
            raise Conflict("already_annulled", _("This check-in was already annulled."))
        locked.annulled_at = timezone.now()
        locked.annulled_by = actor
        locked.annul_reason = reason
        locked.save(update_fields=["annulled_at", "annulled_by", "annul_reason"])
        audit_log(actor=actor, action="event.checkin.annul", obj=locked,
                  before={"checked_in_at": locked.checked_in_at.isoformat(), "annulled": False},
                  after={"annulled": True}, reason=reason)
        points_award_reverse(member=locked.registration.doctor, rule_code=ATTEND_RULE, source=locked, actor=actor,
                             reason=str(_("Check-in annulled: %(reason)s") % {"reason": reason}))
        live_counters_push_on_commit(locked.event_id)
    return locked


def _onsite_mac(event_id: int, step: int) -> str:
    key = hashlib.sha256(f"engage.events.onsite-code:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, f"{event_id}:{step}".encode(), hashlib.sha256).hexdigest()[:32]


def onsite_code(event: EventPage, *, at: float | None = None) -> str:
    """The code the on-site screen shows now: `<time step>.<HMAC of meeting and step>`."""
    step = int((time.time() if at is None else at) // ONSITE_STEP_SECONDS)
    return f"{step}.{_onsite_mac(event.pk, step)}"


def onsite_code_check(event: EventPage, code: str, *, at: float | None = None) -> str | None:
    """None for a good code; otherwise the Scan result: `invalid` (forged, malformed) or `expired_code`."""
    now = time.time() if at is None else at
    step_text, _dot, mac = _clean(code, 100).partition(".")
    if not STEP_RE.fullmatch(step_text):
        return Scan.Result.INVALID
    if not hmac.compare_digest(mac.encode(), _onsite_mac(event.pk, int(step_text)).encode()):
        return Scan.Result.INVALID
    issued = int(step_text) * ONSITE_STEP_SECONDS
    if issued > now + 5 or now - issued > ONSITE_VALID_SECONDS:
        return Scan.Result.EXPIRED_CODE
    return None


def self_checkin_perform(
    *,
    event: EventPage,
    doctor,
    code: str,
    latitude=None,
    longitude=None,
    nonce: str = "",
    ip: str | None = None,
) -> CheckinResult:
    """A signed-in doctor checks themself in with the on-site code: the code must be genuine and at most
    ONSITE_VALID_SECONDS old, the doctor must hold a ticket for the meeting, and when the venue has coordinates
    the browser must give a position (`position_required`) within the venue radius (`outside_radius`), every
    time it is tried. Each refusal is a Scan row. Then as `checkin_perform`."""
    raw = _clean(code, RAW_INPUT_MAX)
    nonce = _clean(nonce, 100)
    if nonce and (replay := _replay(event, nonce)):
        return replay
    lat, lon = _coordinate(latitude, 90), _coordinate(longitude, 180)
    fields = {"staff": doctor, "method": Scan.Method.SELF, "device": "", "nonce": nonce, "client_time": None,
              "ip": ip or None, "raw_input": raw, "latitude": lat, "longitude": lon}

    def refuse(result: str, ticket: Ticket | None = None) -> CheckinResult:
        body = _body(result, ticket=ticket, checked_in_at=None)
        try:
            _record(event=event, ticket=ticket, result=result, body=body, **fields)
        except IntegrityError:
            if replay := _replay(event, nonce):
                return replay
            raise
        return CheckinResult(result, HTTP_STATUS[result], body)

    if problem := onsite_code_check(event, code):
        return refuse(problem)
    ticket = (Ticket.objects.filter(event=event, registration__doctor=doctor)
              .select_related("registration").order_by("-issued_at", "-pk").first())
    if ticket is None:
        return refuse(Scan.Result.INVALID)
    venue = (event.venue_latitude, event.venue_longitude)
    if None not in venue:
        # No position, or one that is not a position, is no proof of presence: staff check in at the door.
        if lat is None or lon is None:
            return refuse(Scan.Result.POSITION_REQUIRED, ticket)
        if distance_m(float(venue[0]), float(venue[1]), float(lat), float(lon)) > event.venue_radius_m:
            return refuse(Scan.Result.OUTSIDE_RADIUS, ticket)
    return checkin_perform(event=event, secret=ticket.secret, staff=doctor, method=Scan.Method.SELF, nonce=nonce,
                           ip=ip, raw_input=raw, latitude=lat, longitude=lon)


def live_counters_push(event_id: int) -> None:
    """Sends the meeting's counters to the dashboards watching it. Call it after commit (see
    `live_counters_push_on_commit`); a channel layer that is down costs a log line, never the write."""
    event = EventPage.objects.filter(pk=event_id).first()
    if event is not None:
        _push(event)


def _push(event: EventPage) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    event_id = event.pk
    try:
        async_to_sync(layer.group_send)(live_group(event_id), {"type": "counters", "payload": event_counters(event)})
    except Exception:  # the push is a convenience; the dashboard also reloads its figures on reconnect
        logger.warning("live counters push for meeting %s failed", event_id, exc_info=True)


# A door with several scanners checks in dozens a second: the counters (a count and every arrival time) are
# computed and pushed at most once per PUSH_INTERVAL per meeting by each web process, and once more a moment later
# by a task, so the last arrivals of a burst are never missing from the dashboard. The interval is kept in the
# process (no round trip); two threads racing past it push twice, which is harmless.
PUSH_INTERVAL_SECONDS = 1.0
_last_push: dict[int, float] = {}


def _push_coalesced(event: EventPage) -> None:
    now = time.monotonic()
    if now - _last_push.get(event.pk, -PUSH_INTERVAL_SECONDS) < PUSH_INTERVAL_SECONDS:
        return  # pushed within the interval; that push's trailing task covers this check-in
    _last_push[event.pk] = now
    _push(event)
    enqueue_now("events.registrations.tasks.live_counters_push_task", (event.pk,),
                countdown=PUSH_INTERVAL_SECONDS, defer=False)


def live_counters_push_on_commit(event_id: int) -> None:
    """For services that change registrations or check-ins: push the counters once the transaction commits."""
    transaction.on_commit(lambda: live_counters_push(event_id), robust=True)
