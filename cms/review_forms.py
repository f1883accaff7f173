"""Forms of the review workflow's approve action (shown in Wagtail's workflow modal)."""

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.forms import TaskStateCommentForm


class ApprovalForm(TaskStateCommentForm):
    password = forms.CharField(
        label=_("Your password"), widget=forms.PasswordInput, max_length=256,
        help_text=_("Re-enter your password to sign this approval."),
    )


class CompliancePasswordForm(ApprovalForm):
    expires_on = forms.DateField(
        label=_("Approval expires on"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty for 12 months from today."),
    )
