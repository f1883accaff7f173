"""Ticket secrets and invitation codes: unguessable, read aloud and typed without look-alike characters."""

import secrets

from django.db import transaction
from django.utils import timezone

from events.registrations.models import Registration, Ticket

# No 0/O, 1/I/L and no lower case: a secret read off a screen or typed into a scanner cannot be mistaken, and
# an upper-case alphabet fits the QR alphanumeric mode.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SECRET_LENGTH = 28  # 28 × log2(31) ≈ 138.7 bits
INVITE_LENGTH = 20  # ≈ 99 bits: an invitation opens only a quota, not a seat on its own
if len(ALPHABET) > 32:
    raise RuntimeError("random_code draws five bits per character: the alphabet must have at most 32")


def random_code(length: int) -> str:
    """`length` characters of ALPHABET, each uniform and independent: five random bits per byte, the one value
    beyond the alphabet drawn again. One read of the system's randomness for the whole code (a `secrets.choice`
    per character was a read each: 28 for a ticket, taken with every registration)."""
    found: list[str] = []
    while len(found) < length:
        found.extend(ALPHABET[b & 31] for b in secrets.token_bytes(length + 4) if (b & 31) < len(ALPHABET))
    return "".join(found[:length])


def ticket_secret_new() -> str:
    return random_code(SECRET_LENGTH)


def invite_code_new() -> str:
    return random_code(INVITE_LENGTH)


def ticket_issue(*, registration: Registration, new: bool = False) -> Ticket:
    """The registration's ticket, issued once (called by the registration services when it is confirmed).
    `new`: the registration was created in this transaction, so it cannot have a ticket yet."""
    if new:
        return Ticket.objects.create(registration=registration, event_id=registration.event_id,
                                     secret=ticket_secret_new())
    existing = Ticket.objects.filter(registration=registration).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        return Ticket.objects.create(registration=registration, event_id=registration.event_id,
                                     secret=ticket_secret_new())


def ticket_revoke(*, registration: Registration, reason: str) -> Ticket | None:
    """Revokes the registration's ticket if it has a valid one."""
    ticket = Ticket.objects.filter(registration=registration, revoked_at__isnull=True).first()
    if ticket is None:
        return None
    ticket.revoked_at = timezone.now()
    ticket.revoked_reason = reason[:300]
    ticket.save(update_fields=["revoked_at", "revoked_reason"])
    return ticket
