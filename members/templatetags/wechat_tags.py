"""`{% wechat_share title desc image link %}`: the WeChat share card (send to friend, moments) of a page opened
inside WeChat, configured by static/js/wechat_share.js through the JS-SDK; nothing outside WeChat or without an
Official Account. The JS-SDK is our vendored copy (static/vendor/weixin-js-sdk): no third-party script origin."""

from django import template

from members.wechat.selectors import subscribe_offer_url, wechat_jssdk_available

register = template.Library()


@register.inclusion_tag("members/wechat/includes/share_card.html", takes_context=True)
def wechat_share(context, title="", desc="", image="", link=""):
    request = context.get("request")
    if not wechat_jssdk_available(request):
        return {"show": False}
    if image and image.startswith("/"):
        image = request.build_absolute_uri(image)
    link = request.build_absolute_uri(link) if link else request.build_absolute_uri(request.path)
    return {"show": True, "title": title, "desc": (desc or "")[:120], "image": image, "link": link}


@register.inclusion_tag("members/wechat/includes/subscribe_offer.html", takes_context=True)
def wechat_subscribe_offer(context, scene=0):
    """"Receive this notice in WeChat": a link to WeChat's one-time subscription page, shown only where
    `subscribe_offer_url` gives one (inside WeChat, signed in, the feature configured)."""
    return {"url": subscribe_offer_url(request=context.get("request"), scene=scene)}


@register.inclusion_tag("members/wechat/includes/scan_button.html", takes_context=True)
def wechat_scan_button(context, target: str):
    """"扫一扫": WeChat's own scanner (wx.scanQRCode) for a page opened inside WeChat; its result goes to the field
    `target` (a CSS selector) — nothing elsewhere."""
    return {"show": wechat_jssdk_available(context.get("request")), "target": target}
