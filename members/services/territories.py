"""Sales territories: which reps cover which hospitals (and so which doctors each rep sees)."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from engage.audit.services import audit_log
from engage.errors import Conflict, DomainError, PermissionDenied
from engage.roles import Role, has_role
from members.models import Hospital, Territory, User

TERRITORY_EDITORS = (Role.MARKETING, Role.ADMIN)


def _snapshot(territory: Territory) -> dict:
    return {
        "name": territory.name,
        "code": territory.code,
        "reps": sorted(territory.reps.values_list("pk", flat=True)),
        "hospitals": sorted(territory.hospitals.values_list("pk", flat=True)),
    }


def territory_save(*, actor: User, territory: Territory, reps, hospitals) -> Territory:
    """Creates or updates `territory` with exactly these reps and hospitals, audited with before and after (a
    territory decides which doctors a rep sees). Reps must hold the rep role; hospitals must be active."""
    if not has_role(actor, *TERRITORY_EDITORS):
        raise PermissionDenied("forbidden", _("Only marketing staff and administrators manage territories."))
    reps, hospitals = list(reps), list(hospitals)
    if any(not has_role(rep, Role.REP) for rep in reps):
        raise DomainError("territory_rep_not_rep", _("Only users with the sales rep role can cover a territory."))
    if any(hospital.status != Hospital.Status.ACTIVE for hospital in hospitals):
        raise DomainError("territory_hospital_inactive", _("Only active hospitals can be in a territory."))
    created = territory.pk is None
    try:
        with transaction.atomic():
            before = None if created else _snapshot(Territory.objects.get(pk=territory.pk))
            territory.save()
            territory.reps.set(reps)
            territory.hospitals.set(hospitals)
            audit_log(actor=actor, action="territory.create" if created else "territory.update", obj=territory,
                      before=before, after=_snapshot(territory))
    except IntegrityError as exc:
        if created:
            territory.pk = None
        raise Conflict("territory_code_taken", _("Another territory already has this code.")) from exc
    return territory
