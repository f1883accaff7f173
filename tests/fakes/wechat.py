"""A fake of WeChat's Official Account API under /cgi-bin/: token, message/template/send (de-duplicating on
(touser, client_msg_id) as WeChat does), message/subscribe/bizsend.

Script replies: "ok"; ("errcode", 43004) and any other WeChat errcode; ("http", 502); "hang" (accepted after the
client gave up). `fake.sent` lists the messages WeChat accepted (what the user's phone would show), once each.
"""

import itertools

from tests.fakes.server import FakeServer, Recorded


class FakeWeChat(FakeServer):
    def __init__(self, appid: str, secret: str):
        super().__init__()
        self.appid = appid
        self.secret = secret
        self.sent: list[dict] = []
        self.tokens_issued = 0
        self._msgids = itertools.count(1000)
        self._by_client_msg_id: dict[tuple, int] = {}

    def _token(self) -> str:
        return f"TOKEN-{self.tokens_issued}"

    def respond(self, recorded: Recorded):
        if recorded.path.endswith("/cgi-bin/token"):
            if recorded.query.get("appid") != [self.appid] or recorded.query.get("secret") != [self.secret]:
                return 200, {"errcode": 40125, "errmsg": "invalid appsecret"}
            with self._lock:
                self.tokens_issued += 1
                return 200, {"access_token": self._token(), "expires_in": 7200}
        if recorded.query.get("access_token") != [self._token()] or not self.tokens_issued:
            return 200, {"errcode": 40001, "errmsg": "invalid credential"}
        if not recorded.path.endswith(("/message/template/send", "/message/subscribe/bizsend")):
            return 404, b"not found"
        data = recorded.json or {}
        reply = self.next_reply()
        if reply == "hang":
            self.hang()
            reply = "ok"
        if isinstance(reply, tuple) and reply[0] == "http":
            return reply[1], b"<html>bad gateway</html>"
        if isinstance(reply, tuple):
            return 200, {"errcode": reply[1], "errmsg": f"fake error {reply[1]}"}
        with self._lock:
            key = (data.get("touser"), data.get("client_msg_id"))
            if data.get("client_msg_id") and key in self._by_client_msg_id:
                return 200, {"errcode": 0, "errmsg": "ok", "msgid": self._by_client_msg_id[key]}
            msgid = next(self._msgids)
            if data.get("client_msg_id"):
                self._by_client_msg_id[key] = msgid
            self.sent.append({**data, "msgid": msgid, "path": recorded.path})
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": msgid}
