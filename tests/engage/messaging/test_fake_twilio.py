"""The fake Twilio counts as sent only what a phone would receive: a request cut off mid-body (a worker killed
while sending) never reached the provider whole, so it is neither recorded nor answered."""

import base64
import socket
from urllib.parse import urlencode, urlparse


def _post(fake, body: bytes, *, declared: int) -> bytes:
    auth = base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
    url = urlparse(fake.url)
    head = (f"POST /2010-04-01/Accounts/{fake.account_sid}/Messages.json HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: Basic {auth}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {declared}\r\n\r\n").encode()
    with socket.create_connection((url.hostname, url.port), timeout=5) as client:
        client.sendall(head + body)
        client.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := client.recv(4096):
            answer += chunk
    return answer


def test_a_whole_request_is_sent_and_a_cut_off_one_is_not(fake_twilio):
    form = urlencode({"To": "+8613800138000", "Body": "服药提醒"}).encode()
    assert _post(fake_twilio, form, declared=len(form)).startswith(b"HTTP/1.1 201")
    assert _post(fake_twilio, form[:10], declared=len(form)) == b""
    assert [m["To"] for m in fake_twilio.sent] == ["+8613800138000"]
