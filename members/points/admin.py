"""Wagtail admin for academic points: rules, the rewards catalogue with compliance approval, accounts with
manual adjustments (admin only), the ledger, and the transfer-of-value register (compliance, Excel export).

Every write goes through members.points.services; the views only parse, call and redirect.
"""

import uuid

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView
from wagtail import hooks
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic import CreateView, EditView, IndexView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.permissions import register_permission_policy

from engage.core.errors import DomainError
from engage.core.policies import (
    CapabilityPolicy,
    LocalIndexView,
    ReadOnlyModelViewSet,
    ReadOnlyPolicy,
    ServiceSaveMixin,
    yes_no_column,
)
from engage.core.roles import Capability, can
from members.points import services
from members.points.models import PointsAccount, PointsRule, PointsSettings, PointsTransaction, Redemption, Reward
from members.points.services import MAX_ADJUSTMENT, MAX_REASON, REWARD_FIELDS

register_permission_policy(Reward, CapabilityPolicy(Reward, {
    "view": Capability.VIEW_REWARDS, "add": Capability.EDIT_REWARDS, "change": Capability.EDIT_REWARDS}))


register_permission_policy(Redemption, ReadOnlyPolicy(Redemption, Capability.VIEW_TRANSFERS_OF_VALUE))


register_permission_policy(PointsTransaction,
                           ReadOnlyPolicy(PointsTransaction, Capability.VIEW_TRANSFERS_OF_VALUE))


register_permission_policy(PointsAccount, ReadOnlyPolicy(PointsAccount, Capability.VIEW_TRANSFERS_OF_VALUE))


register_permission_policy(PointsSettings, CapabilityPolicy(PointsSettings, {
    "view": Capability.MANAGE_POINTS_SETTINGS, "change": Capability.MANAGE_POINTS_SETTINGS}))


class RewardForm(forms.ModelForm):
    class Meta:
        model = Reward
        fields = list(REWARD_FIELDS)


class RewardCreateView(ServiceSaveMixin, CreateView):
    def call_service(self):
        return services.reward_create(actor=self.request.user, **self.form.cleaned_data)


class RewardEditView(ServiceSaveMixin, EditView):
    def call_service(self):
        return services.reward_update(reward=self.object, actor=self.request.user, **self.form.cleaned_data)


class RewardIndexView(IndexView):
    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        user = self.request.user
        if instance.status == Reward.Status.DRAFT and can(user, Capability.APPROVE_REWARDS):
            buttons.append(MenuItem(_("Approve"), reverse("rewards:approve", args=[instance.pk]), icon_name="tick",
                                    priority=30))
        if instance.status != Reward.Status.RETIRED and can(user, Capability.RETIRE_REWARDS):
            buttons.append(MenuItem(_("Retire"), reverse("rewards:retire", args=[instance.pk]), icon_name="cross",
                                    priority=40))
        return buttons


class ReasonForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason (optional)"), required=False, max_length=MAX_REASON,
                             widget=forms.Textarea(attrs={"rows": 3}))


class RewardDecisionView(WagtailAdminTemplateMixin, FormView):
    """Approve or retire one reward after a confirmation page."""

    template_name = "members/points/admin/form.html"
    form_class = ReasonForm
    action = ""  # "approve" or "retire"
    header_icon = "pick"

    def dispatch(self, request, *args, **kwargs):
        capability = Capability.APPROVE_REWARDS if self.action == "approve" else Capability.RETIRE_REWARDS
        if not can(request.user, capability):
            raise PermissionDenied
        self.reward = get_object_or_404(Reward, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return _("Approve reward") if self.action == "approve" else _("Retire reward")

    def get_page_subtitle(self):
        return self.reward.name

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(object=self.reward, cancel_url=reverse("rewards:index"),
                       submit_label=self.get_page_title(),
                       details=[(_("Kind"), self.reward.get_kind_display()), (_("Value (RMB)"), self.reward.value_rmb),
                                (_("Points"), self.reward.points_cost), (_("Stock"), self.reward.stock),
                                (_("Status"), self.reward.get_status_display())])
        return context

    def form_valid(self, form):
        service = services.reward_approve if self.action == "approve" else services.reward_retire
        try:
            service(reward=self.reward, actor=self.request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, _("Reward “%(name)s”: %(status)s.") % {
            "name": self.reward.name, "status": Reward.Status.APPROVED.label if self.action == "approve"
            else Reward.Status.RETIRED.label})
        return redirect("rewards:index")


class RewardViewSet(ModelViewSet):
    model = Reward
    icon = "pick"
    menu_label = gettext_lazy("Rewards")
    form_fields = list(REWARD_FIELDS)
    list_display = ["name", "kind", "points_cost", "value_rmb", "stock", "status", "approved_by", "approved_at"]
    list_filter = ["status", "kind"]
    search_fields = ["name"]
    inspect_view_enabled = True
    copy_view_enabled = False
    index_view_class = RewardIndexView
    add_view_class = RewardCreateView
    edit_view_class = RewardEditView

    def get_form_class(self, for_update=False):
        return RewardForm

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("approve/<int:pk>/", RewardDecisionView.as_view(action="approve"), name="approve"),
            path("retire/<int:pk>/", RewardDecisionView.as_view(action="retire"), name="retire"),
        ]


