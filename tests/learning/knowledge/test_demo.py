"""Demo knowledge base and SCORM lesson: entries per demo product through the real review, a demo rep's questions
(one answered, in their inbox), a SCORM lesson built from the tests' package; both seeders idempotent."""

import pytest

from cms.pages.models import Product
from engage.inbox.models import Notification
from learning.knowledge.demo import ENTRIES, seed_knowledge_base
from learning.knowledge.models import KnowledgeEntryPage, KnowledgeQuestion, KnowledgeSearchTerm
from learning.scorm.demo import seed_scorm_lesson
from learning.scorm.models import ScormPackage
from tests.factories import user_with_role
from tests.learning.exam_builders import course_index

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_files_in_tmp(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "private": {
        "BACKEND": "engage.core.storage.PrivateFileSystemStorage", "OPTIONS": {"location": tmp_path / "private"}}}


def test_the_demo_knowledge_base_is_seeded_once_through_review():
    user_with_role("rep", username="demo-rep-01")
    for name in ENTRIES:  # the demo products (cms.pages.demo seeds them with its content)
        Product.objects.create(name=name)
    created = seed_knowledge_base()
    assert created["knowledge entries"] == sum(len(entries) for entries in ENTRIES.values())
    assert KnowledgeEntryPage.objects.live().count() == created["knowledge entries"]
    assert all(entry.approval_code for entry in KnowledgeEntryPage.objects.all())
    assert KnowledgeSearchTerm.objects.filter(term="低血糖").exists()
    assert KnowledgeQuestion.objects.filter(status="answered").count() == 1
    assert Notification.objects.filter(user__username="demo-rep-01", kind="knowledge.answered").count() == 1
    assert seed_knowledge_base() == {"knowledge entries": 0, "questions to medical": 0}


def test_the_demo_scorm_lesson_is_seeded_once():
    user_with_role("marketing", username="demo-marketing")
    course_index()
    assert seed_scorm_lesson() == {"SCORM lessons": 1}
    package = ScormPackage.objects.get()
    assert package.lesson is not None and package.lesson.live and package.launch_path == "index.html"
    assert seed_scorm_lesson() == {"SCORM lessons": 0}
