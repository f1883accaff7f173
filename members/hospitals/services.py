"""Hospital master data: saving, staff decisions on doctors' proposals (made by profiles.hospital_propose), file
imports, and sales territories (which reps cover which hospitals)."""

import os

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from engage.audit.services import audit_log
from engage.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from engage.core.jobs import enqueue_on_commit
from engage.core.roles import Capability, can
from engage.inbox.services import notify_user
from members.accounts.models import User
from members.hospitals import importers
from members.hospitals.models import Department, Hospital, HospitalImport, Territory
from members.hospitals.pinyin import initials
from members.profiles.models import DoctorProfile

MAX_REASON_LENGTH = 1000
_AUDIT_FIELDS = ("name", "aliases", "province", "city", "district", "level", "grade", "hospital_type", "beds",
                 "yearly_outpatient_visits", "address", "status")


def _snapshot(hospital: Hospital) -> dict:
    return {name: getattr(hospital, name) for name in _AUDIT_FIELDS}


def _require_staff(actor) -> None:
    if not can(actor, Capability.MANAGE_HOSPITALS):
        raise PermissionDenied("forbidden", _("Only marketing staff and administrators manage hospitals."))


def _duplicate_error() -> DomainError:
    return Conflict("hospital_duplicate",
                    _("A hospital with this name already exists in this city."))


def hospital_save(*, actor: User | None, hospital: Hospital, departments=None) -> Hospital:
    """Creates or updates `hospital` (and its departments when given), audited. A second hospital with the same
    normalised name in the same city is refused with `hospital_duplicate`, also when two saves race."""
    created = hospital.pk is None
    before = None if created else _snapshot(Hospital.objects.get(pk=hospital.pk))
    try:
        with transaction.atomic():
            hospital.save()
            if departments is not None:
                hospital.departments.set(departments)
            audit_log(actor=actor, action="hospital.create" if created else "hospital.update", obj=hospital,
                      before=before, after=_snapshot(hospital))
    except IntegrityError as exc:
        if created:
            hospital.pk = None
        raise _duplicate_error() from exc
    return hospital


def _locked_proposal(hospital_id: int) -> Hospital:
    hospital = Hospital.objects.select_for_update().filter(pk=hospital_id).first()
    if hospital is None:
        raise NotFound("hospital_not_found", _("This hospital does not exist."))
    if hospital.status != Hospital.Status.PROPOSED:
        raise Conflict("hospital_not_proposed", _("This proposal has already been decided."))
    return hospital


@transaction.atomic
def hospital_proposal_approve(*, actor: User, hospital_id: int) -> Hospital:
    """The proposal becomes an active hospital everyone can pick. Decided once, even by two staff at once."""
    _require_staff(actor)
    hospital = _locked_proposal(hospital_id)
    before = _snapshot(hospital)
    hospital.status = Hospital.Status.ACTIVE
    hospital.save(update_fields=["status"])
    audit_log(actor=actor, action="hospital.approve", obj=hospital, before=before, after=_snapshot(hospital))
    if hospital.proposed_by_id:
        notify_user(hospital.proposed_by_id, "hospital.approved", {"hospital_id": hospital.pk, "name": hospital.name})
    return hospital


@transaction.atomic
def hospital_proposal_reject(*, actor: User, hospital_id: int, reason: str) -> Hospital:
    """The proposal is rejected with a reason the proposer is told; doctors at it must pick another hospital."""
    _require_staff(actor)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason_required", _("Give a reason for the rejection."))
    if len(reason) > MAX_REASON_LENGTH:
        raise DomainError("reason_too_long", _("The reason is too long (at most 1,000 characters)."))
    hospital = _locked_proposal(hospital_id)
    before = _snapshot(hospital)
    hospital.status = Hospital.Status.REJECTED
    hospital.save(update_fields=["status"])
    audit_log(actor=actor, action="hospital.reject", obj=hospital, before=before, after=_snapshot(hospital),
              reason=reason)
    for user_id in _people_at(hospital):
        notify_user(user_id, "hospital.rejected", {"hospital_id": hospital.pk, "name": hospital.name,
                                                   "reason": reason})
    return hospital


