"""A division's own system on the event streams: registered by an operator, with its own
principal, consumer group and read ACLs.

    python -m infra.local.divisions register NAME --types TYPE... [--member-body]
    python -m infra.local.divisions list

The broker authorises topics, not event types, so a registration must name every type of each
topic it reaches: what the division may read is then exactly what was registered. Types that
may be 支援会議 material (confidential-106-6) are refused unless the division is declared a
支援会議 member body; a non-member therefore cannot reach meetings.events at all.

Registrations live beside the broker's credentials in the stack's home; each start applies them
again. The division's connection file (<home>/kafka/divisions/NAME.json, readable by this user
only) is what the operator hands over; infra/examples/division_consumer.py reads it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from contracts.envelope import EventData
from contracts.registry import BY_CE_TYPE, SPECS, EventSpec

from .acls import grants, secure
from .credentials import write_private
from .kafka import KafkaNode
from .kafka_admin import Acl, started_admin, wait_granted

NAME = re.compile(r"^[a-z][a-z0-9-]{1,39}$")


@dataclass(frozen=True)
class Division:
    name: str
    types: tuple[str, ...]  # CloudEvents types, e.g. jp.tsunagu.intake.consultation_received.v1
    member_body: bool = False  # a 支援会議 member body (Social Welfare Act Art. 106-6)

    @property
    def principal(self) -> str:
        return f"division-{self.name}"  # also its consumer group

    @property
    def topics(self) -> list[str]:
        return sorted({BY_CE_TYPE[t].topic for t in self.types})

    def acls(self) -> list[Acl]:
        return grants(self.principal, read=self.topics, group=self.principal)


def may_be_confidential(spec: EventSpec) -> bool:
    """Whether events of this type can be confidential-106-6 (by type or instance by instance)."""
    return (spec.sensitivity == "confidential-106-6"
            or spec.model.sensitivity_label is not EventData.sensitivity_label)


def validate(name: str, types: list[str], member_body: bool) -> Division:
    """The registration, or ValueError saying everything wrong with it."""
    problems = [] if NAME.match(name) else [f"name {name!r}: lower-case letters, digits, '-'"]
    by_name = {s.name: s.ce_type for s in SPECS}
    wanted = {by_name.get(t, t) for t in types}
    problems += [f"unknown event type {t}" for t in sorted(wanted - BY_CE_TYPE.keys())]
    known = sorted(wanted & BY_CE_TYPE.keys())
    if not member_body:
        problems += [f"{t} may be 支援会議 material (confidential-106-6): only a member body "
                     "may receive it" for t in known if may_be_confidential(BY_CE_TYPE[t])]
    for topic in sorted({BY_CE_TYPE[t].topic for t in known}):
        rest = sorted(s.ce_type for s in SPECS if s.topic == topic and s.ce_type not in wanted)
        if rest:
            problems.append(f"{topic} also carries {', '.join(rest)}: the broker grants whole "
                            "topics, so register these too or none of the topic's types")
    if not known:
        problems.append("no event type registered")
    if problems:
        raise ValueError("; ".join(problems))
    return Division(name, tuple(known), member_body)


def _registry(kafka: KafkaNode) -> Path:
    return kafka.home / "divisions.json"


def registered(kafka: KafkaNode) -> list[Division]:
    path = _registry(kafka)
    found = json.loads(path.read_text()) if path.exists() else []
    return [Division(d["name"], tuple(d["types"]), d["member_body"]) for d in found]


def connection_file(kafka: KafkaNode, division: Division) -> Path:
    return kafka.home / "divisions" / f"{division.name}.json"


def record(kafka: KafkaNode, division: Division) -> Path:
    """Keep the registration (replacing an earlier one) and write the division's connection file."""
    others = [d for d in registered(kafka) if d.name != division.name]
    _registry(kafka).write_text(json.dumps([asdict(d) for d in [*others, division]], indent=2))
    path = connection_file(kafka, division)
    settings: dict[str, Any] = {
        "bootstrap": kafka.bootstrap, "username": division.principal,
        "password": kafka.credentials.password(division.principal), "ca_file": str(kafka.ca_file),
        "group_id": division.principal, "topics": division.topics, "types": list(division.types)}
    write_private(path, json.dumps(settings, indent=2).encode())
    return path


async def register(kafka: KafkaNode, division: Division) -> Path:
    """Record the division and give it its principal and ACLs on the running broker now."""
    path = record(kafka, division)
    admin = await started_admin(kafka.client(), timeout=15)
    try:
        await secure(admin, {division.principal: kafka.credentials.password(division.principal)},
                     division.acls())
    finally:
        await admin.close()
    await wait_granted(kafka.client(division.principal), division.topics[0])
    return path


def main(argv: list[str]) -> int:
    from .stack import Stack

    parser = argparse.ArgumentParser(prog="python -m infra.local.divisions")
    sub = parser.add_subparsers(dest="cmd", required=True)
    reg = sub.add_parser("register", help="register a division's system (make up must be running)")
    reg.add_argument("name")
    reg.add_argument("--types", nargs="+", required=True, help="event types (name or ce type)")
    reg.add_argument("--member-body", action="store_true", help="a 支援会議 member body")
    sub.add_parser("list")
    args = parser.parse_args(argv)
    kafka = Stack().kafka
    if args.cmd == "list":
        for d in registered(kafka):
            print(f"{d.principal}: {', '.join(d.topics)} ({len(d.types)} types)"
                  f"{' member body' if d.member_body else ''}")
        return 0
    try:
        division = validate(args.name, args.types, args.member_body)
    except ValueError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    try:
        path = asyncio.run(register(kafka, division))
    except Exception as exc:  # recorded all the same: the next `make up` applies it
        print(f"recorded, but the broker did not take it ({exc!r}): run `make up`",
              file=sys.stderr)
        return 1
    print(f"{division.principal} may read {', '.join(division.topics)} in group "
          f"{division.principal}.\nHand over its connection file (it holds the password): {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
