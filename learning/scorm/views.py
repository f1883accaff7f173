"""SCORM lessons in the browser: the player page (scorm-again as window.API around the package's iframe), the
package's files from private storage on this origin, and the commit endpoint the player posts to."""

import json
import mimetypes
import uuid

from csp.decorators import csp_replace
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import FileResponse, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from engage.core.errors import DomainError
from learning.scorm import selectors, services

# Authoring tools (Articulate, iSpring, Captivate …) write inline scripts and eval into their packages; the
# package's own files get a policy that lets them run. Only staff holding MANAGE_SCORM_PACKAGES upload them.
PACKAGE_SCRIPT_POLICY = {"script-src": ["'self'", "'unsafe-inline'", "'unsafe-eval'"]}


def _private(response):
    response["Cache-Control"] = "private, no-cache"
    return response


def player_context(*, user, package) -> dict:
    """What templates/learning/scorm/lesson_player.html needs (also included by the lesson page)."""
    return {
        "package": package,
        "scorm_config": {
            "commitUrl": f"/learning/scorm/{package.pk}/commit/",
            "token": services.launch_token(user=user, package=package),
            "session": uuid.uuid4().hex,
            "launchUrl": f"/learning/scorm/{package.pk}/files/{package.launch_path}",
            "resume": selectors.scorm_resume_data(user=user, package=package),
        },
    }


@login_required
@require_GET
def player(request, package_id: int):
    try:
        package = selectors.access_scorm_package(user=request.user, scorm_package_id=package_id)
    except DomainError as error:
        return _private(TemplateResponse(request, "learning/scorm/error.html", {"error": error},
                                         status=error.status))
    return _private(TemplateResponse(request, "learning/scorm/player.html",
                                     player_context(user=request.user, package=package)))


@csp_replace(PACKAGE_SCRIPT_POLICY)
@xframe_options_sameorigin
@require_GET
def package_file(request, package_id: int, path: str):
    """A file of the package, for someone who may run it (the same check as the player)."""
    try:
        package = selectors.access_scorm_package(user=request.user, scorm_package_id=package_id)
        handle, name = selectors.scorm_package_file(package=package, path=path)
    except DomainError as error:
        response = HttpResponse(str(error.message), status=error.status, content_type="text/plain; charset=utf-8")
    else:
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in ("application/javascript", "application/json"):
            content_type += "; charset=utf-8"
        response = FileResponse(handle, content_type=content_type)
        response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-cache"
    return response


def _answer(*, ok: bool, status: int = 200, **extra) -> JsonResponse:
    # scorm-again reads {"result": …, "errorCode": …}; 101 is SCORM 1.2's general exception.
    body = {"result": "true" if ok else "false", "errorCode": 0 if ok else 101, **extra}
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt  # the terminate commit comes by sendBeacon (no headers); the signed launch token stands in for CSRF
@require_POST
def commit(request, package_id: int):
    """Stores one commit of the player: {"token", "session", "sequence", "values": {flattened cmi}}."""
    if not request.user.is_authenticated:
        return _answer(ok=False, status=401, code="not_authenticated", message=_("Please sign in again."))
    try:
        package = selectors.access_scorm_package(user=request.user, scorm_package_id=package_id)
        try:
            payload = json.loads(request.body or b"")
        except (ValueError, UnicodeDecodeError):
            raise DomainError("scorm_commit_invalid", _("The commit is not valid JSON.")) from None
        except RequestDataTooBig:
            raise DomainError("scorm_commit_invalid", _("The commit is too large.")) from None
        if not isinstance(payload, dict):
            raise DomainError("scorm_commit_invalid", _("The commit is not valid JSON."))
        registration, applied = services.scorm_commit(
            user=request.user, package=package, token=payload.get("token"), session=payload.get("session"),
            sequence=payload.get("sequence"), values=payload.get("values"))
    except DomainError as error:
        return _answer(ok=False, status=error.status, code=error.code, message=str(error.message))
    return _answer(ok=True, applied=applied, lesson_status=registration.lesson_status,
                   completed=registration.completed_at is not None)
