"""The competency and knowledge kinds about compliance are stored as "compliance_topic" / "compliance_rule" (not the
compliance role's name); migration 0007 converts existing rows and knowledge-entry revisions, and back."""

import importlib

import pytest
from django.apps import apps

from engage.core.errors import DomainError
from learning.competencies.models import CompetencySnapshot
from learning.knowledge.models import KnowledgeEntryPage, KnowledgeKind
from learning.questions.models import CompetencyKind, QuestionCategory
from learning.questions.services import category_create
from tests.factories import user_with_role
from tests.learning.knowledge.builders import make_entry
from tests.learning.quals import make_rep

pytestmark = pytest.mark.django_db

migration = importlib.import_module("learning.migrations.0007_lrest_compliance_values")


def test_the_stored_values_are_not_role_names():
    assert CompetencyKind.COMPLIANCE.value == "compliance_topic"
    assert KnowledgeKind.COMPLIANCE.value == "compliance_rule"
    assert "compliance" not in CompetencyKind.values + KnowledgeKind.values


def test_an_unknown_competency_is_refused_and_nothing_is_written():
    with pytest.raises(DomainError) as error:
        category_create(actor=user_with_role("marketing"), name="合规", kind="compliance")
    assert error.value.code == "unknown_competency"
    assert not QuestionCategory.objects.filter(name="合规").exists()


def test_the_migration_converts_rows_and_revisions_both_ways():
    category = QuestionCategory.objects.create(name="合规", kind="compliance")
    kept = QuestionCategory.objects.create(name="产品", kind=CompetencyKind.PRODUCT)
    snapshot = CompetencySnapshot.objects.create(user=make_rep(), kind="compliance", taken_on="2026-11-30",
                                                 percent=80, answered=5)
    entry = make_entry(kind=KnowledgeKind.FAQ)
    KnowledgeEntryPage.objects.filter(pk=entry.pk).update(kind="compliance")
    revision = entry.revisions.order_by("-pk").first()  # its history carries the old value too
    revision.content["kind"] = "compliance"
    revision.save(update_fields=["content"])

    migration.forwards(apps, None)
    category.refresh_from_db(), kept.refresh_from_db(), snapshot.refresh_from_db(), entry.refresh_from_db()
    revision.refresh_from_db()
    assert (category.kind, kept.kind, snapshot.kind) == ("compliance_topic", "product", "compliance_topic")
    assert entry.kind == revision.content["kind"] == "compliance_rule"
    assert entry.revisions.filter(content__kind="compliance").count() == 0

    migration.backwards(apps, None)
    category.refresh_from_db(), snapshot.refresh_from_db(), entry.refresh_from_db(), revision.refresh_from_db()
    assert (category.kind, snapshot.kind, entry.kind, revision.content["kind"]) == ("compliance",) * 4
