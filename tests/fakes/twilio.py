"""A fake of Twilio's Messages API: POST /2010-04-01/Accounts/<sid>/Messages.json.

Script replies: "ok"; ("error", http_status, twilio_code) e.g. ("error", 400, 21610), ("error", 500, 20500),
("error", 429, 20429); "hang" (accepted after the client gave up). `fake.sent` lists the form posts the provider
accepted (what a phone would receive).
"""

import base64
import uuid

from tests.fakes.server import FakeServer, Recorded


class FakeTwilio(FakeServer):
    def __init__(self, account_sid: str, auth_token: str):
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sent: list[dict] = []

    def respond(self, recorded: Recorded):
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if recorded.headers.get("Authorization") != expected:
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        if recorded.method != "POST" or not recorded.path.endswith("/Messages.json"):
            return 404, {"code": 20404, "message": "Not found", "status": 404}
        reply = self.next_reply()
        if reply == "hang":
            self.hang()
            reply = "ok"
        if reply == "ok":
            sid = "SM" + uuid.uuid4().hex
            with self._lock:
                self.sent.append({**recorded.form, "Sid": sid})
            return 201, {
                "sid": sid, "account_sid": self.account_sid, "to": recorded.form.get("To"),
                "body": recorded.form.get("Body"), "status": "accepted",
                "messaging_service_sid": recorded.form.get("MessagingServiceSid"), "num_segments": "1",
                "error_code": None, "error_message": None, "uri": f"{recorded.path[:-5]}/{sid}.json",
            }
        _, status, code = reply
        return status, {"code": code, "message": f"fake error {code}", "more_info": "", "status": status}
