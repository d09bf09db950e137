"""python -m infra.idp serve --port 8009 --key K | token USER --key K [--ttl S]"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from infra.local.catalog import RUN

from .keys import jwks, load_or_create_key, mint

DEFAULT_KEY = RUN / "idp" / "dev-key.pem"


def serve(port: int, key_path: Path) -> None:
    body = json.dumps(jwks(load_or_create_key(key_path))).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/.well-known/jwks.json":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.idp")
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, default=8009)
    s.add_argument("--key", type=Path, default=DEFAULT_KEY)
    t = sub.add_parser("token")
    t.add_argument("user")
    t.add_argument("--key", type=Path, default=DEFAULT_KEY)
    t.add_argument("--ttl", type=int, default=8 * 3600)
    args = parser.parse_args()
    if args.cmd == "serve":
        serve(args.port, args.key)
    else:
        print(mint(load_or_create_key(args.key), args.user, ttl=args.ttl))


if __name__ == "__main__":
    main()
