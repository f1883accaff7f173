"""A visitor's copy of a public page, kept whole in the cache.

The home page is what most visitors open first, and for a visitor (not signed in) it is the same for everyone. A
page opts in by calling `public_page_cache_allow(response, seconds)` when it served a visitor a page that is
everyone's. The copy is kept per host, path and language and tagged with the content generation
(cms.pages.selectors.content_generation, changed by every publish, unpublish and view-restriction change), so a
copy from an older generation is never served; `seconds` bounds it otherwise (content that expires by the clock).

It is served only to a visitor with nothing of their own in the page: a GET without a query string, no session
cookie (so nobody signed in), no pending messages. The visitor's own CSRF token is written into the copy (the
header's language switch is a form). The middleware is the last one, inside all the others, so the security
headers, CSP, consent and WeChat middleware still run for a copy; what a copy saves is Wagtail's site lookup, page
routing, view-restriction check and the rendering. With the cache unreachable every request is a miss and the
page is rendered as before.
"""

import re

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token

from cms.pages.selectors import CONTENT_GENERATION_KEY, content_generation

# The value of every {% csrf_token %} input: a copy keeps the text around it and writes the visitor's own token in.
CSRF_VALUE = re.compile(rb'(?<=name="csrfmiddlewaretoken" value=")[A-Za-z0-9]+(?=")')
KEY_PREFIX = "cms:public-page"
_ALLOW = "_engage_public_cache_seconds"
# The paths this process has stored a copy of: every other request (API calls, other pages, health checks) goes
# straight on, without a round trip to the cache. A new process learns a path when it first renders the page.
_copied_paths: set[str] = set()


def public_page_cache_allow(response: HttpResponse, seconds: int) -> None:
    """Marks `response` as the page every visitor gets: kept for at most `seconds` (see the module)."""
    setattr(response, _ALLOW, seconds)


def _key(request: HttpRequest) -> str | None:
    """The copy's key for this request, or None when the request may have something of its own in the page."""
    if request.path not in _copied_paths or request.method != "GET" or request.META.get("QUERY_STRING"):
        return None
    cookies = request.COOKIES
    if settings.SESSION_COOKIE_NAME in cookies or CookieStorage.cookie_name in cookies:
        return None
    try:
        host = request.get_host()
    except DisallowedHost:
        return None  # the normal path answers it
    return f"{KEY_PREFIX}:{host}:{request.path}:{getattr(request, 'LANGUAGE_CODE', '')}"


def _copy(request: HttpRequest, entry) -> HttpResponse:
    _generation, headers, chunks = entry
    response = HttpResponse(get_token(request).encode().join(chunks) if len(chunks) > 1 else chunks[0])
    for name, value in headers:
        response[name] = value
    return response


def _storable(request: HttpRequest, response: HttpResponse) -> bool:
    if not getattr(response, _ALLOW, None) or response.status_code != 200 or response.streaming:
        return False
    if response.cookies or isinstance(getattr(request, "_csp_nonce", None), str):
        return False  # a cookie or a CSP nonce of this request's own
    session = getattr(request, "session", None)
    return not (session is not None and session.modified) and not request.user.is_authenticated


class PublicPageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        key = _key(request)
        if key is None:
            response = self.get_response(request)
            if getattr(response, _ALLOW, None) and request.path not in _copied_paths:
                _copied_paths.add(request.path)  # from now on looked up; stored by the next visit
            return response
        found = cache.get_many([CONTENT_GENERATION_KEY, key])
        generation, entry = found.get(CONTENT_GENERATION_KEY), found.get(key)
        if generation and entry and entry[0] == generation and not request.user.is_authenticated:
            return _copy(request, entry)
        # Read before the page renders: a publish while it renders leaves the copy under the older generation.
        generation = generation or content_generation()
        response = self.get_response(request)
        if generation and _storable(request, response):
            chunks = tuple(CSRF_VALUE.split(response.content))
            cache.set(key, (generation, list(response.items()), chunks), getattr(response, _ALLOW))
        return response
