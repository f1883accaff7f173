"""The sales rep's mobile page: the doctors of their territories' hospitals, and only what a rep may see."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from engage.core.qualification import qualification_gaps
from engage.core.sections import rep_actions
from members.hospitals import selectors
from members.hospitals.models import Department

PAGE_SIZE = 20


class RepDoctorFilterForm(forms.Form):
    q = forms.CharField(label=pgettext_lazy("object name", "Name"), required=False, max_length=50,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Doctor's name")}))
    hospital = forms.ModelChoiceField(label=_("Hospital"), required=False, queryset=Department.objects.none(),
                                      empty_label=_("All my hospitals"))
    department = forms.ModelChoiceField(label=_("Department"), required=False, queryset=Department.objects.all(),
                                        empty_label=_("All departments"))

    def __init__(self, *args, rep, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the rep's own hospitals are valid choices: another territory's id is an invalid choice.
        self.fields["hospital"].queryset = selectors.rep_territory_hospitals(rep)


@login_required
def rep_doctors(request):
    if not selectors.can_view_territory_doctors(request.user):
        raise PermissionDenied
    form = RepDoctorFilterForm(request.GET or None, rep=request.user)
    filters = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {
            "q": data["q"] or "",
            "hospital_id": data["hospital"].pk if data["hospital"] else None,
            "department_id": data["department"].pk if data["department"] else None,
        }
    doctors = selectors.doctors_visible_to_rep(request.user, **filters)
    actions = rep_actions(user=request.user)  # offered by higher apps (events: invite, share, progress)
    page = Paginator(doctors, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "members/hospitals/rep_doctors.html", {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "engagement_kinds": selectors.REP_ENGAGEMENT_KINDS,
        "has_territory": selectors.rep_territory_hospitals(request.user).exists(),
        "doctor_actions": [a for a in actions if a.per_doctor],
        "page_actions": [a for a in actions if not a.per_doctor],
        "not_qualified": qualification_gaps(user=request.user),  # products the rep may not promote yet
    })
