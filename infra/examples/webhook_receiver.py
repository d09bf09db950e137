"""A division's system receiving tsunagu's webhooks: the smallest correct receiver.

Copy it; it needs only the standard library. It checks, in this order, before it believes a
delivery (Standard Webhooks, as notifications signs them):

1. `webhook-timestamp` within TOLERANCE seconds of now: an old delivery replayed by someone
   who recorded it is rejected (401);
2. one of the `webhook-signature` values (`v1,<base64 HMAC-SHA256>`, several while tsunagu
   rotates the secret) matches HMAC-SHA256(secret, "<webhook-id>.<timestamp>.<body>") over the
   exact bytes received: a tampered body or a forged sender is rejected (401);
3. `webhook-id` not seen before: a retry of something already handled is acknowledged (200)
   and not handled twice.

The body is one CloudEvent in structured mode (JSON): `type`, `id`, `time`, `data`, ….

    python -m infra.examples.webhook_receiver --port 8700 --secret whsec_...
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE = 300  # seconds


def verify(secret: str, headers: dict[str, str], body: bytes, now: float | None = None) -> bool:
    try:
        delivery_id, timestamp = headers["webhook-id"], int(headers["webhook-timestamp"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > TOLERANCE:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{delivery_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(mac).decode()
    return any(hmac.compare_digest(expected, given) for given in headers.get("webhook-signature", "").split())


class Receiver:
    """Serves on 127.0.0.1:`port` in a thread; keeps every event it accepted, once each.
    `fail_next` answers that many deliveries 503 first (to watch tsunagu retry)."""

    def __init__(self, port: int, secret: str, fail_next: int = 0, delay: float = 0.0) -> None:
        self.secret, self.fail_next, self.delay = secret, fail_next, delay
        self.events: dict[str, dict[str, Any]] = {}  # webhook-id → the CloudEvent
        self.rejected = self.repeats = self.failed = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                self.send_response(receiver.accept({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        return Handler

    def accept(self, headers: dict[str, str], body: bytes) -> int:
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            if not verify(self.secret, headers, body):
                self.rejected += 1
                return 401
            if self.fail_next > 0:
                self.fail_next -= 1
                self.failed += 1
                return 503
            if headers["webhook-id"] in self.events:
                self.repeats += 1
                return 200
            self.events[headers["webhook-id"]] = json.loads(body)
            return 204

    def start(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    receiver = Receiver(args.port, args.secret)
    print(f"listening on 127.0.0.1:{args.port}")
    receiver.server.serve_forever()


if __name__ == "__main__":
    main()
