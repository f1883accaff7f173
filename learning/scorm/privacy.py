"""SCORM run-time data in the personal data export; deleted on closing (the lesson's completion is kept by
learning.courses). Packages a staff member uploaded stay: they are course material."""

from engage.core.personal_data import Closing, iso, personal_data
from learning.scorm.models import ScormPackage, ScormRegistration


@personal_data(section="scorm_lessons", model="learning.ScormRegistration", user_fields=("user",), order=92,
               closing=Closing.DELETE)
def scorm_registrations_export(user) -> list[dict]:
    return [
        {"package": r.package.title, "lesson_status": r.lesson_status,
         "score": str(r.score_raw) if r.score_raw is not None else None, "lesson_location": r.lesson_location,
         "suspend_data": r.suspend_data, "seconds": r.time_spent_seconds, "completed_at": iso(r.completed_at),
         "updated_at": iso(r.updated_at)}
        for r in ScormRegistration.objects.filter(user=user).select_related("package").order_by("created_at", "id")
    ]


@personal_data(section="scorm_packages_uploaded", model="learning.ScormPackage", user_fields=("uploaded_by",),
               order=93, closing=Closing.RETAIN, reason="course material uploaded by staff in their role")
def scorm_packages_export(user) -> list[dict]:
    return [{"title": p.title, "uploaded_at": iso(p.created_at)}
            for p in ScormPackage.objects.filter(uploaded_by=user).order_by("created_at", "id")]
