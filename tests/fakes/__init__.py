"""Fake provider HTTP servers (Twilio, WeChat) on 127.0.0.1 for the real twilio and wechatpy clients."""
