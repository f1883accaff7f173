"""Admin: the Official Account's menu (edited here, validated against WeChat's limits, published and compared with
the live one) and keyword replies; the member page's WeChat block; a notice when WeChat is not configured."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.components import Component
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.permissions import register_permission_policy

from engage.core.errors import DomainError
from engage.core.policies import CapabilityPolicy
from engage.core.roles import Capability, can
from engage.core.sections import MEMBER_SECTIONS_HOOK, PageSection
from members.wechat.models import KeywordReply, MenuButton
from members.wechat.selectors import wechat_binding, wechat_enabled
from members.wechat.services import menu_data, menu_live, menu_publish

_EDIT = {"view": Capability.MANAGE_WECHAT, "add": Capability.MANAGE_WECHAT, "change": Capability.MANAGE_WECHAT,
         "delete": Capability.MANAGE_WECHAT}
register_permission_policy(KeywordReply, CapabilityPolicy(KeywordReply, _EDIT))
register_permission_policy(MenuButton, CapabilityPolicy(MenuButton, _EDIT))


@hooks.register(MEMBER_SECTIONS_HOOK)
def wechat_member_section(*, user):
    if not wechat_enabled():
        return None
    return PageSection(key="wechat", template="members/wechat/includes/wechat_section.html",
                       context={"binding": wechat_binding(user=user)}, order=90)


class MenuButtonViewSet(ModelViewSet):
    model = MenuButton
    icon = "list-ul"
    menu_label = pgettext_lazy("wechat", "Menu")
    form_fields = ["parent", "position", "name", "kind", "link_page", "link_path", "keyword"]
    list_display = ["__str__", "position", "kind", "link_path", "keyword"]
    add_to_admin_menu = False


class KeywordReplyViewSet(ModelViewSet):
    model = KeywordReply
    icon = "comment"
    menu_label = _("Keyword replies")
    form_fields = ["keyword", "reply", "link_page", "link_path", "is_active"]
    list_display = ["keyword", "reply", "link_path", "is_active"]
    add_to_admin_menu = False


class WeChatViewSetGroup(ModelViewSetGroup):
    menu_label = _("WeChat")
    menu_icon = "comment"
    menu_order = 905
    items = (MenuButtonViewSet("wechat_menu"), KeywordReplyViewSet("wechat_keywords"))


@hooks.register("register_admin_viewset")
def register_wechat_viewsets():
    return WeChatViewSetGroup()


def menu_publish_view(request):
    """GET: the menu as it would be published, its problems, and the live menu beside it; POST: publish."""
    if not can(request.user, Capability.MANAGE_WECHAT):
        raise DjangoPermissionDenied
    error = ""
    if request.method == "POST":
        try:
            menu_publish(actor=request.user)
        except DomainError as exc:
            error = str(exc.message)
        else:
            messages.success(request, _("The menu was published to WeChat."))
            return redirect("wechat_menu_publish")
    ours, live, problems = None, None, error
    try:
        ours = menu_data()
    except DomainError as exc:
        problems = problems or str(exc.message)
    if wechat_enabled():
        try:
            live = menu_live()
        except DomainError as exc:
            problems = problems or str(exc.message)
    return TemplateResponse(request, "members/wechat/admin/menu_publish.html", {
        "ours": ours, "live": live, "same": ours is not None and live == ours, "problems": problems,
        "enabled": wechat_enabled()}, status=400 if error else 200)


@hooks.register("register_admin_urls")
def register_wechat_urls():
    return [path("wechat/menu/publish/", menu_publish_view, name="wechat_menu_publish")]


class MenuPublishItem(MenuItem):
    def is_shown(self, request):
        return can(request.user, Capability.MANAGE_WECHAT)


@hooks.register("register_settings_menu_item")
def register_menu_publish_item():
    return MenuPublishItem(_("Publish WeChat menu"), reverse("wechat_menu_publish"), icon_name="comment", order=905)


class WeChatOffPanel(Component):
    name = "wechat_off"
    order = 50
    template_name = "members/wechat/admin/wechat_off_panel.html"


@hooks.register("construct_homepage_panels")
def add_wechat_off_panel(request, panels):
    if not wechat_enabled() and can(request.user, Capability.MANAGE_WECHAT):
        panels.append(WeChatOffPanel())
