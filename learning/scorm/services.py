"""Writes of SCORM lessons: uploading a package (checked by learning.scorm.importers before anything is stored)
and storing what the player commits.

Commits are idempotent: each carries the player's session id and commit sequence; a commit seen before changes
nothing. With a mastery score in the manifest, a reported "completed"/"incomplete" with a raw score is decided as
"passed" or "failed" by the server (mastery_status). `passed` and `completed` both complete the lesson
(learning.courses.services.lesson_complete), and a completing status is never undone by a later commit, so a score
arriving after the status is stored while the lesson stays complete. Session time is counted per player session (SCORM
1.2 resends the session's whole time in every commit of the session), so repeats never inflate it.
"""

import re
from decimal import Decimal, InvalidOperation

from django.core import signing
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from engage.audit.services import audit_log
from engage.core.errors import DomainError, PermissionDenied
from engage.core.roles import Capability, can
from engage.core.storage import private_storage
from learning.courses.models import LessonPage
from learning.courses.selectors import can_take_course
from learning.courses.services import lesson_complete
from learning.scorm.importers import package_read
from learning.scorm.models import COMPLETING_STATUSES, LessonStatus, ScormCommit, ScormPackage, ScormRegistration

LAUNCH_TOKEN_SALT = "learning.scorm.launch"  # noqa: S105 - a signing namespace, not a secret
LAUNCH_TOKEN_MAX_AGE = 24 * 3600
MAX_SUSPEND_DATA = 4096  # SCORM 1.2 RTE: cmi.suspend_data is CMIString4096
MAX_LOCATION = 255
MAX_VALUES = 400
MAX_VALUE_LENGTH = 4096
SESSION_ID = re.compile(r"^[A-Za-z0-9-]{8,40}$")
# CMITimespan: HHHH:MM:SS(.SS)
TIMESPAN = re.compile(r"^(\d{2,4}):([0-5]\d):([0-5]\d)(\.\d{1,2})?$")
EXIT_VALUES = {"", "time-out", "suspend", "logout"}


def _invalid(message, **details) -> DomainError:
    return DomainError("scorm_commit_invalid", message, status=400, **details)


def scorm_package_upload(*, actor, upload, title: str = "", lesson_id: int | None = None) -> ScormPackage:
    """Checks and stores a SCORM 1.2 ZIP in private storage and, given a lesson, makes it that lesson's package
    (a package the lesson had before is detached; its learners' data stays with it).

    Nothing is stored unless every check passes; files written before a later failure are removed again.
    """
    if not can(actor, Capability.MANAGE_SCORM_PACKAGES):
        raise PermissionDenied("scorm_upload_not_allowed", _("You may not upload SCORM packages."))
    lesson = None
    if lesson_id is not None:
        lesson = LessonPage.objects.filter(pk=lesson_id).first()
        if lesson is None:
            raise DomainError("lesson_not_found", _("No such lesson."))
    manifest, files = package_read(upload)
    title = (title or "").strip()[:200] or manifest.title or _("SCORM lesson")
    storage, prefix, written = private_storage(), ScormPackage.new_prefix(), []
    try:
        for path, data in files:
            name = f"{prefix}/{path}"
            stored = storage.save(name, ContentFile(data))
            written.append(stored)
            if stored != name:  # the storage renamed it: the package's own links would break
                raise DomainError("scorm_storage_conflict", _("The package could not be stored; try again."))
        with transaction.atomic():
            if lesson is not None:
                ScormPackage.objects.filter(lesson=lesson).update(lesson=None)
            package = ScormPackage.objects.create(
                title=title, lesson=lesson, storage_prefix=prefix, launch_path=manifest.launch,
                manifest_identifier=manifest.identifier, scorm_version=manifest.version,
                mastery_score=manifest.mastery_score, file_count=len(files),
                total_size=sum(len(data) for _path, data in files), uploaded_by=actor,
            )
            audit_log(actor=actor, action="scorm.package_upload", obj=package,
                      after={"title": title, "lesson": lesson.pk if lesson else None, "files": len(files),
                             "bytes": package.total_size, "launch": manifest.launch})
    except BaseException:
        for name in written:
            storage.delete(name)
        raise
    return package


