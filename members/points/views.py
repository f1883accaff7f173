"""Doctor-facing points pages: balance and history, rewards, redemption, past redemptions."""

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods

from engage.core.errors import DomainError
from engage.core.widgets import DateInput
from members.accounts.selectors import AccessLevel, access_level_of
from members.points import selectors, services
from members.points.models import PointsTransaction
from members.points.selectors import is_points_member

PAGE_SIZE = 20


class HistoryFilterForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False,
                             choices=[("", gettext_lazy("All")), *PointsTransaction.Kind.choices])
    date_from = forms.DateField(label=pgettext_lazy("date range", "From"), required=False,
                                widget=DateInput())
    date_to = forms.DateField(label=pgettext_lazy("date range", "To"), required=False,
                              widget=DateInput())

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(gettext_lazy("The start date is after the end date."))
        return data


class RedeemForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)


def _member_only(request) -> None:
    if not is_points_member(request.user):
        raise PermissionDenied


def _page_number(request) -> int:
    try:
        return max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        return 1


@login_required
def points_home(request):
    _member_only(request)
    form = HistoryFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    rows = selectors.points_history(request.user, kind=filters.get("kind") or None,
                                    date_from=filters.get("date_from"), date_to=filters.get("date_to"))
    page = Paginator(rows, PAGE_SIZE).get_page(_page_number(request))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "members/points/points_home.html", {
        "summary": selectors.points_summary(request.user),
        "form": form,
        "page": page,
        "query": query.urlencode(),
    })


@login_required
def rewards_list(request):
    _member_only(request)
    return render(request, "members/points/rewards_list.html", {
        "rewards": list(selectors.rewards_visible_to(request.user)[:200]),
        "summary": selectors.points_summary(request.user),
        "can_redeem": access_level_of(request.user) >= AccessLevel.VERIFIED,
    })


@login_required
@require_http_methods(["GET", "POST"])
def reward_detail(request, reward_id: int):
    _member_only(request)
    errors, status = [], 200
    if request.method == "POST":
        form = RedeemForm(request.POST)
        if not form.is_valid():
            errors, status = [_("The form has expired. Please try again.")], 400
        else:
            try:
                result = services.reward_redeem(member=request.user, reward_id=reward_id,
                                                idempotency_key=form.cleaned_data["idempotency_key"])
            except DomainError as exc:
                errors, status = [exc.message], exc.status
            else:
                messages.success(request, _("Redeemed: %(reward)s for %(points)d points.")
                                 % {"reward": result.redemption.reward.name, "points": result.redemption.points})
                return redirect("points_redemptions")
    reward = selectors.reward_visible_to(request.user, reward_id)
    if reward is None:
        if errors:  # e.g. the last unit went while the doctor was looking: say why, on the catalogue
            for error in errors:
                messages.error(request, error)
            return redirect("points_rewards")
        raise Http404
    summary = selectors.points_summary(request.user)
    # A fresh key per rendered form: a double click sends the same key twice and redeems once.
    form = RedeemForm(initial={"idempotency_key": uuid.uuid4().hex})
    return render(request, "members/points/reward_detail.html", {
        "reward": reward,
        "form": form,
        "errors": errors,
        "summary": summary,
        "can_redeem": access_level_of(request.user) >= AccessLevel.VERIFIED,
        "enough_points": summary.balance >= reward.points_cost,
    }, status=status)


@login_required
def redemptions_list(request):
    _member_only(request)
    page = Paginator(selectors.redemptions_of(request.user), PAGE_SIZE).get_page(_page_number(request))
    return render(request, "members/points/redemptions.html", {"page": page})
