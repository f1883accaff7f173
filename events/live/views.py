"""Stream callbacks from the providers (POST /live/callbacks/<provider>/): verified by the provider's signature,
answered 403 when forged or expired, 400 when malformed, 413 when oversized; a retry of a handled callback changes
nothing (StreamCallback). Staff pages of the area live in admin.py."""

import json
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from engage.core.errors import DomainError, NotFound
from events.live import providers
from events.live.models import Poll, Question
from events.live.selectors import access_live_session, can_moderate_live, room_entry
from events.live.services import CallbackKind, stream_callback_handle

logger = logging.getLogger("engage.live")

TENCENT_KINDS = {1: CallbackKind.START, 0: CallbackKind.STOP, 100: CallbackKind.RECORDING}
ALIYUN_KINDS = {"publish": CallbackKind.START, "publish_done": CallbackKind.STOP, "record": CallbackKind.RECORDING}


def _error(status: int, code: str, message) -> JsonResponse:
    return JsonResponse({"code": code, "message": str(message)}, status=status)


def _text(value, limit: int = 200) -> str:
    return value[:limit] if isinstance(value, str) else (str(value)[:limit] if isinstance(value, int) else "")


def _body(request):
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > settings.ENGAGE_LIVE_CALLBACK_MAX_BYTES:
        return None, _error(413, "payload_too_large", _("The request body is too large."))
    raw = request.body
    if len(raw) > settings.ENGAGE_LIVE_CALLBACK_MAX_BYTES:
        return None, _error(413, "payload_too_large", _("The request body is too large."))
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, _error(400, "malformed_request", _("The request body is not valid JSON."))
    if not isinstance(payload, dict):
        return None, _error(400, "malformed_request", _("The request body is not valid JSON."))
    return payload, None


def _tencent(request, payload: dict) -> JsonResponse:
    if not providers.tencent_callback_valid(payload=payload):
        return _error(403, "bad_signature", _("The callback's signature is wrong or has expired."))
    event_type = payload.get("event_type")
    if isinstance(event_type, bool) or not isinstance(event_type, int):
        return _error(400, "malformed_request", _("The callback has no event type."))
    kind = TENCENT_KINDS.get(event_type, CallbackKind.OTHER)
    stream = _text(payload.get("stream_id") or payload.get("channel_id"), 100)
    if kind == CallbackKind.RECORDING:
        key = f"100:{_text(payload.get('file_id'))}:{stream}"
    else:
        key = f"{event_type}:{stream}:{_text(payload.get('sequence') or payload.get('event_time') or payload['t'])}"
    at = None
    if isinstance(payload.get("event_time"), int) and not isinstance(payload.get("event_time"), bool):
        at = providers.expiry_from_epoch(payload["event_time"]) if payload["event_time"] > 0 else None
    if at is not None and abs((timezone.now() - at).total_seconds()) > 7 * 86400:
        at = None  # a clock far off: the time of receipt stands
    result = stream_callback_handle(provider="tencent", kind=kind, stream_name=stream, dedupe_key=key,
                                    payload=payload, at=at, replay_url=_text(payload.get("video_url"), 500),
                                    replay_file_id=_text(payload.get("file_id"), 100))
    return JsonResponse({"code": 0, "result": result})


def _aliyun(request, payload: dict) -> JsonResponse:
    domain = request.get_host().split(":")[0]
    if not providers.aliyun_callback_valid(domain=domain, timestamp=request.headers.get("Ali-Live-Timestamp", ""),
                                           signature=request.headers.get("Ali-Live-Signature", "")):
        return _error(403, "bad_signature", _("The callback's signature is wrong or has expired."))
    action = payload.get("action") or ("record" if payload.get("uri") else "")
    kind = ALIYUN_KINDS.get(action, CallbackKind.OTHER) if isinstance(action, str) else CallbackKind.OTHER
    stream = _text(payload.get("id") or payload.get("stream"), 100)
    moment = payload.get("time") or payload.get("uri") or request.headers.get("Ali-Live-Timestamp")
    key = f"{action}:{stream}:{_text(moment)}"
    uri = _text(payload.get("uri"), 400)
    replay = f"https://{payload.get('domain')}/{uri.lstrip('/')}" if uri and isinstance(payload.get("domain"), str) \
        else ""
    result = stream_callback_handle(provider="aliyun", kind=kind, stream_name=stream, dedupe_key=key,
                                    payload=payload, replay_url=replay, replay_file_id=uri[:100])
    return JsonResponse({"code": 0, "result": result})


HANDLERS = {"tencent": _tencent, "aliyun": _aliyun}


@csrf_exempt  # signed by the provider instead
@require_POST
def stream_callback(request, provider: str):
    handler = HANDLERS.get(provider)
    if handler is None:
        return _error(404, "not_found", _("Not found."))
    payload, error = _body(request)
    if error is not None:
        return error
    return handler(request, payload)


# --- the room page (doctors, phone-first) and the moderator console (staff, desktop) ------------------------------


def _session_or_404(user, session_id: int):
    try:
        return access_live_session(user=user, live_session_id=session_id)
    except NotFound:
        raise Http404 from None


def _room_context(request, session) -> dict:
    return {
        "session": session,
        "event": session.event,
        "ws_path": f"/ws/live/{session.pk}/",
        "api_base": f"/api/v1/live/{session.pk}/",
        "poster": static("live/demo/poster.jpg"),
        "hls_src": static("vendor/hls.js/hls.light.min.js"),
    }


@never_cache
@login_required
def room(request, session_id: int):
    """The doctor's room: player, chat, Q&A, polls and reactions. A refusal renders the reason with its status."""
    session = _session_or_404(request.user, session_id)
    context = _room_context(request, session)
    try:
        context["entry"] = room_entry(user=request.user, session=session)
    except DomainError as error:
        context["refused"] = error
        return render(request, "events/live/room.html", context, status=error.status)
    return render(request, "events/live/room.html", context)


@never_cache
@login_required
def console(request, session_id: int):
    """The moderators' console: video state, go live / end, push URL, Q&A queue, chat moderation, polls, viewers."""
    session = _session_or_404(request.user, session_id)
    if not can_moderate_live(request.user):
        raise PermissionDenied
    context = _room_context(request, session)
    # The queue and polls arrive as codes over the socket; the console shows the models' labels for them.
    context["state_labels"] = {"question": {value: str(label) for value, label in Question.State.choices},
                               "poll": {value: str(label) for value, label in Poll.State.choices}}
    return render(request, "events/live/console.html", context)
