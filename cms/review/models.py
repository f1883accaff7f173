"""Medical-legal-regulatory review: the workflow task reviewers approve with their password, the approvals
recorded per revision (append-only) and the per-year approval-code counters."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail.models import AbstractGroupApprovalTask, TaskState

from cms.review.forms import ApprovalForm, CompliancePasswordForm
from engage.core.append_only import AppendOnlyModel
from engage.core.errors import DomainError


class ApprovalMeaning(models.TextChoices):
    MEDICAL = "medical", _("medical approval")
    COMPLIANCE = "compliance", _("compliance approval")


class ReviewApprovalTask(AbstractGroupApprovalTask):
    """A group approval step whose approval means something (medical / compliance) and needs the password."""

    meaning = models.CharField(_("meaning of approval"), max_length=12, choices=ApprovalMeaning.choices)

    admin_form_fields = [*AbstractGroupApprovalTask.admin_form_fields, "meaning"]

    class Meta:
        verbose_name = _("review approval task")
        verbose_name_plural = _("review approval tasks")

    def get_actions(self, obj, user):
        """The step's actions for holders of its capability (a superuser is not implicitly a reviewer); whether
        this holder may approve this revision (separation of duties) is decided, shown and audited on approval."""
        from cms.review.selectors import can_review  # the review selectors import this model

        if can_review(user, self.meaning):
            return [("reject", _("Request changes"), True), ("approve", _("Approve"), True)]
        return []

    def get_task_states_user_can_moderate(self, user, **kwargs):
        from cms.review.selectors import can_review  # the review selectors import this model

        if can_review(user, self.meaning):
            return self.task_states.filter(status=TaskState.STATUS_IN_PROGRESS)
        return TaskState.objects.none()

    def get_template_for_action(self, action):
        return "cms/review/admin/approval_modal.html" if action == "approve" else ""

    def get_form_for_action(self, action):
        if action == "approve":
            return CompliancePasswordForm if self.meaning == ApprovalMeaning.COMPLIANCE else ApprovalForm
        return super().get_form_for_action(action)

    def on_action(self, task_state, user, action_name, **kwargs):
        if action_name == "approve":
            from django.core.exceptions import PermissionDenied

            from cms.review.services import (
                content_approve,  # Wagtail's task-as-view: the review services import this model
            )

            try:
                content_approve(task_state=task_state, reviewer=user, password=kwargs.get("password", ""),
                                comment=kwargs.get("comment", ""), expires_on=kwargs.get("expires_on"))
            except DomainError as error:  # e.g. a wrong password: nothing approved, the reviewer is told why
                raise PermissionDenied(str(error.message)) from error
            return review_landing_url(task_state)
        super().on_action(task_state, user, action_name, **kwargs)
        # The reviewer may not edit the page: land on the dashboard's review queue, not on the page editor.
        return review_landing_url(task_state)

    @classmethod
    def get_description(cls):
        return _("Members of the chosen groups approve with their password; the approval is recorded")


def review_landing_url(task_state) -> str:
    """Where a reviewer lands after acting on a step: the admin home (its review queue), told what happened."""
    return f"{reverse('wagtailadmin_home')}?{REVIEWED_PARAM}={task_state.pk}"


REVIEWED_PARAM = "reviewed"


class ContentApproval(AppendOnlyModel):
    """One reviewer's approval of one exact revision: evidence, never changed or deleted (the model, its queryset
    and on PostgreSQL a trigger refuse it). Every reference is PROTECT, so no cascade ever has to touch a row."""

    # Any reviewed page (cms.models.ReviewedPageMixin): content pages and meeting pages.
    page = models.ForeignKey("wagtailcore.Page", on_delete=models.PROTECT, related_name="review_approvals")
    revision = models.ForeignKey("wagtailcore.Revision", on_delete=models.PROTECT, related_name="+")
    task = models.ForeignKey("wagtailcore.Task", null=True, on_delete=models.PROTECT, related_name="+")
    meaning = models.CharField(_("meaning"), max_length=12, choices=ApprovalMeaning.choices)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(_("approved at"), auto_now_add=True)
    comment = models.TextField(_("comment"), blank=True)
    approval_code = models.CharField(_("approval code"), max_length=40, blank=True, default="")
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)

    class Meta:
        verbose_name = _("content approval")
        verbose_name_plural = _("content approvals")
        constraints = [
            models.UniqueConstraint(fields=["revision", "meaning"], name="contentapproval_one_per_meaning"),
            models.UniqueConstraint(fields=["approval_code"], condition=~models.Q(approval_code=""),
                                    name="contentapproval_code_unique"),
        ]

    def __str__(self):
        return f"{self.get_meaning_display()} · {self.revision_id}"


class ApprovalCodeCounter(models.Model):
    """The last approval number used for one therapy area in one year (rows locked while numbering)."""

    area_code = models.CharField(max_length=20)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["area_code", "year"], name="approvalcounter_area_year")]

    def __str__(self):
        return f"{self.area_code}-{self.year}: {self.last_number}"


class ContentExpiryNotice(models.Model):
    """The owner was told the page's approval expires in `days_before` days (once per approval and threshold)."""

    page = models.ForeignKey("cms.ContentPage", on_delete=models.CASCADE, related_name="expiry_notices")
    approval_code = models.CharField(max_length=40)
    days_before = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["page", "approval_code", "days_before"],
                                               name="expirynotice_once_per_threshold")]

    def __str__(self):
        return f"{self.approval_code} · {self.days_before}"
