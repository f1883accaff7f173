"""Wagtail admin for sales teams: the list, and creating or changing a team with its manager (a sales manager),
product line and reps, through members.teams.services (audited). The viewset is shown in learning's menu
(learning/wagtail_hooks.py): teams exist for rep learning."""

from django import forms
from django.db.models import Count
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic import CreateView, EditView, IndexView
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permissions import register_permission_policy

from engage.core.policies import CapabilityPolicy, ServiceArgumentsForm, ServiceSaveMixin
from engage.core.roles import Capability, capability_holders
from members.hospitals.models import TherapyArea
from members.teams import services
from members.teams.models import Team


def _label(name: str):
    return capfirst(Team._meta.get_field(name).verbose_name)


register_permission_policy(Team, CapabilityPolicy(Team, {
    action: Capability.MANAGE_TEAMS for action in ("view", "add", "change")}))


class TeamForm(ServiceArgumentsForm):
    """The fields are the service's arguments; team_create / team_update validate them (the model form writes
    nothing itself)."""

    name = forms.CharField(label=_label("name"), max_length=100)
    manager = forms.ModelChoiceField(label=_label("manager"), required=False, queryset=Team.objects.none(),
                                     help_text=gettext_lazy("A user with the sales manager role."))
    product_line = forms.ModelChoiceField(label=_label("product_line"), required=False,
                                          queryset=TherapyArea.objects.order_by("name"))
    reps = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Reps"), required=False, widget=forms.CheckboxSelectMultiple, queryset=Team.objects.none(),
        help_text=gettext_lazy("A rep is in one team at a time: a rep of another team moves to this one."))

    class Meta:
        model = Team
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = capability_holders(Capability.VIEW_TEAM_LEARNING, superusers=False).order_by(
            "display_name", "username")
        self.fields["reps"].queryset = capability_holders(Capability.COVER_TERRITORY, superusers=False).order_by(
            "display_name", "username")
        team = self.instance
        if team.pk and not self.is_bound:
            self.initial.update(name=team.name, manager=team.manager_id, product_line=team.product_line_id,
                                reps=list(team.memberships.values_list("rep_id", flat=True)))

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "manager": data["manager"], "product_line": data["product_line"],
                "reps": list(data["reps"])}


class TeamCreateView(ServiceSaveMixin, CreateView):
    def call_service(self):
        return services.team_create(actor=self.request.user, **self.form.service_arguments())


class TeamEditView(ServiceSaveMixin, EditView):
    def call_service(self):
        return services.team_update(actor=self.request.user, team=self.object, **self.form.service_arguments())


class TeamIndexView(IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("manager", "product_line").annotate(
            rep_count=Count("memberships"))


class TeamViewSet(ModelViewSet):
    model = Team
    icon = "group"
    menu_label = gettext_lazy("Sales teams")
    list_display = ["name", "manager", "product_line", Column("rep_count", label=gettext_lazy("Reps"))]
    search_fields = ["name"]
    search_backend_name = None
    index_view_class = TeamIndexView
    add_view_class = TeamCreateView
    edit_view_class = TeamEditView
    copy_view_enabled = False

    def get_form_class(self, for_update=False):
        return TeamForm