@transaction.atomic
def hospital_proposal_merge(*, actor: User, hospital_id: int, into_id: int) -> Hospital:
    """The proposal duplicates the active hospital `into_id`: doctors' profiles and territory links move there,
    the proposed name becomes one of its aliases, and the proposal is marked rejected. Returns the target."""
    _require_staff(actor)
    if hospital_id == into_id:
        raise DomainError("hospital_merge_same", _("A hospital cannot be merged into itself."))
    # Lock in id order so two merges touching the same rows cannot deadlock.
    locked = {h.pk: h for h in Hospital.objects.select_for_update().filter(pk__in=sorted({hospital_id, into_id}))
              .order_by("pk")}
    proposal, target = locked.get(hospital_id), locked.get(into_id)
    if proposal is None or target is None:
        raise NotFound("hospital_not_found", _("This hospital does not exist."))
    if proposal.status != Hospital.Status.PROPOSED:
        raise Conflict("hospital_not_proposed", _("This proposal has already been decided."))
    if target.status != Hospital.Status.ACTIVE:
        raise DomainError("hospital_merge_target_inactive", _("Merge only into an active hospital."))
    people = _people_at(proposal)
    moved = DoctorProfile.objects.filter(hospital=proposal).update(hospital=target)
    Link = Territory.hospitals.through
    for link in Link.objects.filter(hospital=proposal):
        Link.objects.get_or_create(territory_id=link.territory_id, hospital=target)
    Link.objects.filter(hospital=proposal).delete()
    target_before = _snapshot(target)
    alias = " ".join(proposal.name.split())
    if alias not in target.aliases and Hospital.normalise(alias) != target.normalised_name:
        target.aliases = [*target.aliases, alias]
        target.save(update_fields=["aliases"])
    before = _snapshot(proposal)
    proposal.status = Hospital.Status.REJECTED
    proposal.save(update_fields=["status"])
    reason = f"merged into #{target.pk} {target.name}"
    audit_log(actor=actor, action="hospital.merge", obj=proposal, before=before,
              after={**_snapshot(proposal), "merged_into": target.pk, "profiles_moved": moved}, reason=reason)
    audit_log(actor=actor, action="hospital.update", obj=target, before=target_before, after=_snapshot(target),
              reason=f"merged proposal #{proposal.pk}")
    for user_id in people:
        notify_user(user_id, "hospital.merged", {"hospital_id": target.pk, "name": target.name})
    return target


def _people_at(hospital: Hospital) -> set[int]:
    people = set(DoctorProfile.objects.filter(hospital=hospital).values_list("user_id", flat=True))
    if hospital.proposed_by_id:
        people.add(hospital.proposed_by_id)
    return people


def _progress_key(import_id: int) -> str:
    return f"hospital-import:{import_id}:progress"


def hospital_import_progress(hospital_import: HospitalImport) -> dict:
    """What the admin's progress bar shows: status, processed/total rows (live while importing) and counts."""
    processed = hospital_import.processed_rows
    if hospital_import.status == HospitalImport.Status.IMPORTING:
        processed = cache.get(_progress_key(hospital_import.pk), 0)
    total = hospital_import.total_rows
    return {
        "id": hospital_import.pk,
        "status": hospital_import.status,
        "status_label": str(hospital_import.get_status_display()),
        "processed_rows": processed,
        "total_rows": total,
        "percent": int(100 * processed / total) if total else (100 if hospital_import.finished_at else 0),
        "error_count": len(hospital_import.errors),
        "created_count": hospital_import.created_count,
        "updated_count": hospital_import.updated_count,
        "finished": hospital_import.status in (HospitalImport.Status.INVALID, HospitalImport.Status.VALID,
                                               HospitalImport.Status.DONE, HospitalImport.Status.FAILED),
    }


