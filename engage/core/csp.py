"""Content-Security-Policy (django-csp): the public pages get a strict policy (scripts from us, with a per-request
nonce for the few inline ones, and WeChat's JS-SDK); the Wagtail admin gets its own, because Wagtail 8's editor
still ships inline scripts (panels, date widgets) and inline styles."""

from csp.constants import SELF, UNSAFE_EVAL, UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponseBase

ADMIN_PREFIX = "/admin/"
ADMIN_REPLACE = {"script-src": [SELF, UNSAFE_INLINE, UNSAFE_EVAL]}


class EngageCSPMiddleware(CSPMiddleware):
    def get_policy_parts(self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False):
        parts = super().get_policy_parts(request, response, report_only)
        if request.path_info.startswith(ADMIN_PREFIX):
            # A nonce in script-src would make browsers ignore 'unsafe-inline': the admin's policy carries none.
            return PolicyParts(parts.config, parts.update, {**(parts.replace or {}), **ADMIN_REPLACE}, None)
        return parts
