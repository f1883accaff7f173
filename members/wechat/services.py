"""WeChat log-in for doctors: binding a WeChat identity to an account by a mobile number confirmed with an SMS code
(creating the account when the number is new), unbinding it, and the follow status the Official Account reports."""

import hashlib
import hmac
import secrets
import time
from datetime import datetime

from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wechatpy.exceptions import WeChatClientException

from engage.audit.services import audit_log
from engage.core.errors import DomainError, PermissionDenied
from engage.core.roles import Capability, can
from engage.messaging.services import message_enqueue
from engage.messaging.wechat import wechat_client
from members.accounts.models import User
from members.accounts.phone import normalise_mobile
from members.accounts.services import username_generate
from members.consents.models import Consent
from members.consents.services import consents_set
from members.engagement.models import EngagementKind
from members.engagement.services import engagement_record
from members.wechat.models import KeywordReply, MenuButton, WeChatFollower

PROVIDER = "weixin"
BIND_CODE_SECONDS = 10 * 60
BIND_RESEND_SECONDS = 60
BIND_MAX_ATTEMPTS = 5


def _bind_key(openid: str) -> str:
    return f"engage:wechat:bind:{hashlib.sha256(openid.encode()).hexdigest()}"


def _code_hash(code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), code.encode(), hashlib.sha256).hexdigest()


