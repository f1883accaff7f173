"""Builders for content tests: therapy-area pages, published articles, literature and videos, readers."""

from django.core.files.base import ContentFile
from wagtail.documents import get_document_model

from cms.pages.models import ArticlePage, Audience, HomePage, LiteraturePage, TherapyAreaPage, VideoPage
from members.hospitals.models import TherapyArea
from members.profiles.models import DoctorProfile
from tests.factories import DoctorProfileFactory, user_with_role

STAFF_READERS = ["marketing", "medical_reviewer", "compliance", "admin"]
READERS = ["anonymous", "registered", "pending", "rejected", "verified", "kol", "rep", *STAFF_READERS]
# What each reader may read, by audience (staff read everything: they author and review it).
MAY_READ = {
    "anonymous": {Audience.PUBLIC},
    "registered": {Audience.PUBLIC, Audience.REGISTERED},
    "pending": {Audience.PUBLIC, Audience.REGISTERED},
    "rejected": {Audience.PUBLIC, Audience.REGISTERED},
    "rep": {Audience.PUBLIC, Audience.REGISTERED},
    "verified": {Audience.PUBLIC, Audience.REGISTERED, Audience.VERIFIED},
    "kol": set(Audience),
    **{role: set(Audience) for role in STAFF_READERS},
}


def make_reader(kind: str, *, specialties=()):
    """A user of the given kind, or None for an anonymous visitor."""
    if kind == "anonymous":
        return None
    if kind in ("rep", *STAFF_READERS):
        return user_with_role(kind)
    user = user_with_role("doctor")
    status = {"pending": DoctorProfile.Status.PENDING, "rejected": DoctorProfile.Status.REJECTED,
              "verified": DoctorProfile.Status.VERIFIED, "kol": DoctorProfile.Status.VERIFIED}.get(kind)
    if status:
        profile = DoctorProfileFactory(user=user, status=status, is_speaker=kind == "kol")
        profile.specialties.set(specialties)
    return user


def area_page(code: str = "diabetes") -> TherapyAreaPage:
    area = TherapyArea.objects.get(code=code)
    existing = TherapyAreaPage.objects.filter(therapy_area=area).first()
    if existing:
        return existing
    page = TherapyAreaPage(title=area.name, slug=code, therapy_area=area)
    HomePage.objects.get().add_child(instance=page)
    page.save_revision().publish()
    return page


def make_document(title: str = "指南全文", name: str = "guide.pdf", content: bytes = b"%PDF-1.4 test"):
    document = get_document_model()(title=title)
    document.file.save(name, ContentFile(content), save=False)
    document.save()
    return document


REVIEW_PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's password


def reviewer(role: str):
    """The test's medical reviewer or compliance officer (one per role and test)."""
    from members.accounts.models import User

    username = f"review-{role}"
    return User.objects.filter(username=username).first() or user_with_role(role, username=username)


def approve_and_publish(page, *, medical=None, compliance=None, expires_on=None):
    """Saves a revision of `page` and takes it through the real review workflow: medical then compliance
    approval (each with the reviewer's password) via the service; the final approval publishes it."""
    from cms.review.services import content_approve, content_submit_for_review

    page = page.specific
    page.save_revision()
    content_submit_for_review(page=page, user=None)
    for meaning, user in (("medical", medical or reviewer("medical_reviewer")),
                          ("compliance", compliance or reviewer("compliance"))):
        task_state = page.current_workflow_state.current_task_state
        assert task_state.task.specific.meaning == meaning
        content_approve(task_state=task_state, reviewer=user, password=REVIEW_PASSWORD,
                        expires_on=expires_on if meaning == "compliance" else None)
    page.refresh_from_db()
    assert page.live
    return page


def publish(parent, page, *, areas=(), tags=()):
    page.therapy_areas.set(list(areas))
    for tag in tags:
        page.tags.add(tag)
    parent.add_child(instance=page)
    return approve_and_publish(page)


def make_article(parent=None, *, title="糖尿病患者的血糖管理", audience=Audience.VERIFIED, body=None,
                 summary="摘要", slug=None, areas=None, tags=()):
    parent = parent or area_page()
    body = body if body is not None else [("rich_text", "<p>二甲双胍是2型糖尿病的一线用药。</p>")]
    page = ArticlePage(title=title, slug=slug or f"a-{ArticlePage.objects.count() + 1}", summary=summary,
                       audience=audience, body=body)
    return publish(parent, page, areas=areas if areas is not None else [parent.specific.therapy_area], tags=tags)


