"""Who and where the current request comes from, for audit entries written deep inside services."""

from contextvars import ContextVar
from dataclasses import dataclass

from engage.core.clients import client_ip


@dataclass(frozen=True)
class RequestContext:
    ip_address: str | None = None
    user_agent: str = ""
    user: object = None  # request.user (lazy): forms that must re-check the signed-in person read it here


_EMPTY = RequestContext()
_current: ContextVar[RequestContext | None] = ContextVar("engage_audit_context", default=None)


def current() -> RequestContext:
    return _current.get() or _EMPTY


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current.set(
            RequestContext(ip_address=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:400],
                           user=getattr(request, "user", None))
        )
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
