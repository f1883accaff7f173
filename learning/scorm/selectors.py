"""Who may run a SCORM package and read its files, and the run-time data a launch resumes from.

A learner may run a package attached to a lesson they may open (the lesson's own rule,
learning.courses.selectors.access_lesson); staff who manage packages may open any package to check it.
"""

from django.utils.translation import gettext_lazy as _

from engage.core.errors import DomainError, NotFound
from engage.core.roles import Capability, can
from engage.core.storage import private_storage
from learning.courses.selectors import access_lesson
from learning.scorm.models import ScormPackage, ScormRegistration


def can_manage_scorm_packages(user) -> bool:
    return can(user, Capability.MANAGE_SCORM_PACKAGES)


def _may_run(user, package: ScormPackage) -> bool:
    if can_manage_scorm_packages(user):
        return True
    if not getattr(user, "is_authenticated", False) or package.lesson_id is None:
        return False
    try:
        access_lesson(user=user, lesson_id=package.lesson_id)
    except DomainError:
        return False
    return True


def access_scorm_package(*, user, scorm_package_id: int) -> ScormPackage:
    """The package for someone who may run it; for anyone else it does not exist (NotFound, no hint)."""
    package = ScormPackage.objects.select_related("lesson").filter(pk=scorm_package_id).first()
    if package is None or not _may_run(user, package):
        raise NotFound("scorm_package_not_found", _("No such SCORM lesson."))
    return package


def can_run_scorm_package(user, package: ScormPackage) -> bool:
    return _may_run(user, package)


def scorm_resume_data(*, user, package: ScormPackage) -> dict:
    """What the player loads before the package starts (SCORM 1.2 cmi): where the learner left off."""
    registration = ScormRegistration.objects.filter(package=package, user=user).first()
    core = {"student_id": str(user.pk), "student_name": (user.get_full_name() or user.get_username())[:255],
            "lesson_status": "not attempted", "lesson_location": "", "entry": "ab-initio"}
    data = {"core": core, "suspend_data": ""}
    if package.mastery_score is not None:  # the SCO may read it (cmi.student_data.mastery_score, from the manifest)
        data["student_data"] = {"mastery_score": _number(package.mastery_score)}
    if registration is not None and registration.lesson_status != "not attempted":
        core["lesson_status"] = registration.lesson_status
        core["lesson_location"] = registration.lesson_location
        core["entry"] = "resume" if (registration.suspend_data or registration.lesson_location) else ""
        data["suspend_data"] = registration.suspend_data
        if registration.score_raw is not None:
            core["score"] = {"raw": _number(registration.score_raw)}
    return data


def _number(value) -> str:
    text = format(value.normalize(), "f")
    return text


def packages_for_admin():
    return ScormPackage.objects.select_related("lesson", "uploaded_by").order_by("-created_at", "-pk")


def scorm_package_file(*, package: ScormPackage, path: str):
    """An open file of the package (the caller checked access); NotFound for paths outside it or missing."""
    parts = [part for part in (path or "").split("/") if part not in ("", ".")]
    if not parts or ".." in parts or "\\" in path or "\x00" in path:
        raise NotFound("scorm_file_not_found", _("No such file in this lesson."))
    storage = private_storage()
    name = package.file_name("/".join(parts))
    if not storage.exists(name):
        raise NotFound("scorm_file_not_found", _("No such file in this lesson."))
    return storage.open(name, "rb"), parts[-1]