def launch_token(*, user, package: ScormPackage) -> str:
    """The signed token a player page sends with each commit: it names the learner and the package, so a commit
    cannot be sent for someone else (and works for the terminate commit, sent by sendBeacon without headers)."""
    return signing.dumps({"u": user.pk, "p": package.pk}, salt=LAUNCH_TOKEN_SALT, compress=False)


def _check_token(token, *, user, package: ScormPackage) -> None:
    try:
        data = signing.loads(str(token or ""), salt=LAUNCH_TOKEN_SALT, max_age=LAUNCH_TOKEN_MAX_AGE)
    except signing.BadSignature:
        raise PermissionDenied("scorm_token_invalid", _("This lesson was opened too long ago or elsewhere; "
                                                        "reload the page.")) from None
    if not isinstance(data, dict) or data.get("u") != user.pk or data.get("p") != package.pk:
        raise PermissionDenied("scorm_token_invalid", _("This lesson was opened too long ago or elsewhere; "
                                                        "reload the page."))


def _timespan_seconds(value: str) -> int:
    match = TIMESPAN.match(value)
    if not match:
        raise _invalid(_("cmi.core.session_time is not a SCORM time span (HHHH:MM:SS)."))
    hours, minutes, seconds = (int(match.group(i)) for i in (1, 2, 3))
    return hours * 3600 + minutes * 60 + seconds


def _score(value: str, name: str) -> Decimal | None:
    if value == "":
        return None
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        raise _invalid(_("%(name)s is not a number.") % {"name": name}) from None
    if not number.is_finite() or not Decimal(0) <= number <= Decimal(100):
        raise _invalid(_("%(name)s must be between 0 and 100.") % {"name": name})
    return number.quantize(Decimal("0.01"))


def parse_commit_values(values) -> dict:
    """The values of a commit we store, checked: flattened SCORM 1.2 cmi keys with string values. Other keys
    (interactions, objectives …, sent as objects) are accepted and not stored. Raises scorm_commit_invalid on
    anything else."""
    if not isinstance(values, dict) or len(values) > MAX_VALUES:
        raise _invalid(_("The commit holds no SCORM data."))
    stored_keys = {"cmi.core.lesson_status", "cmi.core.score.raw", "cmi.core.score.min", "cmi.core.score.max",
                   "cmi.suspend_data", "cmi.core.lesson_location", "cmi.core.session_time", "cmi.core.exit"}
    for key, value in values.items():
        text_like = value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool))
        if key in stored_keys and not text_like:
            raise _invalid(_("The commit holds a value that is not text."))
        if isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
            raise _invalid(_("A value of the commit is too long."))

    def text(name: str) -> str | None:
        value = values.get(name)
        return None if value is None else str(value).strip() if not isinstance(value, str) else value

    parsed: dict = {}
    status = text("cmi.core.lesson_status")
    if status is not None and status != "":
        if status not in LessonStatus.values:
            raise _invalid(_("cmi.core.lesson_status has a value SCORM 1.2 does not define."))
        parsed["lesson_status"] = status
    for name, field in (("cmi.core.score.raw", "score_raw"), ("cmi.core.score.min", "score_min"),
                        ("cmi.core.score.max", "score_max")):
        value = text(name)
        if value is not None and value.strip() != "":
            parsed[field] = _score(value.strip(), name)
    suspend = text("cmi.suspend_data")
    if suspend is not None:
        if len(suspend) > MAX_SUSPEND_DATA:
            raise _invalid(_("cmi.suspend_data is longer than the 4096 characters SCORM 1.2 allows."))
        parsed["suspend_data"] = suspend
    location = text("cmi.core.lesson_location")
    if location is not None:
        if len(location) > MAX_LOCATION:
            raise _invalid(_("cmi.core.lesson_location is longer than the 255 characters SCORM 1.2 allows."))
        parsed["lesson_location"] = location
    session_time = text("cmi.core.session_time")
    if session_time is not None and session_time.strip() != "":
        parsed["session_seconds"] = _timespan_seconds(session_time.strip())
    exit_value = text("cmi.core.exit")
    if exit_value is not None:
        if exit_value not in EXIT_VALUES:
            raise _invalid(_("cmi.core.exit has a value SCORM 1.2 does not define."))
        parsed["exit"] = exit_value
    return parsed


