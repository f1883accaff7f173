"""An HTTP request must deliver its body in time: uvicorn has no body read timeout of its own, so a client that
declares a large Content-Length and sends nothing would hold a worker's request open for ever (slow-body attack)."""

import asyncio

from django.conf import settings


class BodyTooSlow(Exception):
    """The declared body did not arrive within ENGAGE_REQUEST_BODY_TIMEOUT."""


class RequestBodyTimeout:
    """Answers 408 and closes when the whole body has not arrived within ENGAGE_REQUEST_BODY_TIMEOUT seconds of the
    request's start. Only the body is bounded: once it is complete, later receives (Django waiting for a client
    disconnect while it streams a response) pass through untouched."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(getattr(settings, "ENGAGE_REQUEST_BODY_TIMEOUT", 30))
        body_done = False
        started = False

        async def bounded_receive():
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise BodyTooSlow from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except BodyTooSlow:
            if not started:
                await send({"type": "http.response.start", "status": 408,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]})
                await send({"type": "http.response.body", "body": b"Request body timeout"})
