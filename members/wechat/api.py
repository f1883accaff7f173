"""GET /api/v1/wechat/js-config?url=<page URL> — `appId, timestamp, nonceStr, signature` for the JS-SDK's wx.config
on that page of this site (the part after # is ignored, as WeChat signs it). Open to guests: a page read before
signing in shares too. 404 `wechat_not_configured` without an Official Account; 400 `invalid_url` for a URL that is
not one of our pages."""

from urllib.parse import urlparse

from django.conf import settings
from ninja import Query, Router, Schema
from pydantic import Field
from wagtail.api.v3.auth import AllowAnonymous

from engage.core.authentication import BearerTokenAuth, SessionCsrfAuth
from engage.core.schemas import InputSchema
from members.wechat import selectors

router = Router(tags=["wechat"], auth=[BearerTokenAuth(), SessionCsrfAuth(), AllowAnonymous()])


class JsConfigQuery(InputSchema):
    url: str = Field(min_length=1, max_length=2048, description="The page's full URL (location.href).")


class JsConfigOut(Schema):
    appId: str
    timestamp: int
    nonceStr: str
    signature: str


def _our_hosts(request) -> set[str]:
    hosts = {request.get_host().split(":")[0]}
    if public := getattr(settings, "ENGAGE_PUBLIC_URL", ""):
        hosts.add(urlparse(public).hostname or "")
    return hosts


@router.get("/js-config", response=JsConfigOut, summary="JS-SDK configuration for a page",
            openapi_extra={"x-errors": [400, 404]})  # 400 invalid_url, 404 wechat_not_configured
def js_config(request, query: Query[JsConfigQuery]):
    return selectors.js_config(url=query.url, allowed_hosts=_our_hosts(request))
