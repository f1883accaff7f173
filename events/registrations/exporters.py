"""A meeting ticket as an iCalendar (RFC 5545) file, written by hand: CRLF line ends, escaped text values and
lines folded at 75 octets without splitting a UTF-8 character."""

from datetime import UTC, datetime, timedelta

from django.urls import reverse
from django.utils import timezone

from events.registrations.models import Ticket


def ics_escape(value: str) -> str:
    """TEXT escaping of RFC 5545 §3.3.11: backslash, semicolon, comma and newlines."""
    value = str(value or "").replace("\r\n", "\n").replace("\r", "\n")
    value = "".join(ch for ch in value if ch == "\n" or ch == "\t" or ord(ch) >= 32)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def ics_fold(line: str) -> str:
    """Folds a content line into chunks of at most 75 octets, continuation lines starting with a space."""
    out, current, size = [], [], 0
    limit = 75
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append("".join(current))
            current, size, limit = [" "], 1, 75
        current.append(ch)
        size += n
    out.append("".join(current))
    return "\r\n".join(out)


def _utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def ticket_ics(*, ticket: Ticket, request=None) -> str:
    """The ticket's meeting as one VEVENT with a reminder an hour before; CANCELLED once the ticket is revoked."""
    event = ticket.event
    host = request.get_host().split(":")[0] if request is not None else "engage"
    ticket_url = reverse("events:ticket", args=[ticket.secret])
    if request is not None:
        ticket_url = request.build_absolute_uri(ticket_url)
    location = "，".join(p for p in (event.venue_name, event.venue_address) if p) or event.online_url
    description = "\n".join(p for p in (event.topic, event.online_url, ticket_url) if p)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Engage//Meetings//ZH",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:ticket-{ticket.pk}@{host}",
        f"DTSTAMP:{_utc(timezone.now())}",
        f"DTSTART:{_utc(event.starts_at)}",
        f"DTEND:{_utc(event.ends_at)}",
        f"SUMMARY:{ics_escape(event.title)}",
        f"LOCATION:{ics_escape(location)}",
        f"DESCRIPTION:{ics_escape(description)}",
        f"URL:{ticket_url}",
        f"STATUS:{'CANCELLED' if ticket.revoked_at else 'CONFIRMED'}",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{ics_escape(event.title)}",
        f"TRIGGER:-PT{int(timedelta(hours=1).total_seconds() // 60)}M",
        "END:VALARM",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(ics_fold(line) for line in lines) + "\r\n"
