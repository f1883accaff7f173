"""Medical-legal-regulatory review: only approved revisions go live, approvals bind to revisions, approval codes,
expiry (unpublish, warnings, 410) and the content dashboard."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone, translation
from wagtail.models import Workflow, WorkflowPage

from cms.pages.models import ArticlePage, Audience, HomePage
from cms.review.models import ContentApproval, ContentExpiryNotice
from cms.review.services import (
    WORKFLOW_NAME,
    content_approve,
    content_submit_for_review,
    content_warn_expiring,
)
from cms.review.tasks import content_expiry_task
from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from tests.cms.factories import (
    REVIEW_PASSWORD,
    approve_and_publish,
    area_page,
    assert_half_approved_publish_refused,
    assert_separation_of_duties,
    assert_unapproved_publish_refused,
    make_article,
    refused_approval,
    reviewer,
)
from tests.factories import UserFactory, assert_append_only, user_with_role
from tests.race import exceptions, race

pytestmark = pytest.mark.django_db


def draft_article(slug="draft", title="未审核的文章", parent=None):
    parent = parent or area_page()
    page = ArticlePage(title=title, slug=slug, audience=Audience.PUBLIC, summary="摘要",
                       body=[("rich_text", "<p>内容</p>")])
    parent.add_child(instance=page)
    page.save_revision()
    return ArticlePage.objects.get(pk=page.pk)


def test_the_workflow_is_required_for_the_whole_content_tree():
    workflow = Workflow.objects.get(name=WORKFLOW_NAME)
    assert [t.specific.meaning for t in workflow.tasks] == ["medical", "compliance"]
    assert WorkflowPage.objects.get(page=HomePage.objects.get()).workflow == workflow
    assert draft_article().get_workflow() == workflow


def test_unapproved_revisions_cannot_be_published_by_script_or_superuser():
    assert_unapproved_publish_refused(draft_article())


def test_half_approved_revision_cannot_be_published():
    assert_half_approved_publish_refused(draft_article())


def _edit_post_data(page, title):
    from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

    return nested_form_data({
        "title": title, "slug": page.slug, "summary": "摘要", "audience": Audience.PUBLIC,
        "body": streamfield([("rich_text", rich_text("<p>改过的内容</p>"))]),
        "tags": "", "comments": {"TOTAL_FORMS": 0, "INITIAL_FORMS": 0, "MIN_NUM_FORMS": 0, "MAX_NUM_FORMS": 1000},
        "action-publish": "action-publish",
    })


def test_superuser_cannot_publish_from_the_admin_editor(client):
    page = approve_and_publish(draft_article())
    live_revision = page.live_revision_id
    superuser = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(superuser)
    response = client.post(reverse("wagtailadmin_pages:edit", args=[page.pk]), _edit_post_data(page, "改过的标题"))
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtailadmin_pages:edit", args=[page.pk])
    page.refresh_from_db()
    assert page.get_latest_revision().content["title"] == "改过的标题"  # the edit was saved as a draft …
    assert page.live_revision_id == live_revision  # … but not published
    assert page.title == "未审核的文章"


def test_approval_binds_to_the_exact_revision_and_an_edit_needs_new_approval():
    page = approve_and_publish(draft_article())
    approvals = ContentApproval.objects.filter(page=page)
    assert {a.meaning for a in approvals} == {"medical", "compliance"}
    assert {a.revision_id for a in approvals} == {page.live_revision_id}
    assert {a.reviewer.username for a in approvals} == {"review-medical_reviewer", "review-compliance"}
    page.title = "编辑后的标题"
    new_revision = page.save_revision()
    with pytest.raises(DomainError):
        new_revision.publish()
    page.refresh_from_db()
    assert page.title == "未审核的文章"
    page.title = "编辑后的标题"
    page = approve_and_publish(page)
    assert page.title == "编辑后的标题"
    assert ContentApproval.objects.filter(page=page).count() == 4
    assert ContentApproval.objects.filter(revision_id=page.live_revision_id).count() == 2


def test_wrong_password_is_refused_and_nothing_is_approved():
    page = draft_article()
    content_submit_for_review(page=page, user=None)
    task_state = page.current_workflow_state.current_task_state
    for password in ["wrong", "", "x" * 300]:
        with pytest.raises(DomainError) as error:
            content_approve(task_state=task_state, reviewer=reviewer("medical_reviewer"), password=password)
        assert error.value.code == "wrong_password"
    assert not ContentApproval.objects.exists()
    task_state.refresh_from_db()
    assert task_state.status == "in_progress"


@pytest.mark.parametrize("role", ["compliance", "marketing", "doctor", "rep"])
def test_only_the_steps_group_may_approve(role_user, role):
    page = draft_article()
    content_submit_for_review(page=page, user=None)
    with pytest.raises(DomainError) as error:
        content_approve(task_state=page.current_workflow_state.current_task_state, reviewer=role_user(role),
                        password=REVIEW_PASSWORD)
    assert error.value.code == "not_a_reviewer"
    assert not ContentApproval.objects.exists()


def test_admin_workflow_action_needs_the_password(client):
    page = draft_article()
    content_submit_for_review(page=page, user=None)
    task_state = page.current_workflow_state.current_task_state
    medical = reviewer("medical_reviewer")
    client.force_login(medical)
    url = reverse("wagtailadmin_pages:workflow_action", args=[page.pk, "approve", task_state.pk])
    for data in ({"comment": "ok", "password": "wrong"}, {"comment": "ok"}, {"password": "x" * 1000}):
        response = client.post(url, data)
        assert response.status_code in (200, 302)  # the admin says why; nothing is approved
        assert not ContentApproval.objects.exists()
        task_state.refresh_from_db()
        assert task_state.status == "in_progress"
    response = client.post(url, {"comment": "医学内容准确", "password": REVIEW_PASSWORD})
    assert response.status_code == 302
    approval = ContentApproval.objects.get()
    assert (approval.meaning, approval.reviewer, approval.comment) == ("medical", medical, "医学内容准确")
    assert approval.revision_id == task_state.revision_id
    assert AuditEntry.objects.filter(action="content.approve.medical").exists()


def test_wrong_password_in_the_approval_dialog_says_so_on_the_field(client):
    page = draft_article()
    content_submit_for_review(page=page, user=None)
    task_state = page.current_workflow_state.current_task_state
    client.force_login(reviewer("medical_reviewer"))
    url = reverse("wagtailadmin_pages:workflow_action", args=[page.pk, "approve", task_state.pk])
    response = client.post(url, {"comment": "ok", "password": "wrong"}, headers={"X-Requested-With": "XMLHttpRequest"})
    assert response.status_code == 200
    html = response.json()["html"]
    with translation.override("zh-hans"):
        assert translation.gettext("The password is not correct; nothing was approved.") in html
    assert not ContentApproval.objects.exists()


def test_final_approval_assigns_code_and_default_expiry_shown_in_the_footer(client):
    page = approve_and_publish(draft_article())
    year = timezone.localdate().year
    assert page.approval_code == f"CN-DIA-{year}-0001"
    assert abs(page.expires_at - (timezone.now() + datetime.timedelta(days=365))) < datetime.timedelta(hours=1)
    response = client.get(page.url)
    assert response.status_code == 200
    assert page.approval_code in response.content.decode()
    in_90_days = timezone.localdate() + datetime.timedelta(days=90)
    second = approve_and_publish(draft_article(slug="second"), expires_on=in_90_days)
    assert second.approval_code == f"CN-DIA-{year}-0002"
    assert second.expires_at.date() >= timezone.localdate() + datetime.timedelta(days=89)


def test_expiry_in_the_past_is_refused():
    page = draft_article()
    with pytest.raises(DomainError) as error:
        approve_and_publish(page, expires_on=timezone.localdate())
    assert error.value.code == "expiry_in_past"


def test_approvals_are_append_only():
    page = approve_and_publish(draft_article())
    approval = ContentApproval.objects.filter(page=page).first()
    approval.comment = "changed"
    with pytest.raises(ValueError):
        approval.save()
    with pytest.raises(ValueError):
        approval.delete()


def test_approvals_are_append_only_in_the_database_too():
    page = approve_and_publish(draft_article())
    assert_append_only(ContentApproval.objects.filter(page=page).first())


def test_a_review_task_with_approvals_cannot_be_deleted():
    """Deleting the task would null the approvals' reference, an UPDATE of evidence: refused before any SQL."""
    from django.db.models import ProtectedError

    page = approve_and_publish(draft_article())
    task = ContentApproval.objects.filter(page=page).first().task
    with pytest.raises(ProtectedError):
        task.delete()
    assert ContentApproval.objects.filter(page=page, task=task).exists()