class AdjustForm(forms.Form):
    amount = forms.IntegerField(label=gettext_lazy("Points (+ credit, − debit)"), min_value=-MAX_ADJUSTMENT,
                                max_value=MAX_ADJUSTMENT)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=MAX_REASON,
                             widget=forms.Textarea(attrs={"rows": 3}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError(gettext_lazy("Enter a number of points other than zero."))
        return amount

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(gettext_lazy("A reason is required."))
        return reason


class PointsAdjustView(WagtailAdminTemplateMixin, FormView):
    template_name = "members/points/admin/form.html"
    form_class = AdjustForm
    header_icon = "plus-inverse"

    def dispatch(self, request, *args, **kwargs):
        if not can(request.user, Capability.ADJUST_POINTS):
            raise PermissionDenied
        self.account = get_object_or_404(PointsAccount.objects.select_related("user"), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return _("Adjust points")

    def get_page_subtitle(self):
        return str(self.account.user)

    def get_initial(self):
        return {"idempotency_key": uuid.uuid4().hex}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(object=self.account, cancel_url=reverse("points_accounts:index"),
                       submit_label=_("Adjust points"),
                       details=[(_("Member"), self.account.user), (_("Balance"), self.account.balance)])
        return context

    def form_valid(self, form):
        try:
            services.points_adjust(account=self.account, amount=form.cleaned_data["amount"],
                                   reason=form.cleaned_data["reason"], actor=self.request.user,
                                   idempotency_key=form.cleaned_data["idempotency_key"])
        except DomainError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, _("Points adjusted."))
        return redirect("points_accounts:index")


class PointsAccountIndexView(LocalIndexView):
    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        if can(self.request.user, Capability.ADJUST_POINTS):
            buttons.append(MenuItem(_("Adjust points"), reverse("points_accounts:adjust", args=[instance.pk]),
                                    icon_name="plus-inverse", priority=30))
        buttons.append(MenuItem(_("Ledger"), reverse("points_ledger:index") + f"?account={instance.pk}",
                                icon_name="list-ul", priority=40))
        return buttons


class PointsAccountViewSet(ReadOnlyModelViewSet):
    model = PointsAccount
    icon = "user"
    menu_label = gettext_lazy("Points accounts")
    add_to_admin_menu = False
    list_display = ["user", "balance", "updated_at"]
    search_fields = ["user__display_name", "user__mobile", "user__doctor_profile__real_name"]
    list_export = ["user", "balance", "updated_at"]
    export_filename = "points-accounts"
    ordering = ["-balance", "pk"]
    index_view_class = PointsAccountIndexView

    def get_urlpatterns(self):
        return [*super().get_urlpatterns(), path("adjust/<int:pk>/", PointsAdjustView.as_view(), name="adjust")]


class PointsLedgerIndexView(LocalIndexView):
    """The ledger, optionally of one account (?account=<id>, linked from the accounts list)."""

    def get_base_queryset(self):
        rows = super().get_base_queryset().select_related("account__user", "rule", "actor")
        account = self.request.GET.get("account", "")
        return rows.filter(account_id=int(account)) if account.isdigit() and len(account) < 12 else rows


class PointsLedgerViewSet(ReadOnlyModelViewSet):
    model = PointsTransaction
    icon = "list-ul"
    menu_label = gettext_lazy("Points ledger")
    add_to_admin_menu = False
    list_display = ["created_at", Column("account", label=gettext_lazy("points account")), "kind", "amount",
                    "balance_after", Column("rule", label=gettext_lazy("points rule")), "source_repr",
                    Column("actor", label=gettext_lazy("actor")), "reason"]
    list_filter = {"kind": ["exact"], "created_at": ["gte", "lte"]}
    index_view_class = PointsLedgerIndexView
    list_export = ["created_at", "account", "kind", "amount", "balance_after", "rule", "source_type", "source_id",
                   "source_repr", "expires_on", "actor", "reason", "idempotency_key"]
    export_filename = "points-ledger"
    ordering = ["-created_at", "-id"]


class RedemptionViewSet(ReadOnlyModelViewSet):
    """The transfer-of-value register: every redemption with the doctor's name, licence and hospital as they
    were on the day; filter by date, doctor and hospital and export to Excel."""

    model = Redemption
    icon = "doc-full"
    menu_label = gettext_lazy("Transfers of value")
    add_to_admin_menu = False
    list_display = ["created_at", "doctor_name", "licence_number", "hospital_name",
                    Column("reward", label=gettext_lazy("reward")), "value_rmb", "points"]
    list_filter = {"created_at": ["gte", "lte"], "doctor_name": ["icontains"], "licence_number": ["exact"],
                   "hospital_name": ["icontains"], "reward": ["exact"]}
    search_fields = ["doctor_name", "licence_number", "hospital_name"]
    list_export = ["created_at", "doctor_name", "licence_number", "hospital_name", "reward", "value_rmb", "points",
                   "account"]
    export_headings = {"created_at": gettext_lazy("Date"), "value_rmb": gettext_lazy("Value (RMB)")}
    export_filename = "transfers-of-value"
    ordering = ["-created_at", "-id"]


RULE_FIELDS = ["code", "name", "points", "daily_cap", "yearly_cap", "active_from", "active_until", "enabled"]


class PointsRuleCreateView(ServiceSaveMixin, CreateView):
    def call_service(self):
        return services.points_rule_save(rule=self.form.instance, actor=self.request.user)


class PointsRuleEditView(ServiceSaveMixin, EditView):
    def call_service(self):
        return services.points_rule_save(rule=self.form.instance, actor=self.request.user)


class PointsRuleViewSet(ModelViewSet):
    model = PointsRule
    icon = "cog"
    menu_label = gettext_lazy("Points rules")
    form_fields = RULE_FIELDS
    list_display = ["code", "name", "points", "daily_cap", "yearly_cap", "active_from", "active_until",
                    yes_no_column(PointsRule, "enabled")]
    list_filter = ["enabled"]
    copy_view_enabled = False
    add_view_class = PointsRuleCreateView
    edit_view_class = PointsRuleEditView


class PointsSettingsEditView(ServiceSaveMixin, EditView):
    def call_service(self):
        data = self.form.cleaned_data
        return services.points_settings_update(actor=self.request.user, expiry_years=data["expiry_years"],
                                               yearly_value_cap_rmb=data["yearly_value_cap_rmb"])


class PointsSettingsIndexView(IndexView):
    def get_base_queryset(self):
        PointsSettings.load()  # the one row exists before anybody looks for it
        return super().get_base_queryset()


class PointsSettingsViewSet(ModelViewSet):
    model = PointsSettings
    icon = "cogs"
    menu_label = gettext_lazy("Points settings")
    form_fields = ["yearly_value_cap_rmb", "expiry_years"]
    list_display = ["__str__", "yearly_value_cap_rmb", "expiry_years"]
    copy_view_enabled = False
    index_view_class = PointsSettingsIndexView
    edit_view_class = PointsSettingsEditView


class PointsViewSetGroup(ModelViewSetGroup):
    menu_label = gettext_lazy("Academic points")
    menu_icon = "pick"
    menu_order = 300
    items = (
        RewardViewSet("rewards"),
        RedemptionViewSet("transfers_of_value"),
        PointsAccountViewSet("points_accounts"),
        PointsLedgerViewSet("points_ledger"),
        PointsRuleViewSet("points_rules"),
        PointsSettingsViewSet("points_settings"),
    )


@hooks.register("register_admin_viewset")
def register_points_viewsets():
    return PointsViewSetGroup()
