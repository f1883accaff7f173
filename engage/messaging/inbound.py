"""Inbound messages: what people send us over SMS and WeChat, handed to the apps that registered a handler.

    from engage.messaging.inbound import Inbound, register_inbound_handler

    def on_inbound(inbound: Inbound) -> str | None:
        # inbound.channel  "sms" | "wechat"
        # inbound.sender   E.164 number (SMS) or openid (WeChat)
        # inbound.text     the text as sent ("" for events)
        # inbound.kind     "text" | "subscribe" | "unsubscribe" | "opt_out" | "opt_in"
        # inbound.received_at (aware datetime), inbound.provider_id (Twilio MessageSid / WeChat MsgId or event id)
        # inbound.scene    WeChat subscribe via a parametric QR code: the scene string, else ""
        return "reply text" or None

    register_inbound_handler(on_inbound)  # e.g. in AppConfig.ready(); registering twice is harmless

Every inbound SMS, WeChat text, subscribe/unsubscribe event and opt-out (STOP, 退订, TD …, and Twilio's own
OptOutType=STOP notices) is stored once as an `InboundMessage` (deduplicated on the provider id, sender encrypted and
hashed) and passed to each handler inside the transaction that stores it, so a handler that raises rolls the row back
and the provider retries. Handlers run only the first time a provider id is seen. The first non-empty reply is
sent back (TwiML <Message> for SMS, a passive text reply for WeChat, which must answer within 5 seconds: keep
handlers quick and schedule slow work with transaction.on_commit). Duplicates get the stored reply again.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

OPT_OUT_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "TD", "T", "退订", "取消", "N退订"}
OPT_IN_WORDS = {"START", "UNSTOP"}


@dataclass(frozen=True)
class Inbound:
    channel: str
    sender: str
    text: str
    kind: str
    received_at: datetime
    provider_id: str
    scene: str = ""  # WeChat subscribe through a parametric QR code: its scene (EventKey without "qrscene_")


_HANDLERS: list[Callable[[Inbound], str | None]] = []


def register_inbound_handler(fn: Callable[[Inbound], str | None], *, first: bool = False) -> Callable:
    """`first`: ahead of the handlers already registered (its reply wins), e.g. exact keyword replies."""
    if fn not in _HANDLERS:
        if first:
            _HANDLERS.insert(0, fn)
        else:
            _HANDLERS.append(fn)
    return fn


def unregister_inbound_handler(fn: Callable) -> None:
    if fn in _HANDLERS:
        _HANDLERS.remove(fn)


def handlers() -> list[Callable[[Inbound], str | None]]:
    return list(_HANDLERS)


def classify_text(text: str) -> str:
    """An opt-out or opt-in keyword, whole message only, case and width insensitive; else plain text."""
    word = (text or "").strip().upper().replace("＂", "").rstrip("。.!！")
    if word in OPT_OUT_WORDS:
        return "opt_out"
    if word in OPT_IN_WORDS:
        return "opt_in"
    return "text"