@transaction.atomic
def hospital_import_create(*, actor: User, uploaded) -> HospitalImport:
    """Stores an uploaded file privately and schedules its validation. Refuses files over 10 MB and files that
    are neither .xlsx nor text CSV by their content (the name is not trusted)."""
    _require_staff(actor)
    if uploaded is None:
        raise DomainError("import_no_file", _("Choose a file to upload."))
    if uploaded.size > importers.MAX_FILE_BYTES:
        raise DomainError("import_too_large", _("The file is larger than 10 MB."))
    if uploaded.size == 0:
        raise DomainError("import_empty", _("The file is empty."))
    uploaded.seek(0)
    head = uploaded.read(importers.SNIFF_BYTES)
    uploaded.seek(0)
    try:
        kind = importers.sniff_kind(head)
    except importers.ImportFileError as exc:
        raise DomainError(exc.code, exc.message) from exc
    name = os.path.basename((uploaded.name or "").replace("\\", "/"))[:200] or "upload"
    stem = "".join(ch for ch in os.path.splitext(name)[0] if ch.isalnum() or ch in "-_")[:80] or "hospitals"
    uploaded.name = f"{stem}.{kind}"
    hospital_import = HospitalImport.objects.create(file=uploaded, original_name=name, created_by=actor)
    audit_log(actor=actor, action="hospital_import.upload", obj=hospital_import,
              after={"file": name, "size": uploaded.size, "kind": kind})
    enqueue_on_commit("members.hospitals.tasks.hospital_import_validate", hospital_import.pk)
    return hospital_import


def _department_lookup() -> dict[str, int]:
    lookup = {}
    for department in Department.objects.all():
        for key in (department.code, department.name, department.name_en):
            if key:
                lookup[key.strip().lower()] = department.pk
    return lookup


def _read_and_validate(hospital_import: HospitalImport, progress=None) -> importers.ValidationResult:
    with hospital_import.file.open("rb") as fileobj:
        rows = importers.read_rows(fileobj)
    return importers.validate_rows(rows, departments=_department_lookup(), progress=progress)


def hospital_import_validate(*, import_id: int) -> HospitalImport:
    """Reads and checks the file row by row, saving progress as it goes (so the admin can show it), then the
    preview and the error report. Status ends `valid` or `invalid`. Safe to run again (idempotent)."""
    updated = HospitalImport.objects.filter(
        pk=import_id, status__in=[HospitalImport.Status.UPLOADED, HospitalImport.Status.VALIDATING]
    ).update(status=HospitalImport.Status.VALIDATING, processed_rows=0)
    hospital_import = HospitalImport.objects.filter(pk=import_id).first()
    if hospital_import is None:
        raise NotFound("import_not_found", _("This import does not exist."))
    if not updated:
        return hospital_import  # already validated: nothing to do

    def progress(processed: int, total: int) -> None:
        # Outside any transaction: every update is visible to the admin's polling at once.
        HospitalImport.objects.filter(pk=import_id).update(processed_rows=processed, total_rows=total)

    try:
        result = _read_and_validate(hospital_import, progress=progress)
    except importers.ImportFileError as exc:
        errors = [{"line": None, "column": "", "reason": exc.message}]
        HospitalImport.objects.filter(pk=import_id).update(
            status=HospitalImport.Status.INVALID, errors=errors, preview=[], finished_at=timezone.now())
        hospital_import.refresh_from_db()
        return hospital_import
    if result.total_rows == 0:
        result.add(1, "", str(_("The file has a header row but no hospitals.")))
    HospitalImport.objects.filter(pk=import_id).update(
        status=HospitalImport.Status.INVALID if result.error_count else HospitalImport.Status.VALID,
        total_rows=result.total_rows,
        processed_rows=result.total_rows,
        errors=result.errors_as_json(),
        preview=result.preview(),
        finished_at=timezone.now(),
    )
    hospital_import.refresh_from_db()
    return hospital_import


