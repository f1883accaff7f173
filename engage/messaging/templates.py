"""The registry of approved message templates. Chinese providers send approved templates only.

    from engage.messaging.templates import MessageTemplate, register
    register(MessageTemplate(key="dose_reminder", sms={"zh-hans": "...{time}...", "en": "...{time}..."},
                             wechat_template_id="<id>", wechat_fields={"thing1": "{drug}", "time2": "{time}"}))
"""

from dataclasses import dataclass, field

from engage.core.errors import DomainError

SECRET_MASK = "••••••"  # noqa: S105  (not a password) what the outbox, the admin, exports and logs show instead of a secret parameter


@dataclass(frozen=True)
class MessageTemplate:
    key: str
    sms: dict[str, str]
    wechat_template_id: str = ""
    # WeChat field name -> text with {param} placeholders, e.g. {"thing1": "{drug}", "time2": "{time}"}
    wechat_fields: dict[str, str] = field(default_factory=dict)
    wechat_subscribe_template_id: str = ""  # a subscription notice (订阅通知) template, if the key has one
    wechat_url: str = ""  # the page the message opens, with {param} placeholders
    # A one-time subscription message (一次性订阅消息): its title (WeChat shows 15 characters) and its text (200),
    # with {param} placeholders; without them the first WeChat field and the SMS text are used.
    wechat_once_title: str = ""
    wechat_once_content: str = ""
    # Parameters nobody may read (one-time codes, sign-in links): kept encrypted until the provider took the
    # message, then erased; stored, shown and logged as SECRET_MASK.
    secret_params: tuple[str, ...] = ()

    def masked(self, params: dict) -> dict:
        """`params` with every secret parameter replaced by SECRET_MASK."""
        return {k: (SECRET_MASK if k in self.secret_params else v) for k, v in params.items()}

    def render_wechat(self, params: dict) -> dict[str, dict[str, str]]:
        """WeChat's `data` object: {"thing1": {"value": "..."}}."""
        try:
            return {name: {"value": text.format(**params)} for name, text in self.wechat_fields.items()}
        except (KeyError, IndexError) as exc:
            raise DomainError("template_params_missing", f"Template {self.key} needs parameter {exc}.") from exc

    def render_wechat_url(self, params: dict) -> str:
        try:
            return self.wechat_url.format(**params) if self.wechat_url else ""
        except (KeyError, IndexError) as exc:
            raise DomainError("template_params_missing", f"Template {self.key} needs parameter {exc}.") from exc

    def render_wechat_once(self, params: dict, language: str = "zh-hans") -> tuple[str, dict[str, dict[str, str]]]:
        """The title (at most 15 characters) and `data` ({"content": {"value": ...}}, at most 200) of a one-time
        subscription message."""
        try:
            title = self.wechat_once_title.format(**params) if self.wechat_once_title else ""
            content = self.wechat_once_content.format(**params) if self.wechat_once_content else ""
        except (KeyError, IndexError) as exc:
            raise DomainError("template_params_missing", f"Template {self.key} needs parameter {exc}.") from exc
        if not title:
            fields = list(self.render_wechat(params).values())
            title = fields[0]["value"] if fields else ""
        content = content or self.render_sms(params, language)
        return title[:15], {"content": {"value": content[:200]}}

    def render_sms(self, params: dict, language: str) -> str:
        text = self.sms.get(language) or self.sms["zh-hans"]
        try:
            return text.format(**params)
        except (KeyError, IndexError) as exc:
            raise DomainError("template_params_missing", f"Template {self.key} needs parameter {exc}.") from exc


REGISTRY: dict[str, MessageTemplate] = {}


def register(template: MessageTemplate) -> MessageTemplate:
    REGISTRY[template.key] = template
    return template


def get_template(key: str) -> MessageTemplate:
    try:
        return REGISTRY[key]
    except KeyError:
        raise DomainError("unknown_template", f"No message template {key!r}.") from None


register(
    MessageTemplate(
        key="verification_code",
        sms={
            "zh-hans": "【Engage】您的验证码是{code}，{minutes}分钟内有效。请勿向任何人泄露。",
            "en": "[Engage] Your verification code is {code}. It expires in {minutes} minutes. Never share it.",
        },
        secret_params=("code",),
    )
)
register(
    MessageTemplate(
        key="unknown_account",
        sms={
            "zh-hans": "【Engage】该手机号尚未注册 Engage，请先注册。",
            "en": "[Engage] No Engage account uses this number yet. Please sign up first.",
        },
    )
)
register(
    MessageTemplate(
        key="verification_result",
        sms={
            "zh-hans": "【Engage】您的医生认证结果：{result}。{reason}详情请登录 Engage 查看。",
            "en": "[Engage] Your doctor verification: {result}. {reason} Sign in to Engage for details.",
        },
    )
)