def wechat_bind_code_send(*, openid: str, phone: str, language: str = "zh-hans") -> str:
    """Sends a 6-digit code to `phone` for binding `openid`; returns the number in E.164. Answers alike whether the
    number has an account (no enumeration); one code a minute per WeChat identity."""
    try:
        phone = normalise_mobile(phone)
    except ValidationError as exc:
        raise DomainError("invalid_mobile", exc.messages[0], field="phone") from None
    key = _bind_key(openid)
    pending = cache.get(key)
    if pending and pending["sent_at"] > time.time() - BIND_RESEND_SECONDS:
        raise DomainError("code_recently_sent", _("A code was sent less than a minute ago. Wait a moment."),
                          status=429)
    code = f"{secrets.randbelow(10 ** 6):06d}"
    cache.set(key, {"phone": phone, "code_hash": _code_hash(code), "attempts": 0, "sent_at": time.time()},
              timeout=BIND_CODE_SECONDS)
    message_enqueue(channel="sms", to=phone, template_key="verification_code",
                    params={"code": code, "minutes": BIND_CODE_SECONDS // 60}, language=language,
                    send_now=True)  # the person is waiting at the form for it
    return phone


def _check_code(openid: str, code: str) -> str:
    key = _bind_key(openid)
    pending = cache.get(key)
    if not pending:
        raise DomainError("code_expired", _("The code has expired. Ask for a new one."), field="code")
    if pending["attempts"] >= BIND_MAX_ATTEMPTS:
        raise DomainError("too_many_attempts", _("Too many wrong codes. Ask for a new one."), field="code",
                          status=429)
    if not hmac.compare_digest(_code_hash((code or "").strip()), pending["code_hash"]):
        pending["attempts"] += 1
        cache.set(key, pending, timeout=BIND_CODE_SECONDS)
        raise DomainError("wrong_code", _("That code is not right."), field="code")
    return pending["phone"]


def wechat_bind_complete(*, uid: str, extra_data: dict, code: str, accept_privacy: bool,
                         ip_address: str | None = None, user_agent: str = "") -> tuple[User, bool]:
    """Binds the WeChat identity (`uid`, `extra_data` from the authorisation) to the account with the number the
    code was sent to, creating that account when there is none; records the privacy consent. Returns (user,
    created). Nothing changes on a wrong code, a missing consent or an identity bound meanwhile."""
    openid = extra_data.get("openid") or ""
    if not openid:
        raise DomainError("no_wechat_identity", _("Authorise with WeChat first."))
    if not accept_privacy:
        raise DomainError("privacy_consent_required", _("Agree to the privacy policy to continue."),
                          field="accept_privacy")
    phone = _check_code(openid, code)
    try:
        with transaction.atomic():
            user = User.objects.select_for_update().filter(mobile=phone).first()
            created = user is None
            if created:
                user = User(username=username_generate(), mobile=phone, mobile_verified=True,
                            display_name=(extra_data.get("nickname") or "")[:100])
                user.set_unusable_password()
                user.save()
            elif not user.is_active:
                raise DomainError("account_inactive", _("This account is closed."))
            elif SocialAccount.objects.filter(user=user, provider=PROVIDER).exists():
                raise DomainError("already_bound", _("This mobile number's account is bound to another WeChat. "
                                                     "Unbind it from the account page first."))
            elif not user.mobile_verified:
                user.mobile_verified = True
                user.save(update_fields=["mobile_verified"])
            account = SocialAccount.objects.create(user=user, provider=PROVIDER, uid=uid, extra_data=extra_data)
            consents_set(user=user, privacy=True, marketing={}, method=Consent.Method.WECHAT,
                         ip_address=ip_address, user_agent=user_agent)
            if created:
                engagement_record(doctor=user, kind=EngagementKind.JOINED, source_key=f"member.joined:{user.pk}",
                                  occurred_at=user.date_joined)
            audit_log(actor=user, action="members.wechat_bind", obj=account,
                      after={"user": user.pk, "created": created})
    except IntegrityError:  # the same WeChat identity bound in a parallel request
        raise DomainError("already_bound", _("This WeChat is already bound to an account.")) from None
    cache.delete(_bind_key(openid))
    return user, created


@transaction.atomic
def wechat_unbind(*, user: User) -> int:
    """Removes the user's WeChat log-in; they keep signing in by mobile number or email (every account has one)."""
    accounts = list(SocialAccount.objects.select_for_update().filter(user=user, provider=PROVIDER))
    if not accounts:
        raise DomainError("not_bound", _("This account has no WeChat bound."))
    for account in accounts:
        audit_log(actor=user, action="members.wechat_unbind", obj=account, before={"uid": account.uid})
        account.delete()
    return len(accounts)


def follower_status_set(*, openid: str, following: bool, at: datetime | None = None) -> WeChatFollower:
    """The Official Account's subscribe/unsubscribe: an older event never overwrites a newer one."""
    at = at or timezone.now()
    with transaction.atomic():
        follower, created = WeChatFollower.objects.select_for_update().get_or_create(
            openid=openid, defaults={"following": following, "changed_at": at})
        if not created and at >= follower.changed_at:
            follower.following = following
            follower.changed_at = at
            follower.save(update_fields=["following", "changed_at"])
    return follower


def _absolute(path: str) -> str:
    base = (getattr(settings, "ENGAGE_PUBLIC_URL", "") or settings.WAGTAILADMIN_BASE_URL).rstrip("/")
    return f"{base}{path}"


def keyword_reply_text(*, text: str) -> str:
    """The passive reply to a follower's text: the active keyword reply for exactly that word, with its link."""
    word = (text or "").strip()
    if not word or len(word) > 30:
        return ""
    reply = KeywordReply.objects.filter(keyword=word, is_active=True).select_related("link_page").first()
    if reply is None:
        return ""
    path = reply.link_page.url if reply.link_page_id and reply.link_page.live else reply.link_path
    return f"{reply.reply}\n{_absolute(path)}" if path and path.startswith("/") else reply.reply


def on_wechat_inbound(inbound) -> str | None:
    """The Official Account's callbacks for doctors: follow status from subscribe/unsubscribe, keyword replies."""
    if inbound.channel != "wechat":
        return None
    if inbound.kind in ("subscribe", "unsubscribe"):
        follower_status_set(openid=inbound.sender[:64], following=inbound.kind == "subscribe", at=inbound.received_at)
        return None
    if inbound.kind == "text":
        return keyword_reply_text(text=inbound.text) or None
    return None


# WeChat's limits for the custom menu (names: MenuButton.name_problem).
MENU_TOP_MAX, MENU_SUB_MAX = 3, 5
MENU_URL_BYTES, MENU_KEY_BYTES = 1024, 128


def _button_data(button: MenuButton, *, top: bool) -> tuple[dict, list[str]]:
    problems = [problem] if (problem := button.name_problem(top=top)) else []
    data = {"name": button.name.strip()}
    if button.kind == MenuButton.Kind.PARENT:
        if not top:
            problems.append(_("“%(name)s”: a sub-menu cannot hold another.") % {"name": button.name})
        children = list(button.children.order_by("position", "pk"))
        if not 1 <= len(children) <= MENU_SUB_MAX:
            problems.append(_("“%(name)s”: a sub-menu holds 1 to 5 buttons.") % {"name": button.name})
        subs = []
        for child in children:
            sub, sub_problems = _button_data(child, top=False)
            subs.append(sub)
            problems += sub_problems
        data["sub_button"] = subs
    elif button.kind == MenuButton.Kind.CLICK:
        if not button.keyword or len(button.keyword.encode()) > MENU_KEY_BYTES:
            problems.append(_("“%(name)s”: give the keyword it sends.") % {"name": button.name})
        data.update(type="click", key=button.keyword)
    else:
        path = button.link_page.url if button.link_page_id and button.link_page.live else button.link_path
        url = _absolute(path) if path and path.startswith("/") else ""
        if not url or len(url.encode()) > MENU_URL_BYTES:
            problems.append(_("“%(name)s”: link a live page or a path of this site.") % {"name": button.name})
        data.update(type="view", url=url)
    return data, problems


def menu_data() -> dict:
    """The menu as WeChat's menu/create takes it, checked against WeChat's limits (DomainError listing problems)."""
    tops = list(MenuButton.objects.filter(parent__isnull=True).select_related("link_page").order_by("position", "pk"))
    problems = [] if 1 <= len(tops) <= MENU_TOP_MAX else [_("The menu has 1 to 3 top-level buttons.")]
    buttons = []
    for top in tops:
        data, top_problems = _button_data(top, top=True)
        buttons.append(data)
        problems += top_problems
    if problems:
        raise DomainError("invalid_menu", " ".join(str(p) for p in problems), problems=[str(p) for p in problems])
    return {"button": buttons}


def menu_publish(*, actor) -> dict:
    """Publishes the menu edited in the admin to the Official Account (client.menu.create), audited."""
    if not can(actor, Capability.MANAGE_WECHAT):
        raise PermissionDenied("not_allowed", _("You may not publish the WeChat menu."))
    data = menu_data()
    try:
        wechat_client().menu.create(data)
    except WeChatClientException as exc:
        raise DomainError("wechat_refused", _("WeChat refused the menu (%(code)s): %(message)s") % {
            "code": exc.errcode, "message": exc.errmsg}) from None
    audit_log(actor=actor, action="members.wechat_menu_publish", object_type="wechat.menu", object_id="menu",
              after=data)
    return data


def menu_live() -> dict | None:
    """The menu WeChat shows now (menu/get), or None when there is none."""
    try:
        result = wechat_client().menu.get()  # wechatpy answers None for "no menu" (46003)
        return result.get("menu") if result else None
    except WeChatClientException as exc:
        if str(exc.errcode) == "46003":  # no menu
            return None
        raise DomainError("wechat_refused", _("WeChat did not answer: %(code)s") % {"code": exc.errcode}) from None