def test_separation_of_duties_on_a_content_page():
    assert_separation_of_duties(draft_article())


def test_a_superuser_is_not_implicitly_a_reviewer():
    from engage.core.roles import Capability, can, capability_holders

    superuser = UserFactory(is_superuser=True, is_staff=True)
    page = draft_article()
    content_submit_for_review(page=page, user=None)
    refused_approval(page, superuser, code="not_a_reviewer")
    for capability in (Capability.APPROVE_MEDICAL, Capability.APPROVE_COMPLIANCE):
        assert not can(superuser, capability)
        assert superuser not in capability_holders(capability)
    assert can(superuser, Capability.VIEW_AUDIT_TRAIL)  # every other capability stays implied
    superuser.groups.add(Group.objects.get(name="medical_reviewer"))
    superuser = UserFactory._meta.model.objects.get(pk=superuser.pk)
    assert can(superuser, Capability.APPROVE_MEDICAL)  # a superuser in the group reviews like anyone in it
    assert not can(superuser, Capability.APPROVE_COMPLIANCE)


def test_everyone_who_edited_since_the_last_approval_is_an_author():
    page = approve_and_publish(draft_article())
    editor, compliance, marketing = user_with_role("compliance"), reviewer("compliance"), user_with_role("marketing")
    page.title = "合规人员改过"
    page.save_revision(user=editor)
    page.title = "市场人员又改过"
    page.save_revision(user=marketing)
    content_submit_for_review(page=page, user=marketing)
    content_approve(task_state=page.current_workflow_state.current_task_state, reviewer=reviewer("medical_reviewer"),
                    password=REVIEW_PASSWORD)
    refused_approval(page, editor, code="reviewer_is_author")
    content_approve(task_state=page.current_workflow_state.current_task_state, reviewer=compliance,
                    password=REVIEW_PASSWORD)
    page.refresh_from_db()
    assert page.live and page.title == "市场人员又改过"
    # after that approval the editor's earlier edit no longer makes them an author of the next version
    page = approve_and_publish(page, compliance=editor)
    assert ContentApproval.objects.filter(revision_id=page.live_revision_id, reviewer=editor).exists()


