"""A fake of WeChat's Official Account API under /cgi-bin/: token and stable_token (the current token to everyone,
a new one only with force_refresh), ticket/getticket (the JS-SDK ticket), menu/create, menu/get and
get_current_selfmenu_info (the live menu), message/template/subscribe (one-time subscription),
message/template/send (de-duplicating on (touser, client_msg_id) as WeChat does), message/subscribe/bizsend; the
one-time subscription page (`fake.subscribe_confirm(url)`: the person's answer on mp.weixin.qq.com/mp/subscribemsg)
and message/template/subscribe, which spends one authorisation of (touser, template_id, scene) and answers 43101
without one, as WeChat does; and
the web authorisation (网页授权) allauth's weixin provider uses under /sns/: oauth2/access_token (a code from
`fake.oauth_code(openid)`) and userinfo.

Script replies: "ok"; ("errcode", 43004) and any other WeChat errcode; ("http", 502); "hang" (accepted after the
client gave up). `fake.sent` lists the messages WeChat accepted (what the user's phone would show), once each.
"""

import itertools
import json

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
        self._oauth_codes: dict[str, dict] = {}
        self._sns_tokens: dict[str, dict] = {}
        self.browser_person = ("oBROWSER", "")  # who is "in WeChat" at the authorize page (browser tests)
        self.stable_token_calls = 0
        self.tickets_issued = 0
        self.menu: dict | None = None  # the live menu, as menu/create left it
        self.subscribe_grants: dict[tuple, int] = {}  # (openid, template_id, scene) -> authorisations not spent

    def subscribe_confirm(self, url: str, openid: str, *, action: str = "confirm") -> str:
        """The person's answer on WeChat's one-time subscription page at `url` (what get_subscribe_authorize_url
        built): where WeChat sends the browser back (redirect_url with openid, template_id, action, scene,
        reserved). A confirm lets one message through; confirming one scene again does not add up."""
        from urllib.parse import parse_qs, urlencode, urlparse

        parsed = urlparse(url)
        assert f"{parsed.scheme}://{parsed.netloc}{parsed.path}" == "https://mp.weixin.qq.com/mp/subscribemsg", url
        assert parsed.fragment == "wechat_redirect", url
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        assert query["action"] == "get_confirm" and query["appid"] == self.appid, query
        assert 0 <= int(query["scene"]) <= 10000 and len(query.get("reserved", "")) <= 128, query
        if action == "confirm":
            with self._lock:
                self.subscribe_grants[(openid, query["template_id"], int(query["scene"]))] = 1
        back = urlencode({"openid": openid, "template_id": query["template_id"], "action": action,
                          "scene": query["scene"], "reserved": query.get("reserved", "")})
        return f"{query['redirect_url']}?{back}"

    def _subscribe_send(self, data: dict):
        """message/template/subscribe: title ≤ 15 characters, content ≤ 200, scene 0-10000, one authorisation."""
        content = ((data.get("data") or {}).get("content") or {}).get("value", "")
        scene = data.get("scene")
        if not isinstance(scene, int) or not 0 <= scene <= 10000 or not data.get("title") \
                or len(data["title"]) > 15 or not content or len(content) > 200:
            return {"errcode": 47003, "errmsg": "argument invalid!"}
        key = (data.get("touser"), data.get("template_id"), scene)
        if not self.subscribe_grants.get(key):
            return {"errcode": 43101, "errmsg": "user refuse to accept the msg"}
        self.subscribe_grants[key] -= 1
        return None

    def oauth_code(self, openid: str, *, scope: str = "snsapi_userinfo", unionid: str = "", nickname: str = "",
                   snapshot: bool = False) -> str:
        """A one-time code WeChat would hand the browser after the person allowed the log-in (`scope` as asked:
        snsapi_base gives no profile; `snapshot`: WeChat's snapshot page with a virtual identity)."""
        code = f"CODE-{openid}-{next(self._msgids)}"
        self._oauth_codes[code] = {"openid": openid, "scope": scope, "unionid": unionid, "nickname": nickname,
                                   "snapshot": snapshot}
        return code

    def _authorize(self, recorded: Recorded):
        """open.weixin.qq.com's authorize page, the person allowing at once: back to redirect_uri with a code for
        `self.browser_person` (openid, nickname) in the scope asked for."""
        from urllib.parse import urlencode

        query = {k: v[0] for k, v in recorded.query.items()}
        if query.get("appid") != self.appid or query.get("scope") not in ("snsapi_base", "snsapi_userinfo"):
            return 400, {"errcode": 10003, "errmsg": "redirect_uri or appid invalid"}
        openid, nickname = self.browser_person
        code = self.oauth_code(openid, scope=query["scope"], nickname=nickname)
        back = urlencode({"code": code, "state": query.get("state", "")})
        return 302, ("location", f"{query['redirect_uri']}?{back}")

    def _sns(self, recorded: Recorded):
        # allauth posts the code as a form; WeChat takes it either way.
        query = {k: v[0] if isinstance(v, list) else v for k, v in {**recorded.query, **recorded.form}.items()}
        if recorded.path.endswith("/sns/oauth2/access_token"):
            person = self._oauth_codes.pop(query.get("code", ""), None)
            if person is None or query.get("appid") != self.appid or query.get("secret") != self.secret:
                return 200, {"errcode": 40029, "errmsg": "invalid code"}
            token = f"SNS-{person['openid']}-{person['scope']}"
            self._sns_tokens[token] = person
            answer = {"access_token": token, "expires_in": 7200, "refresh_token": "R",
                      "openid": person["openid"], "scope": person["scope"]}
            if person["snapshot"]:
                answer["is_snapshotuser"] = 1
            if person["unionid"] and person["scope"] == "snsapi_userinfo":
                answer["unionid"] = person["unionid"]
            return 200, answer
        person = self._sns_tokens.get(query.get("access_token", ""))
        if person is None or person["openid"] != query.get("openid"):
            return 200, {"errcode": 40001, "errmsg": "invalid credential"}
        if person["scope"] != "snsapi_userinfo":
            return 200, {"errcode": 48001, "errmsg": "api unauthorized"}  # what WeChat answers for snsapi_base
        profile = {"openid": person["openid"], "nickname": person["nickname"], "sex": 0, "headimgurl": "",
                   "privilege": []}
        if person["unionid"]:
            profile["unionid"] = person["unionid"]
        # WeChat sends UTF-8 JSON labelled text/plain (no charset): a client that trusts the header gets mojibake.
        return 200, ("text/plain", json.dumps(profile, ensure_ascii=False).encode())

    def _menu_create(self, data):
        """WeChat's limits: 1-3 top-level buttons, 0-5 sub-buttons, names ≤ 16 / ≤ 60 bytes, view URLs ≤ 1024
        bytes, click keys ≤ 128 bytes."""
        buttons = (data or {}).get("button")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return 200, {"errcode": 40016, "errmsg": "invalid button size"}
        for button in buttons:
            subs = button.get("sub_button") or []
            if len(subs) > 5 or len(button.get("name", "").encode()) > 16:
                return 200, {"errcode": 40017 if len(subs) > 5 else 40018, "errmsg": "invalid button"}
            for item in subs or [button]:
                if item is not button and len(item.get("name", "").encode()) > 60:
                    return 200, {"errcode": 40018, "errmsg": "invalid button name size"}
                if item.get("type") == "view" and not 0 < len(item.get("url", "").encode()) <= 1024:
                    return 200, {"errcode": 40055, "errmsg": "invalid button url domain"}
                if item.get("type") == "click" and not 0 < len(item.get("key", "").encode()) <= 128:
                    return 200, {"errcode": 40019, "errmsg": "invalid button key size"}
        with self._lock:
            self.menu = data
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _token(self) -> str:
        return f"TOKEN-{self.tokens_issued}"

    def respond(self, recorded: Recorded):
        if recorded.path.endswith("/connect/oauth2/authorize"):
            return self._authorize(recorded)
        if "/sns/" in recorded.path:
            return self._sns(recorded)
        if recorded.path.endswith("/cgi-bin/stable_token"):
            # The stable token: the current one while valid, whoever asks; a new one only with force_refresh.
            body = recorded.json or {}
            if body.get("appid") != self.appid or body.get("secret") != self.secret \
                    or body.get("grant_type") != "client_credential":
                return 200, {"errcode": 40125, "errmsg": "invalid appsecret"}
            with self._lock:
                self.stable_token_calls += 1
                if body.get("force_refresh") or not self.tokens_issued:
                    self.tokens_issued += 1
                return 200, {"access_token": self._token(), "expires_in": 7200}
        if recorded.path.endswith("/cgi-bin/token"):
            if recorded.query.get("appid") != [self.appid] or recorded.query.get("secret") != [self.secret]:
                return 200, {"errcode": 40125, "errmsg": "invalid appsecret"}
            with self._lock:
                self.tokens_issued += 1
                return 200, {"access_token": self._token(), "expires_in": 7200}
        if recorded.query.get("access_token") != [self._token()] or not self.tokens_issued:
            return 200, {"errcode": 40001, "errmsg": "invalid credential"}
        if recorded.path.endswith("/cgi-bin/ticket/getticket"):
            if recorded.query.get("type") != ["jsapi"]:
                return 200, {"errcode": 40097, "errmsg": "invalid args"}
            with self._lock:
                self.tickets_issued += 1
                return 200, {"errcode": 0, "errmsg": "ok", "ticket": f"TICKET-{self.tickets_issued}",
                             "expires_in": 7200}
        if recorded.path.endswith("/cgi-bin/menu/create"):
            return self._menu_create(recorded.json)
        if recorded.path.endswith("/cgi-bin/get_current_selfmenu_info"):
            return 200, {"is_menu_open": 1, "selfmenu_info": self.menu or {"button": []}}
        if recorded.path.endswith("/cgi-bin/menu/get"):
            if self.menu is None:
                return 200, {"errcode": 46003, "errmsg": "menu no exist"}
            return 200, {"menu": self.menu}
        if not recorded.path.endswith(("/message/template/send", "/message/subscribe/bizsend",
                                       "/message/template/subscribe")):
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
            if recorded.path.endswith("/message/template/subscribe") and (refused := self._subscribe_send(data)):
                return 200, refused
            key = (data.get("touser"), data.get("client_msg_id"))
            if data.get("client_msg_id") and key in self._by_client_msg_id:
                return 200, {"errcode": 0, "errmsg": "ok", "msgid": self._by_client_msg_id[key]}
            msgid = next(self._msgids)
            if data.get("client_msg_id"):
                self._by_client_msg_id[key] = msgid
            self.sent.append({**data, "msgid": msgid, "path": recorded.path})
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": msgid}
