"""Meeting pages go through the same medical → compliance review as content: nothing unapproved goes live, by
any path or anyone; approvals bind to one revision; the final approval gives the meeting its CN-MTG code."""

import pytest
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Workflow

from cms.review.models import ContentApproval
from cms.review.services import WORKFLOW_NAME, content_approve, content_submit_for_review
from engage.core.errors import DomainError
from events.pages.models import EventPage
from tests.cms.factories import (
    REVIEW_PASSWORD,
    assert_half_approved_publish_refused,
    assert_separation_of_duties,
    assert_unapproved_publish_refused,
    reviewer,
)
from tests.events.factories import make_event, publish_event
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def draft_event(**fields) -> EventPage:
    return EventPage.objects.get(pk=make_event(publish=False, **fields).pk)


def test_meeting_pages_are_in_the_review_workflow():
    page = draft_event()
    assert page.get_workflow() == Workflow.objects.get(name=WORKFLOW_NAME)
    assert not page.live


def test_an_unapproved_revision_cannot_be_published_by_script_or_superuser():
    assert_unapproved_publish_refused(draft_event())


def test_a_plain_save_cannot_switch_a_meeting_live():
    page = draft_event()
    page.live = True
    with pytest.raises(DomainError):
        page.save()
    page.refresh_from_db()
    assert not page.live


def test_a_half_approved_revision_cannot_be_published():
    assert_half_approved_publish_refused(draft_event())


def test_separation_of_duties_on_a_meeting_page():
    assert_separation_of_duties(draft_event())


def test_wrong_password_approves_nothing():
    page = draft_event()
    content_submit_for_review(page=page, user=None)
    with pytest.raises(DomainError) as error:
        content_approve(task_state=page.current_workflow_state.current_task_state,
                        reviewer=reviewer("medical_reviewer"), password="wrong")
    assert error.value.code == "wrong_password"
    assert not ContentApproval.objects.filter(page=page).exists()


def test_approval_binds_to_the_revision_and_gives_a_meeting_code():
    page = make_event(title="已审核的会议")
    approvals = ContentApproval.objects.filter(page=page)
    assert {a.meaning for a in approvals} == {"medical", "compliance"}
    assert {a.revision_id for a in approvals} == {page.live_revision_id}
    year = timezone.localdate().year
    assert page.approval_code == f"CN-MTG-{year}-0001"
    assert approvals.get(meaning="compliance").expires_at is None  # meeting approvals do not expire

    # A later change is a new revision: it carries no approval and cannot go live on the old one's.
    approved_revision = page.live_revision_id
    page.title = "未审核的修改"
    revision = page.save_revision()
    with pytest.raises(DomainError):
        revision.publish()
    page.refresh_from_db()
    assert page.live_revision_id == approved_revision and page.title == "已审核的会议"

    # Reviewed again, it goes live with a new code.
    page.title = "未审核的修改"
    publish_event(page)
    page.refresh_from_db()
    assert page.title == "未审核的修改" and page.approval_code == f"CN-MTG-{year}-0002"
    assert ContentApproval.objects.filter(page=page).count() == 4


def test_an_edit_during_review_sends_the_new_revision_back_to_medical_review():
    page = draft_event(title="送审版本")
    content_submit_for_review(page=page, user=None)
    submitted = page.current_workflow_state.current_task_state.revision_id
    content_approve(task_state=page.current_workflow_state.current_task_state,
                    reviewer=reviewer("medical_reviewer"), password=REVIEW_PASSWORD)
    page.title = "审核中偷偷修改"
    edited = page.save_revision()
    page = EventPage.objects.get(pk=page.pk)
    content_approve(task_state=page.current_workflow_state.current_task_state, reviewer=reviewer("compliance"),
                    password=REVIEW_PASSWORD)
    page = EventPage.objects.get(pk=page.pk)
    # The compliance approval belongs to the submitted revision; the edit has none and goes through both again.
    assert not page.live
    assert ContentApproval.objects.filter(revision_id=submitted).count() == 2
    assert not ContentApproval.objects.filter(revision=edited).exists()
    with pytest.raises(DomainError):
        edited.publish()
    task_state = page.current_workflow_state.current_task_state
    assert task_state.task.specific.meaning == "medical" and task_state.revision_id == edited.pk
    content_approve(task_state=task_state, reviewer=reviewer("medical_reviewer"), password=REVIEW_PASSWORD)
    page = EventPage.objects.get(pk=page.pk)
    content_approve(task_state=page.current_workflow_state.current_task_state, reviewer=reviewer("compliance"),
                    password=REVIEW_PASSWORD)
    page.refresh_from_db()
    assert page.live and page.live_revision_id == edited.pk and page.title == "审核中偷偷修改"


def test_superuser_cannot_publish_a_meeting_from_the_editor(client):
    from wagtail.test.utils.form_data import nested_form_data, streamfield

    page = make_event(title="原标题")
    live_revision = page.live_revision_id
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    data = nested_form_data({
        "title": "编辑器里改的标题", "slug": page.slug, "event_type": page.event_type, "topic": page.topic,
        "agenda": streamfield([]), "venue_name": page.venue_name, "venue_radius_m": 500,
        "starts_at": timezone.localtime(page.starts_at).strftime("%Y-%m-%d %H:%M"),
        "ends_at": timezone.localtime(page.ends_at).strftime("%Y-%m-%d %H:%M"),
        "capacity": page.capacity, "checkin_opens_minutes": 60, "audience": page.audience,
        "comments": {"TOTAL_FORMS": 0, "INITIAL_FORMS": 0, "MIN_NUM_FORMS": 0, "MAX_NUM_FORMS": 1000},
        "action-publish": "action-publish",
    })
    response = client.post(reverse("wagtailadmin_pages:edit", args=[page.pk]), data)
    assert response.status_code == 302
    page.refresh_from_db()
    assert page.get_latest_revision().content["title"] == "编辑器里改的标题"  # saved as a draft …
    assert page.live_revision_id == live_revision and page.title == "原标题"  # … not published


def test_the_approval_code_is_shown_on_the_meeting_page(client):
    page = make_event()
    html = client.get(page.url).content.decode()
    assert page.approval_code and f"{page.approval_code}" in html


def test_reviewers_see_the_academic_share_in_the_preview():
    from datetime import time

    page = draft_event(agenda=[
        ("item", {"start_time": time(9), "title": "产品介绍", "speaker": None, "minutes": 45, "academic": False}),
        ("item", {"start_time": time(10), "title": "指南解读", "speaker": None, "minutes": 15, "academic": True}),
    ])
    html = page.get_latest_revision_as_object().make_preview_request().content.decode()
    assert 'data-testid="event-academic-share"' in html and 'data-below-floor="1"' in html
