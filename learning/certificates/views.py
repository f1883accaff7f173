"""Certificate pages: the rep's certificates, one certificate with its QR and PDF, and the public verification
page the QR opens (no sign-in; shows the status, the holder's name and the course, nothing else personal)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from engage.core.errors import NotFound
from learning.certificates import selectors
from learning.certificates.exporters import certificate_pdf, qr_svg


def _verify_url(request, certificate) -> str:
    return request.build_absolute_uri(reverse("learning:certificate_verify", args=[certificate.code]))


def _certificate_or_404(request, certificate_id: int):
    try:
        return selectors.access_certificate(user=request.user, certificate_id=certificate_id)
    except NotFound:
        raise Http404 from None


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def certificates_mine(request):
    return _private(render(request, "learning/certificates/mine.html",
                           {"certificates": list(selectors.certificates_of(user=request.user))}))


@login_required
@require_GET
def certificate_detail(request, certificate_id: int):
    certificate = _certificate_or_404(request, certificate_id)
    return _private(render(request, "learning/certificates/detail.html",
                           {"certificate": certificate, "verify_url": _verify_url(request, certificate)}))


@login_required
@require_GET
def certificate_download(request, certificate_id: int):
    certificate = _certificate_or_404(request, certificate_id)
    response = HttpResponse(certificate_pdf(certificate, verify_url=_verify_url(request, certificate)),
                            content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="certificate-{certificate.pk}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    return _private(response)


@login_required
@require_GET
def certificate_qr(request, certificate_id: int):
    certificate = _certificate_or_404(request, certificate_id)
    response = HttpResponse(qr_svg(_verify_url(request, certificate)), content_type="image/svg+xml")
    response["X-Content-Type-Options"] = "nosniff"
    return _private(response)


@never_cache
@require_GET
def certificate_verify(request, code: str):
    """Public: valid, expired or revoked, with the holder's name and the course; 404 for an unknown code."""
    try:
        certificate = selectors.certificate_by_code(code=code)
    except NotFound:
        response = render(request, "learning/certificates/verify.html", {"certificate": None}, status=404)
    else:
        response = render(request, "learning/certificates/verify.html",
                          {"certificate": certificate, "status": certificate.status})
    response["X-Robots-Tag"] = "noindex"
    return response
