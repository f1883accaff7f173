"""The portal's URLs plus the baselines the benchmarks compare against."""

from django.http import HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from engage.urls import handler404, handler500  # noqa: F401  (the error views travel with the URLconf)


def baseline(request):
    """The floor for a page: the same uvicorn process and middleware, no database, no template."""
    return HttpResponse("baseline", content_type="text/plain; charset=utf-8")


@csrf_exempt
def checkin_baseline(request, secret: str):
    """The floor for a check-in: one single-row UPDATE on the ticket table, no auth, no lock, no extra rows."""
    from events.registrations.models import Ticket

    updated = Ticket.objects.filter(secret=secret).update(revoked_reason="")
    return JsonResponse({"updated": updated}, status=201 if updated else 404)


@csrf_exempt
def exam_baseline(request, exam_id: int, category_id: int):
    """The floor for an exam request: one plain single-row INSERT (a draw row of an inactive exam), no auth."""
    from learning.exams.models import ExamDraw

    draw = ExamDraw.objects.create(exam_id=exam_id, category_id=category_id, count=1)
    return JsonResponse({"id": draw.pk}, status=201)


urlpatterns = [
    path("__bench__/baseline", baseline),
    path("__bench__/checkin-baseline/<str:secret>", checkin_baseline),
    path("__bench__/exam-baseline/<int:exam_id>/<int:category_id>", exam_baseline),
    path("", include("engage.urls")),
]
