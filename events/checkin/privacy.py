"""Check-ins and check-in attempts (with the positions a self check-in sent) in the personal data export; kept
on closing as evidence, with the scanner's copy of the doctor's name replaced by the pseudonym."""

from engage.core.personal_data import Closing, ClosingAccount, iso, personal_data
from events.checkin.models import CheckIn, Scan


def _position(scan: Scan) -> dict:
    return {"latitude": scan.latitude, "longitude": scan.longitude}


def _pseudonymise(account: ClosingAccount) -> None:
    # A scan keeps the answer the scanner showed (the doctor's card with their name), repeated for its nonce.
    account.scrub_rows(Scan.objects.filter(ticket__registration__doctor=account.user), "response")


@personal_data(section="check_ins", model="events.CheckIn", user_fields=(), order=62,
               closing=Closing.PSEUDONYMISE, close=_pseudonymise,
               reason="proof of attendance at sponsored meetings (who, when, where, how)")
def checkins_export(user) -> list[dict]:
    return [
        {"meeting": c.event.title, "checked_in_at": iso(c.checked_in_at), "method": c.method,
         **_position(c.scan), "annulled_at": iso(c.annulled_at), "annul_reason": c.annul_reason}
        for c in CheckIn.objects.filter(registration__doctor=user).select_related("event", "scan")
        .order_by("checked_in_at", "id")
    ]


@personal_data(section="check_in_attempts", model="events.Scan", user_fields=("staff",), order=63,
               closing=Closing.RETAIN,
               reason="check-in evidence: every attempt, failed ones too, with time, place and device")
def scans_export(user) -> list[dict]:
    """Attempts this person made: a doctor's self check-ins (with the position the phone sent), a staff member's
    scans at the door."""
    return [
        {"meeting": s.event.title, "method": s.method, "result": s.result, "at": iso(s.server_time),
         "client_time": iso(s.client_time), "device": s.device, "ip_address": s.ip_address, **_position(s)}
        for s in Scan.objects.filter(staff=user).select_related("event").order_by("server_time", "id")
    ]
