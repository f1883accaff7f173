"""The review in Wagtail's own admin: the approve dialog and action of the moderation workflow keep the rules of
separation of duties the approval service keeps (a superuser outside the review groups, an author)."""

import pytest
from django.urls import reverse
from django.utils import translation

from cms.review.models import ContentApproval
from cms.review.services import content_submit_for_review
from engage.audit.models import AuditEntry
from tests.cms.factories import REVIEW_PASSWORD, area_page, make_article
from tests.factories import UserFactory, user_with_role

pytestmark = pytest.mark.django_db

XHR = {"X-Requested-With": "XMLHttpRequest"}


def in_review(author=None):
    """A published article edited by `author` and submitted: its medical step is open."""
    page = make_article(area_page(), slug="in-review")
    page.title = "修订后的标题"
    page.save_revision(user=author)
    content_submit_for_review(page=page, user=author)
    return page, page.current_workflow_state.current_task_state


def approve_url(page, task_state):
    return reverse("wagtailadmin_pages:workflow_action", args=[page.pk, "approve", task_state.pk])


def assert_nothing_approved(page, task_state):
    assert not ContentApproval.objects.filter(revision_id=task_state.revision_id).exists()
    task_state.refresh_from_db()
    assert task_state.status == "in_progress"


def test_a_superuser_outside_the_review_groups_gets_no_approve_action(client):
    page, task_state = in_review()
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert client.get(approve_url(page, task_state), headers=XHR).status_code == 403
    response = client.post(approve_url(page, task_state), {"comment": "ok", "password": REVIEW_PASSWORD})
    assert (response.status_code, response.get("Location")) in ((403, None), (302, reverse("wagtailadmin_home")))
    assert_nothing_approved(page, task_state)
    dashboard = client.get(reverse("wagtailadmin_home")).content.decode()
    assert approve_url(page, task_state) not in dashboard  # nothing awaits their review


def test_the_author_is_told_in_the_approval_dialog_and_refused(client):
    author = user_with_role("medical_reviewer")
    page, task_state = in_review(author)
    client.force_login(author)
    response = client.get(approve_url(page, task_state), headers=XHR)
    assert response.status_code == 200
    html = response.json()["html"]
    assert 'data-code="reviewer_is_author"' in html and 'name="password"' not in html
    with translation.override("zh-hans"):
        assert translation.gettext("You wrote or edited this version; another reviewer must approve it.") in html
    response = client.post(approve_url(page, task_state), {"comment": "ok", "password": REVIEW_PASSWORD},
                           headers=XHR)
    assert response.status_code == 403
    assert_nothing_approved(page, task_state)
    entry = AuditEntry.objects.get(action="content.approve_refused")
    assert (entry.actor_id, entry.reason, entry.object_id) == (author.pk, "reviewer_is_author", str(page.pk))


def test_another_medical_reviewer_approves_from_the_dialog(client):
    page, task_state = in_review(user_with_role("marketing"))
    medical = user_with_role("medical_reviewer")
    client.force_login(medical)
    response = client.get(approve_url(page, task_state), headers=XHR)
    assert 'name="password"' in response.json()["html"]
    response = client.post(approve_url(page, task_state), {"comment": "ok", "password": REVIEW_PASSWORD})
    assert response.status_code == 302
    assert ContentApproval.objects.get(revision_id=task_state.revision_id).reviewer == medical


@pytest.mark.parametrize("modal", [False, True], ids=["form", "modal"])
def test_after_approving_the_reviewer_lands_on_the_review_queue_with_a_success_message(client, modal):
    page, task_state = in_review(user_with_role("marketing"))
    medical = user_with_role("medical_reviewer")
    client.force_login(medical)
    headers = XHR if modal else {}
    response = client.post(approve_url(page, task_state), {"comment": "ok", "password": REVIEW_PASSWORD},
                           headers=headers)
    landing = response.json()["redirect"] if modal else response["Location"]
    assert landing == f"{reverse('wagtailadmin_home')}?reviewed={task_state.pk}"
    with translation.override("zh-hans"):
        html = client.get(landing, headers={"Accept-Language": "zh-hans"}).content.decode()
        assert translation.gettext("Sorry, you do not have permission to access this area.") not in html
    assert "对不起" not in html and "已批准：“修订后的标题”" in html


def test_after_requesting_changes_the_reviewer_lands_on_the_review_queue(client):
    page, task_state = in_review(user_with_role("marketing"))
    client.force_login(user_with_role("medical_reviewer"))
    url = reverse("wagtailadmin_pages:workflow_action", args=[page.pk, "reject", task_state.pk])
    response = client.post(url, {"comment": "请补充参考文献"})
    assert response["Location"] == f"{reverse('wagtailadmin_home')}?reviewed={task_state.pk}"
    html = client.get(response["Location"]).content.decode()
    assert "对不起" not in html and "已退回修改：" in html


def test_the_landing_message_is_only_for_the_reviewer_who_acted(client):
    page, task_state = in_review(user_with_role("marketing"))
    client.force_login(user_with_role("medical_reviewer"))
    client.post(approve_url(page, task_state), {"comment": "ok", "password": REVIEW_PASSWORD})
    client.force_login(user_with_role("compliance"))
    for query in (f"?reviewed={task_state.pk}", "?reviewed=abc", "?reviewed=" + "9" * 40):
        html = client.get(reverse("wagtailadmin_home") + query).content.decode()
        assert "已批准：" not in html and "已退回修改：" not in html
