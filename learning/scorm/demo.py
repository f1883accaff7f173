"""Demo SCORM lesson for `manage.py seed_demo`: an internal course "合规沟通微课（SCORM）" whose one lesson runs the
sample SCORM 1.2 package (learning.scorm.exporters, the one the tests use). Idempotent: skipped when the course is
there already."""

import io

from django.db import transaction

from engage.core.demo import demo_seeder
from engage.core.roles import Capability, capability_holders
from learning.courses.models import CompletionRule, CourseIndexPage, CoursePage, LessonPage
from learning.scorm.exporters import scorm_sample_package
from learning.scorm.services import scorm_package_upload

COURSE_SLUG = "scorm-compliance-micro"


@transaction.atomic
@demo_seeder(order=130)
def seed_scorm_lesson() -> dict[str, int]:
    created = {"SCORM lessons": 0}
    index = CourseIndexPage.objects.first()
    uploader = capability_holders(Capability.MANAGE_SCORM_PACKAGES, superusers=False).order_by("pk").first()
    if index is None or uploader is None or index.get_children().filter(slug=COURSE_SLUG).exists():
        return created
    course = CoursePage(title="合规沟通微课（SCORM）", slug=COURSE_SLUG,
                        summary="十分钟的SCORM互动微课：说明书信息与合规沟通。", estimated_minutes=10,
                        completion_rule=CompletionRule.LESSONS)
    index.add_child(instance=course)
    course.save_revision().publish()
    lesson = LessonPage(title="互动微课", slug="interactive", summary="在框内完成两页互动内容。", estimated_minutes=10)
    course.add_child(instance=lesson)
    lesson.save_revision().publish()
    scorm_package_upload(actor=uploader, upload=io.BytesIO(scorm_sample_package(title="合规沟通微课")),
                         lesson_id=lesson.pk)
    created["SCORM lessons"] += 1
    return created
