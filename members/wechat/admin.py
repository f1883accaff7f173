"""Hooks: the member page's WeChat block (binding, unbinding, re-binding) when WeChat is configured."""

from wagtail import hooks

from engage.core.sections import MEMBER_SECTIONS_HOOK, PageSection
from members.wechat.selectors import wechat_binding, wechat_enabled


@hooks.register(MEMBER_SECTIONS_HOOK)
def wechat_member_section(*, user):
    if not wechat_enabled():
        return None
    return PageSection(key="wechat", template="members/wechat/includes/wechat_section.html",
                       context={"binding": wechat_binding(user=user)}, order=90)
