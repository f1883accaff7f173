"""Forms of the review workflow's approve action (shown in Wagtail's workflow modal)."""

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.forms import TaskStateCommentForm

from engage.audit.context import current
from engage.core.widgets import DateInput


class ApprovalForm(TaskStateCommentForm):
    password = forms.CharField(
        label=_("Your password"), widget=forms.PasswordInput, max_length=256,
        help_text=_("Re-enter your password to sign this approval."),
    )

    def clean_password(self):
        """A wrong password is shown on the field, so the reviewer can retype it in the same dialog.
        The approval service checks it again: this is the message, not the safeguard."""
        password = self.cleaned_data["password"]
        user = current().user
        if user is not None and user.is_authenticated and not user.check_password(password):
            raise forms.ValidationError(_("The password is not correct; nothing was approved."),
                                        code="wrong_password")
        return password


class CompliancePasswordForm(ApprovalForm):
    expires_on = forms.DateField(
        label=_("Approval expires on"), required=False, widget=DateInput(),
        help_text=_("Leave empty for 12 months from today."),
    )
