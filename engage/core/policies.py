"""Wagtail permission policies decided by capabilities (engage.core.roles); a read-only viewset for evidence."""

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.forms import modelform_factory
from django.utils.text import capfirst
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.ui.tables import BooleanColumn
from wagtail.admin.views.generic import IndexView, InspectView
from wagtail.admin.views.mixins import SpreadsheetExportMixin
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies.base import ModelPermissionPolicy

from engage.core.errors import DomainError
from engage.core.roles import Capability, can, capability_holders
from engage.core.times import local_naive, local_text


class CapabilityPolicy(ModelPermissionPolicy):
    """Permissions by capability (engage.core.roles): `capabilities` maps an action (view, add, change, delete) to
    the capability it needs; an action missing from the map is refused to everyone."""

    def __init__(self, model, capabilities: dict[str, Capability]):
        super().__init__(model)
        self.capabilities = capabilities

    def user_has_permission(self, user, action):
        capability = self.capabilities.get(action)
        return capability is not None and can(user, capability)

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)

    def users_with_any_permission(self, actions):
        users = get_user_model().objects.none()
        for capability in {self.capabilities[a] for a in actions if a in self.capabilities}:
            users = users | capability_holders(capability)
        return users.distinct()

    def user_has_permission_for_instance(self, user, action, instance):
        return self.user_has_permission(user, action)

    def user_has_any_permission_for_instance(self, user, actions, instance):
        return self.user_has_any_permission(user, actions)

    def instances_user_has_any_permission_for(self, user, actions):
        if self.user_has_any_permission(user, actions):
            return self.model._default_manager.all()
        return self.model._default_manager.none()


class ReadOnlyPolicy(CapabilityPolicy):
    """Only `view`, for holders of `capability`; add, change and delete are refused to everyone."""

    def __init__(self, model, capability: Capability):
        super().__init__(model, capabilities={"view": capability})


def yes_no_column(model, name: str) -> BooleanColumn:
    """A boolean field as a tick or cross in an admin list (a plain column prints True/False in any language)."""
    return BooleanColumn(name, label=capfirst(model._meta.get_field(name).verbose_name), sort_key=name)


class LocalExportMixin:
    """Spreadsheet exports as a person reads them: times in the local zone (Wagtail writes UTC) and choice fields
    by their label in the request's language, not their stored code."""

    custom_value_preprocess = {
        **SpreadsheetExportMixin.custom_value_preprocess,
        datetime.datetime: {SpreadsheetExportMixin.FORMAT_XLSX: local_naive,
                            SpreadsheetExportMixin.FORMAT_CSV: lambda value: local_text(value, "Y-m-d H:i:s")},
    }

    def to_row_dict(self, item):
        row = super().to_row_dict(item)
        for name in row:
            try:
                self.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if callable(display := getattr(item, f"get_{name}_display", None)):  # choices, or a labelled code
                row[name] = str(display())
        return row


class LocalIndexView(LocalExportMixin, IndexView):
    """The admin list every viewset of ours uses: local times and labels in its exports."""


class LocalInspectView(InspectView):
    """Wagtail's inspect view renders datetimes in UTC (`|localize` on the raw value): show them local."""

    def get_field_display_value(self, field_name, field):
        value = super().get_field_display_value(field_name, field)
        if isinstance(value, datetime.datetime):
            return local_text(value, "Y-m-d H:i:s")
        return "—" if value is None else value


class ReadOnlyModelViewSet(ModelViewSet):
    """Index, filters, export and inspect only; the policy refuses add, edit and delete."""

    index_view_class = LocalIndexView
    inspect_view_class = LocalInspectView
    inspect_view_enabled = True
    copy_view_enabled = False
    add_to_admin_menu = True

    def get_form_class(self, for_update=False):
        return modelform_factory(self.model, fields=[])


class _FormRejected(Exception):
    """A service refused the form's data; its message is on the form."""


class ServiceArgumentsForm(WagtailAdminModelForm):
    """The form of a create/edit view whose fields are a service's arguments (with ServiceSaveMixin): the service
    validates them and writes. The model's own checks (blank, unique, constraints) are not run on the unsaved
    instance: the service's checks, with its messages in the user's language, are the ones that count."""

    def _post_clean(self):
        """ModelForm's own step here builds the instance and runs the model's checks on it: left out on purpose,
        the service checks the arguments and builds the rows."""


class ServiceSaveMixin:
    """Create/edit views whose save calls a service: a DomainError becomes a form error, nothing is saved.

    Subclasses implement `call_service()`, which performs the write and returns the saved instance.
    """

    def call_service(self):
        raise NotImplementedError("ServiceSaveMixin subclasses implement call_service()")

    def save_instance(self):
        try:
            return self.call_service()
        except DomainError as exc:
            self.form.add_error(None, exc.message)
            self.produced_error_code = "validation_error"
            self.produced_error_message = str(exc.message)
            raise _FormRejected from exc

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except _FormRejected:
            return self.form_invalid(form)
