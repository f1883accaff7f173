import ipaddress

from django.db import models

from engage.audit import context
from engage.audit.models import AuditEntry


def _label(actor) -> str:
    if actor is None:
        return "system"
    return f"{actor} (#{actor.pk})"


def _valid_ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def audit_entry(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
    ip_address: str | None = None,
    user_agent: str | None = None,
) -> AuditEntry:
    """The unsaved audit entry `audit_log` writes, for a service that writes it together with its other rows
    (engage.core.inserts.insert_together) so that it exists exactly when the write does."""
    ctx = context.current()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    actor = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry(
        actor_id=actor.pk if actor else None,
        actor_label=_label(actor)[:200],
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        object_repr=str(obj)[:300] if obj is not None else "",
        before=before,
        after=after,
        reason=reason or "",
        ip_address=_valid_ip(ip_address if ip_address is not None else ctx.ip_address),
        user_agent=(user_agent if user_agent is not None else ctx.user_agent)[:400],
    )


def audit_log(**fields) -> AuditEntry:
    """Appends one audit entry inside the caller's transaction, so it exists exactly when the write does; takes
    what `audit_entry` takes.

    `actor` None means the system (a scheduled task). IP and user agent default to the current request's.
    """
    entry = audit_entry(**fields)
    entry.save(force_insert=True)
    return entry