def scorm_commit(*, user, package: ScormPackage, token, session: str, sequence, values) -> tuple[ScormRegistration,
                                                                                                   bool]:
    """Stores one commit of the player for `user` (who may run `package`: the caller checked access_scorm_package).

    Returns (registration, applied); a commit already received (same session and sequence) is not applied again.
    Malformed input raises scorm_commit_invalid and changes nothing.
    """
    _check_token(token, user=user, package=package)
    if not isinstance(session, str) or not SESSION_ID.match(session):
        raise _invalid(_("The commit names no player session."))
    if isinstance(sequence, bool) or not isinstance(sequence, int) or not 0 <= sequence < 10**9:
        raise _invalid(_("The commit has no sequence number."))
    parsed = parse_commit_values(values)
    try:
        with transaction.atomic():
            return _apply(user=user, package=package, commit_key=f"{session}:{sequence}", session=session,
                          parsed=parsed)
    except IntegrityError:  # the same commit arrived twice at the same moment: the first one was applied
        registration = ScormRegistration.objects.get(package=package, user=user)
        return registration, False


def _apply(*, user, package: ScormPackage, commit_key: str, session: str, parsed: dict):
    ScormRegistration.objects.bulk_create([ScormRegistration(package=package, user=user)], ignore_conflicts=True)
    registration = ScormRegistration.objects.select_for_update().get(package=package, user=user)
    if ScormCommit.objects.filter(registration=registration, commit_key=commit_key).exists():
        return registration, False
    ScormCommit.objects.create(registration=registration, commit_key=commit_key,
                               values={key: str(value) if isinstance(value, Decimal) else value
                                       for key, value in parsed.items()})
    was_complete = registration.lesson_status in COMPLETING_STATUSES
    status = mastery_status(package=package, status=parsed.get("lesson_status", registration.lesson_status
                                                                if "score_raw" in parsed else None),
                            score_raw=parsed.get("score_raw", registration.score_raw))
    if status is not None and not (was_complete and status not in COMPLETING_STATUSES):
        # A completing status is never undone: a later "incomplete" (a re-opened package) keeps the completion.
        registration.lesson_status = status
    elif registration.lesson_status == LessonStatus.NOT_ATTEMPTED and parsed:
        registration.lesson_status = LessonStatus.INCOMPLETE
    for field in ("score_raw", "score_min", "score_max", "suspend_data", "lesson_location", "exit"):
        if field in parsed:
            setattr(registration, field, parsed[field])
    if "session_seconds" in parsed:
        if registration.current_session != session:
            registration.total_time_seconds += registration.session_seconds
            registration.current_session, registration.session_seconds = session, 0
        registration.session_seconds = max(registration.session_seconds, parsed["session_seconds"])
    completes = registration.lesson_status in COMPLETING_STATUSES and registration.completed_at is None
    if completes:
        registration.completed_at = timezone.now()
    registration.save()
    if completes:
        audit_log(actor=user, action="scorm.completed", obj=registration,
                  after={"package": package.pk, "lesson": package.lesson_id, "status": registration.lesson_status,
                         "score": str(registration.score_raw) if registration.score_raw is not None else None})
    if registration.lesson_status in COMPLETING_STATUSES and package.lesson_id:
        _complete_lesson(user=user, lesson=package.lesson)
    return registration, True


def mastery_status(*, package: ScormPackage, status: str | None, score_raw: Decimal | None) -> str | None:
    """The lesson status the LMS records (SCORM 1.2 RTE, cmi.student_data.mastery_score): with a mastery score in
    the manifest and a raw score reported, a SCO's "completed" or "incomplete" becomes "passed" when the score reaches
    the mastery score and "failed" below it. A SCO's own passed/failed, and any status without a score or without a
    mastery score, stand as reported."""
    if status not in (LessonStatus.COMPLETED, LessonStatus.INCOMPLETE):
        return status
    if package.mastery_score is None or score_raw is None:
        return status
    return LessonStatus.PASSED if score_raw >= package.mastery_score else LessonStatus.FAILED


def _complete_lesson(*, user, lesson: LessonPage) -> None:
    """Completes the lesson for a learner of its course (staff checking a package are not learners). Called on
    every completing commit: lesson_complete is idempotent and so repairs a completion refused earlier (missing
    prerequisites), while the package's data is stored in any case."""
    course = lesson.specific._course()
    if course is None or not can_take_course(user, course):
        return
    try:
        with transaction.atomic():
            lesson_complete(user=user, lesson=lesson.specific)
    except DomainError:
        return  # the course refuses completion for now (prerequisites); the SCORM data is kept