def test_expired_pages_are_unpublished_audited_and_answer_410(client):
    page = make_article(audience=Audience.PUBLIC, slug="expiring", title="即将过期")
    fresh = make_article(audience=Audience.PUBLIC, slug="fresh", title="仍然有效")
    ArticlePage.objects.filter(pk=page.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    assert content_expiry_task()["withdrawn"] == 1
    page.refresh_from_db()
    assert not page.live
    fresh.refresh_from_db()
    assert fresh.live
    assert AuditEntry.objects.filter(action="content.expired_unpublished", object_id=str(page.pk)).exists()
    response = client.get(page.url)
    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()
    api = client.get(f"/api/v1/content/{page.pk}")
    assert api.status_code == 410 and api.json()["code"] == "content_withdrawn"
    assert content_expiry_task()["withdrawn"] == 0  # idempotent


def test_owners_are_warned_once_per_threshold(django_capture_on_commit_callbacks, mailoutbox):
    from engage.inbox.models import Notification

    owner = UserFactory(email="owner@pharma.example.cn")
    page = make_article(slug="warn", title="即将到期的文章")
    ArticlePage.objects.filter(pk=page.pk).update(owner=owner,
                                                  expires_at=timezone.now() + datetime.timedelta(days=20))
    with django_capture_on_commit_callbacks(execute=True):
        assert content_warn_expiring() == 1
        assert content_warn_expiring() == 0
    ArticlePage.objects.filter(pk=page.pk).update(expires_at=timezone.now() + datetime.timedelta(days=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert content_warn_expiring() == 1
        assert content_warn_expiring() == 0
    assert sorted(ContentExpiryNotice.objects.values_list("days_before", flat=True)) == [7, 30]
    assert AuditEntry.objects.filter(action="content.expiry_warning").count() == 2
    notices = Notification.objects.filter(user=owner, kind="content.expiring")
    assert notices.count() == 2 and all("即将到期的文章" in n.title for n in notices)
    warnings = [m for m in mailoutbox if m.to == ["owner@pharma.example.cn"]]
    assert len(warnings) == 2 and f"/admin/pages/{page.pk}/edit/" in warnings[0].body


@pytest.mark.parametrize("role", ["admin", "medical_reviewer", "compliance", "marketing"])
def test_content_dashboard_panel(client, role_user, role):
    import re

    make_article(slug="live-one")
    in_review = draft_article(slug="in-review")
    content_submit_for_review(page=in_review, user=None)
    client.force_login(role_user(role))
    response = client.get(reverse("wagtailadmin_home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="content-review-panel"' in html
    counts = dict(re.findall(r'data-testid="count-([a-z-]+)">[^<]*?(\d+)</li>', html))
    assert counts == {"in-review": "1", "approved": "1", "expiring": "0", "expired": "0"}


@pytest.mark.django_db(transaction=True)
def test_approval_codes_are_unique_under_concurrent_approvals():
    pages = [draft_article(slug=f"race-{i}") for i in range(6)]
    medical, compliance = reviewer("medical_reviewer"), reviewer("compliance")
    for page in pages:
        content_submit_for_review(page=page, user=None)
        content_approve(task_state=page.current_workflow_state.current_task_state, reviewer=medical,
                        password=REVIEW_PASSWORD)
    states = [ArticlePage.objects.get(pk=p.pk).current_workflow_state.current_task_state for p in pages]
    errors = exceptions(race(len(states), lambda i: content_approve(task_state=states[i], reviewer=compliance,
                                                                    password=REVIEW_PASSWORD), timeout=60))
    assert errors == []
    codes = sorted(ArticlePage.objects.filter(pk__in=[p.pk for p in pages]).values_list("approval_code", flat=True))
    year = timezone.localdate().year
    assert codes == [f"CN-DIA-{year}-{n:04d}" for n in range(1, 7)]
    assert ArticlePage.objects.filter(pk__in=[p.pk for p in pages], live=True).count() == 6


def test_a_page_cannot_be_switched_live_without_publishing_an_approved_revision():
    page = draft_article(slug="sneaky")
    assert not page.live  # add_child(live=True by default) still makes a draft
    page.live = True
    with pytest.raises(DomainError):
        page.save()
    page.live_revision = page.get_latest_revision()
    with pytest.raises(DomainError):
        page.save()
    assert not ArticlePage.objects.get(pk=page.pk).live
    approved = approve_and_publish(ArticlePage.objects.get(pk=page.pk))
    approved.title = "只改了标题"
    approved.save()  # saving a live page with its approved live revision is fine
    assert ArticlePage.objects.get(pk=page.pk).live


def test_dashboard_most_read_counts_readers_completions_and_forwards(client, role_user):
    from datetime import timedelta

    from cms.reading.models import ReadingRecord
    from cms.reading.selectors import content_most_read
    from tests.cms.factories import make_reader

    popular, quiet, old = (make_article(slug=s, title=t) for s, t in
                           (("popular", "最常读的文章"), ("quiet", "较少读的文章"), ("old", "很久以前读的文章")))
    readers = [make_reader("verified") for _ in range(3)]
    now = timezone.now()
    for n, reader in enumerate(readers):
        ReadingRecord.objects.create(doctor=reader, page=popular, completed_at=now if n < 2 else None,
                                     referrer=readers[0] if n == 2 else None)
    ReadingRecord.objects.create(doctor=readers[0], page=quiet)
    ReadingRecord.objects.create(doctor=readers[1], page=old, started_at=now - timedelta(days=45))

    ranked = content_most_read(since=now - timedelta(days=30))
    assert [(p.pk, p.readers, p.completed, p.forwarded) for p in ranked] == [
        (popular.pk, 3, 2, 1), (quiet.pk, 1, 0, 0)]

    client.force_login(role_user("marketing"))
    html = client.get(reverse("wagtailadmin_home")).content.decode()
    table = html.split('data-testid="most-read"', 1)[1].split("</table>", 1)[0]
    assert table.index("最常读的文章") < table.index("较少读的文章")
    assert "很久以前读的文章" not in table