@transaction.atomic
def hospital_import_start(*, actor: User, import_id: int) -> HospitalImport:
    """Staff confirm a validated file; the import runs in the background. A file with errors, or one already
    importing or imported, is refused (so a double click imports once)."""
    _require_staff(actor)
    hospital_import = HospitalImport.objects.select_for_update().filter(pk=import_id).first()
    if hospital_import is None:
        raise NotFound("import_not_found", _("This import does not exist."))
    if hospital_import.status == HospitalImport.Status.INVALID:
        raise DomainError("import_has_errors",
                          _("The file has errors: nothing can be imported. Fix the file and upload it again."))
    if hospital_import.status != HospitalImport.Status.VALID:
        raise Conflict("import_not_ready", _("This file is not ready to import (status: %(status)s).")
                       % {"status": hospital_import.get_status_display()})
    hospital_import.status = HospitalImport.Status.IMPORTING
    hospital_import.processed_rows = 0
    hospital_import.save(update_fields=["status", "processed_rows"])
    audit_log(actor=actor, action="hospital_import.start", obj=hospital_import)
    enqueue_on_commit("members.hospitals.tasks.hospital_import_run", hospital_import.pk)
    return hospital_import


def hospital_import_run(*, import_id: int) -> HospitalImport:
    """Imports every row in ONE transaction: new hospitals are created, existing ones (same normalised name and
    city) updated — non-empty cells overwrite, departments and aliases are added, proposals become active. Any
    failure imports nothing and marks the import `failed`. Runs once per confirmation (idempotent)."""
    hospital_import = HospitalImport.objects.filter(pk=import_id).first()
    if hospital_import is None:
        raise NotFound("import_not_found", _("This import does not exist."))
    if hospital_import.status != HospitalImport.Status.IMPORTING:
        return hospital_import
    cache.set(_progress_key(import_id), 0, timeout=6 * 3600)
    try:
        with transaction.atomic():
            locked = HospitalImport.objects.select_for_update().get(pk=import_id)
            if locked.status != HospitalImport.Status.IMPORTING:
                return locked
            result = _read_and_validate(locked)
            if result.error_count:
                raise DomainError("import_has_errors",
                                  _("The file has errors now (%(count)d): nothing was imported.")
                                  % {"count": result.error_count})
            created, updated = _write_rows(
                result.rows, progress=lambda n: cache.set(_progress_key(import_id), n, timeout=6 * 3600)
            )
            locked.status = HospitalImport.Status.DONE
            locked.created_count, locked.updated_count = created, updated
            locked.processed_rows = result.total_rows
            locked.finished_at = timezone.now()
            locked.save(update_fields=["status", "created_count", "updated_count", "processed_rows", "finished_at"])
            audit_log(actor=locked.created_by, action="hospital_import.done", obj=locked,
                      after={"created": created, "updated": updated, "rows": result.total_rows})
            return locked
    except (DomainError, importers.ImportFileError, IntegrityError) as exc:
        if isinstance(exc, IntegrityError):
            reason = str(_("A hospital in the file was added by someone else meanwhile; upload the file again."))
        else:
            reason = str(exc.message)
        HospitalImport.objects.filter(pk=import_id).update(
            status=HospitalImport.Status.FAILED, finished_at=timezone.now(),
            errors=[{"line": None, "column": "", "reason": reason}],
        )
        hospital_import.refresh_from_db()
        return hospital_import
    finally:
        cache.delete(_progress_key(import_id))


_UPDATABLE = ("province", "district", "level", "grade", "hospital_type", "beds", "yearly_outpatient_visits",
              "address", "latitude", "longitude")


