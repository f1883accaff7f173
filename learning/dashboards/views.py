"""The learning dashboard page and its Excel export (managers: their team; training staff: every rep)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from engage.core.errors import PermissionDenied
from learning.dashboards.exporters import dashboard_xlsx
from learning.dashboards.selectors import learning_dashboard

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _board(request):
    try:
        return learning_dashboard(user=request.user)
    except PermissionDenied:
        raise DjangoPermissionDenied from None


@login_required
@require_GET
def dashboard(request):
    response = render(request, "learning/dashboards/dashboard.html", {"board": _board(request)})
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def dashboard_export(request):
    response = HttpResponse(dashboard_xlsx(_board(request)), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="learning-dashboard.xlsx"'
    response["Cache-Control"] = "private, no-store"
    return response
