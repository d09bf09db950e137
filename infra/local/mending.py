"""`make deadletters`: an operator's dead letters and parked outbox rows on a `make up` stack.

python -m infra.local.mending SERVICE [--replay ID|all] [--discard ID --reason TEXT]
                                      [--parked] [--requeue SEQ|all] [--user ops-1] [--url URL] [--key K]
Without an action it lists the service's open dead letters. It signs in as `--user` (the seeded
operator, ops-1) with the development identity provider's key, and prints the API's JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import httpx

from infra.idp.__main__ import DEFAULT_KEY
from infra.idp.keys import load_or_create_key, mint
from infra.local.catalog import SERVICES


def _call(args: argparse.Namespace) -> tuple[str, str, dict[str, str] | None]:
    """The method, path and body of what was asked."""
    if args.discard:
        if not args.reason:
            sys.exit("--discard needs --reason (it is kept with the dead letter)")
        return "POST", f"/dead-letters/{args.discard}/discard", {"reason": args.reason}
    if args.replay:
        return "POST", ("/dead-letters/replay" if args.replay == "all"
                        else f"/dead-letters/{args.replay}/replay"), None
    if args.requeue:
        return "POST", ("/outbox/parked/replay" if args.requeue == "all"
                        else f"/outbox/parked/{args.requeue}/replay"), None
    return "GET", "/outbox/parked" if args.parked else "/dead-letters", None


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.local.mending")
    parser.add_argument("service", choices=sorted(SERVICES))
    parser.add_argument("--replay", help="a dead letter's id, or all")
    parser.add_argument("--discard", help="a dead letter's id")
    parser.add_argument("--reason")
    parser.add_argument("--parked", action="store_true", help="list parked outbox rows")
    parser.add_argument("--requeue", help="a parked outbox row's seq, or all")
    parser.add_argument("--user", default="ops-1")
    parser.add_argument("--url", help="the service's base URL (default: the make up port)")
    parser.add_argument("--key", default=DEFAULT_KEY, help="the development IdP's signing key")
    args = parser.parse_args()
    method, path, body = _call(args)
    base = args.url or f"http://127.0.0.1:{SERVICES[args.service]}"
    token = mint(load_or_create_key(Path(args.key)), args.user)
    answer = httpx.request(method, base + "/operators" + path, json=body, timeout=60,
                           headers={"Authorization": f"Bearer {token}"})
    print(json.dumps(answer.json(), ensure_ascii=False, indent=2))
    if answer.is_error:
        sys.exit(1)


if __name__ == "__main__":
    main()