def make_literature(parent=None, *, title="达格列净的肾脏结局研究", audience=Audience.VERIFIED, full_text=None,
                    download_allowed=False, slug=None):
    parent = parent or area_page()
    page = LiteraturePage(
        title=title, slug=slug or f"l-{LiteraturePage.objects.count() + 1}", audience=audience,
        journal="新英格兰医学杂志", authors="Heerspink HJL, et al.", year=2020, doi="10.1056/NEJMoa2024816",
        pmid="32970396", abstract="<p>SGLT2抑制剂降低慢性肾脏病进展风险。</p>", full_text=full_text,
        download_allowed=download_allowed,
    )
    return publish(parent, page, areas=[parent.specific.therapy_area])


def make_video(parent=None, *, title="胰岛素注射技术", audience=Audience.VERIFIED, video_file=None,
               stream_url="", slug=None):
    parent = parent or area_page()
    page = VideoPage(
        title=title, slug=slug or f"v-{VideoPage.objects.count() + 1}", audience=audience, video_file=video_file,
        stream_url=stream_url or ("" if video_file else "https://media.example.cn/v/index.m3u8"),
        transcript="今天讲胰岛素注射。", chapters=[("chapter", {"start": "0:00", "title": "引言"})],
    )
    return publish(parent, page, areas=[parent.specific.therapy_area])


def assert_unapproved_publish_refused(page) -> None:
    """No publish path takes an unapproved revision of `page` live: a script, a superuser skipping permission
    checks, a superuser's own new revision."""
    import pytest

    from engage.core.errors import DomainError
    from tests.factories import UserFactory

    superuser = UserFactory(is_superuser=True, is_staff=True)
    with pytest.raises(DomainError) as error:
        page.save_revision().publish()
    assert error.value.code == "revision_not_approved"
    with pytest.raises(DomainError):
        page.get_latest_revision().publish(user=superuser, skip_permission_checks=True)
    with pytest.raises(DomainError):
        page.save_revision(user=superuser).publish(user=superuser)
    page.refresh_from_db()
    assert not page.live and page.live_revision_id is None


def assert_half_approved_publish_refused(page) -> None:
    """After the medical step alone (compliance still to come), the revision of `page` cannot be published."""
    import pytest

    from cms.review.services import content_approve, content_submit_for_review
    from engage.core.errors import DomainError

    content_submit_for_review(page=page, user=None)
    content_approve(task_state=page.current_workflow_state.current_task_state,
                    reviewer=reviewer("medical_reviewer"), password=REVIEW_PASSWORD)
    with pytest.raises(DomainError):
        page.get_latest_revision().publish()
    page.refresh_from_db()
    assert not page.live


def refused_approval(page, user, *, code: str) -> None:
    """`user`'s approval of the page's current review step is refused with `code`, nothing is approved, and the
    attempt is audited with who tried and why."""
    import pytest

    from cms.review.models import ContentApproval
    from cms.review.services import content_approve
    from engage.audit.models import AuditEntry
    from engage.core.errors import DomainError

    task_state = page.current_workflow_state.current_task_state
    approvals = ContentApproval.objects.count()
    with pytest.raises(DomainError) as error:
        content_approve(task_state=task_state, reviewer=user, password=REVIEW_PASSWORD)
    assert error.value.code == code
    assert ContentApproval.objects.count() == approvals
    task_state.refresh_from_db()
    assert task_state.status == "in_progress"
    entry = AuditEntry.objects.filter(action="content.approve_refused").order_by("-id").first()
    assert (entry.actor_id, entry.reason, entry.object_id) == (user.pk, code, str(page.pk))


def assert_separation_of_duties(page) -> None:
    """On `page` (a content or a meeting page): a superuser outside the review groups approves nothing, the
    author of the revision (even a medical reviewer) may not approve it, one person holding both review roles
    gives one approval only; a medical reviewer and a compliance officer who did not write it publish it."""
    from django.contrib.auth.models import Group

    from cms.review.services import content_approve, content_submit_for_review
    from tests.factories import UserFactory

    superuser = UserFactory(is_superuser=True, is_staff=True)
    author = user_with_role("medical_reviewer")
    both = user_with_role("medical_reviewer")
    both.groups.add(Group.objects.get(name="compliance"))
    page.title = f"{page.title}（修订）"
    page.save_revision(user=author)
    content_submit_for_review(page=page, user=author)
    refused_approval(page, superuser, code="not_a_reviewer")
    refused_approval(page, author, code="reviewer_is_author")
    content_approve(task_state=page.current_workflow_state.current_task_state, reviewer=both,
                    password=REVIEW_PASSWORD)
    assert page.current_workflow_state.current_task_state.task.specific.meaning == "compliance"
    refused_approval(page, superuser, code="not_a_reviewer")
    refused_approval(page, both, code="reviewer_gave_other_approval")
    content_approve(task_state=page.current_workflow_state.current_task_state, reviewer=reviewer("compliance"),
                    password=REVIEW_PASSWORD)
    page.refresh_from_db()
    assert page.live and page.title.endswith("（修订）")
