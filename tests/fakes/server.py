"""A scriptable fake HTTP API on 127.0.0.1 in a thread: records every request, answers from a script.

    fake.script("ok", ("error", 500, 20500), "hang")   # next three sends; then the default ("ok")

A "hang" reply holds the request until `release()` (or teardown) and then accepts it: the provider got it even though
the client timed out, which is exactly the unknown-outcome case.
"""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    form: dict = field(default_factory=dict)
    json: dict | None = None


class FakeServer:
    def __init__(self):
        self.requests: list[Recorded] = []
        self.connections: set[tuple] = set()  # the clients' (address, port): one per connection they opened
        self._script: list = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            wbufsize = 1 << 16  # one write per response: no Nagle/delayed-ACK stall between headers and body

            def log_message(self, *args):
                pass

            def _handle(self):
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if len(body) < length:
                    # The client went away mid-request (a worker killed while sending): the provider never got a
                    # whole request, so nothing is recorded or answered.
                    self.close_connection = True
                    return
                recorded = Recorded(method=self.command, path=parsed.path, query=parse_qs(parsed.query),
                                    headers=dict(self.headers.items()), body=body)
                ctype = self.headers.get("Content-Type", "")
                if "x-www-form-urlencoded" in ctype:
                    recorded.form = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(body.decode()).items()}
                elif body:
                    try:
                        recorded.json = json.loads(body.decode())
                    except ValueError:
                        pass
                with fake._lock:
                    fake.requests.append(recorded)
                    fake.connections.add(self.client_address)
                status, payload = fake.respond(recorded)
                content_type = "application/json"
                headers = {}
                if isinstance(payload, tuple) and payload[0] == "location":  # a redirect
                    headers["Location"], payload = payload[1], b""
                elif isinstance(payload, tuple):  # (content type, body bytes)
                    content_type, payload = payload
                data = json.dumps(payload, ensure_ascii=False).encode() if not isinstance(payload, bytes) else payload
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _handle

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # clients with many calls in flight connect at once (socketserver's 5 drops some)

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def script(self, *replies) -> None:
        """Queues replies for the next send requests (not token requests)."""
        with self._lock:
            self._script.extend(replies)

    def next_reply(self):
        with self._lock:
            return self._script.pop(0) if self._script else "ok"

    def hang(self) -> None:
        self._release.wait(timeout=30)

    def release(self) -> None:
        self._release.set()

    def respond(self, recorded: Recorded) -> tuple[int, object]:  # overridden
        raise NotImplementedError
