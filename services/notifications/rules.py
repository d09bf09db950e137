"""Who hears of which event: the rules in rules.json, loaded and checked once. Pure.

Adding a rule for a new event type is one entry in rules.json (see its `_doc`); this module
refuses at start-up a rule that names an unknown type, field or recipient spec, so a typo fails
the service's unit tests rather than silently telling no one.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from contracts.envelope import EventData
from contracts.registry import SPECS

RecipientKind = Literal["office", "user"]
SPEC_KEYS = ("office_field", "user_field", "office", "meeting_members")
DERIVED = ("urgency_label", "destination_label", "categories_label")


@dataclass(frozen=True)
class Rule:
    event_type: str
    title: str
    body: str
    link: str
    about: str  # the field naming the record the message is about
    to: tuple[tuple[str, str], ...]  # (spec key, field name or fixed office)
    urgency: str | None = None  # fixed urgency, or None: see urgency_field
    urgency_field: str | None = None
    later_members: bool = False  # members joining the meeting later are told too, as they join


def load(path: Path = Path(__file__).parent / "rules.json") -> dict[str, Rule]:
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    models = {s.name: s.model for s in SPECS}
    rules = {}
    for name, entry in raw.items():
        if name.startswith("_"):
            continue
        if name not in models:
            raise ValueError(f"rules.json: {name} is not an event type of contracts.registry")
        rules[name] = _rule(name, entry, set(models[name].model_fields))
    return rules


def _rule(name: str, entry: dict[str, Any], fields: set[str]) -> Rule:
    to = []
    for spec in entry["to"]:
        [(key, value)] = spec.items()
        if key not in SPEC_KEYS or (key != "office" and value not in fields):
            raise ValueError(f"rules.json: {name}: bad recipient {spec}")
        to.append((key, value))
    urgency = entry.get("urgency", "normal")
    rule = Rule(name, entry["title"], entry["body"], entry["link"], entry["about"], tuple(to),
                urgency if isinstance(urgency, str) else None,
                urgency.get("urgency_field") if isinstance(urgency, dict) else None,
                bool(entry.get("later_members", False)))
    if rule.later_members and len(meeting_ids_of(rule)) != 1:
        raise ValueError(f"rules.json: {name}: later_members needs one meeting_members recipient")
    known = fields | set(DERIVED)
    for template in (rule.title, rule.body, rule.link):
        for _, field, _, _ in string.Formatter().parse(template):
            if field is not None and field not in known:
                raise ValueError(f"rules.json: {name}: unknown field {{{field}}}")
    if rule.about not in fields:
        raise ValueError(f"rules.json: {name}: unknown about field {rule.about}")
    return rule


def recipients(rule: Rule, event: EventData) -> list[tuple[RecipientKind, str]]:
    """The recipients the event itself names; `meeting_members` specs are left to the caller
    (they need the meetings view): see `meeting_ids`."""
    out: list[tuple[RecipientKind, str]] = []
    for key, value in rule.to:
        if key == "office":
            out.append(("office", value))
        elif key in ("office_field", "user_field"):
            found = getattr(event, value, None)
            if found:
                out.append(("office" if key == "office_field" else "user", str(found)))
    return list(dict.fromkeys(out))


def meeting_ids_of(rule: Rule) -> list[str]:
    return [v for k, v in rule.to if k == "meeting_members"]


def meeting_ids(rule: Rule, event: EventData) -> list[Any]:
    return [getattr(event, v) for v in meeting_ids_of(rule)]