def _update_many(hospitals: list[Hospital], names: list[str]) -> None:
    """One parameterised UPDATE per row sent with executemany: ~10x faster than bulk_update's CASE expressions
    (which Django builds in Python, quadratic in the batch size)."""
    if not hospitals:
        return
    from django.db import connection

    quote = connection.ops.quote_name
    fields = [Hospital._meta.get_field(name) for name in names]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    # Only quoted column names from the model are interpolated; every value is a parameter.
    sql = f"UPDATE {quote(Hospital._meta.db_table)} SET {assignments} WHERE {quote('id')} = %s"  # noqa: S608
    params = [[field.get_db_prep_save(getattr(h, field.attname), connection) for field in fields] + [h.pk]
              for h in hospitals]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _write_rows(rows: list[dict], *, progress, chunk: int = 1000) -> tuple[int, int]:
    created = updated = 0
    Link = Hospital.departments.through
    for start in range(0, len(rows), chunk):
        batch = rows[start:start + chunk]
        keys = {(Hospital.normalise(row["name"]), row["city"]): row for row in batch}
        existing = {
            (h.normalised_name, h.city): h
            for h in Hospital.objects.select_for_update().filter(
                normalised_name__in=[key[0] for key in keys], city__in={key[1] for key in keys})
        }
        new, changed = [], []
        for key, row in keys.items():
            hospital = existing.get(key)
            if hospital is None:
                hospital = Hospital(
                    name=row["name"], normalised_name=key[0], pinyin_initials=initials(row["name"]),
                    aliases=row["aliases"], city=row["city"], status=Hospital.Status.ACTIVE,
                    **{name: row[name] for name in _UPDATABLE if row[name] not in (None, "")},
                )
                new.append(hospital)
            else:
                for name in _UPDATABLE:
                    if row[name] not in (None, "") and not (name == "level" and row[name] == "0"):
                        setattr(hospital, name, row[name])
                hospital.aliases = list(dict.fromkeys([*hospital.aliases, *row["aliases"]]))
                hospital.status = Hospital.Status.ACTIVE
                changed.append(hospital)
        Hospital.objects.bulk_create(new)
        _update_many(changed, ["aliases", "status", *_UPDATABLE])
        created += len(new)
        updated += len(changed)
        by_key = {(h.normalised_name, h.city): h for h in [*new, *changed]}
        links = [Link(hospital_id=by_key[key].pk, department_id=department_id)
                 for key, row in keys.items() for department_id in row["departments"]]
        Link.objects.bulk_create(links, ignore_conflicts=True)
        progress(start + len(batch))
    return created, updated




def _territory_snapshot(territory: Territory) -> dict:
    return {
        "name": territory.name,
        "code": territory.code,
        "reps": sorted(territory.reps.values_list("pk", flat=True)),
        "hospitals": sorted(territory.hospitals.values_list("pk", flat=True)),
    }


def territory_save(*, actor: User, territory: Territory, reps, hospitals) -> Territory:
    """Creates or updates `territory` with exactly these reps and hospitals, audited with before and after (a
    territory decides which doctors a rep sees). Reps must hold the rep role; hospitals must be active."""
    if not can(actor, Capability.MANAGE_TERRITORIES):
        raise PermissionDenied("forbidden", _("Only marketing staff and administrators manage territories."))
    reps, hospitals = list(reps), list(hospitals)
    if any(not can(rep, Capability.COVER_TERRITORY) for rep in reps):
        raise DomainError("territory_rep_not_rep", _("Only users with the sales rep role can cover a territory."))
    if any(hospital.status != Hospital.Status.ACTIVE for hospital in hospitals):
        raise DomainError("territory_hospital_inactive", _("Only active hospitals can be in a territory."))
    created = territory.pk is None
    try:
        with transaction.atomic():
            before = None if created else _territory_snapshot(Territory.objects.get(pk=territory.pk))
            territory.save()
            territory.reps.set(reps)
            territory.hospitals.set(hospitals)
            audit_log(actor=actor, action="territory.create" if created else "territory.update", obj=territory,
                      before=before, after=_territory_snapshot(territory))
    except IntegrityError as exc:
        if created:
            territory.pk = None
        raise Conflict("territory_code_taken", _("Another territory already has this code.")) from exc
    return territory
