"""The portal's URLs plus the baselines the benchmarks compare against."""

from django.http import HttpResponse
from django.urls import include, path

from engage.urls import handler404, handler500  # noqa: F401  (the error views travel with the URLconf)


def baseline(request):
    """The floor for a page: the same uvicorn process and middleware, no database, no template."""
    return HttpResponse("baseline", content_type="text/plain; charset=utf-8")


urlpatterns = [
    path("__bench__/baseline", baseline),
    path("", include("engage.urls")),
]
