"""FULL_TRANSITIVE compatibility between JSON Schema snapshots of one event type.

Allowed: adding or removing an optional property (one with a default, not in `required`), and
tightening a bound (adding or lowering maxLength/maxItems, adding or raising minLength/minItems).
Refused: a new required property, a removed required one, a loosened bound, or any other change
of a property's schema. A breaking change is a new type with the next version (…v2), published
beside v1.

Why a tighter bound is allowed: every event the producer now emits is one an older reader
accepted, so no consumer breaks. The other direction is a choice, stated here: a new reader
replaying an old event past the new bound dead-letters it with its reason. Bounds were added
because such events (a megabyte "agency id") were the abuse; ordinary events were within them.
A loosened bound is refused: an older reader would reject what the producer now emits.
"""

from __future__ import annotations

import json
from typing import Any

_IGNORED = {"title", "description", "default", "examples"}
_UPPER = ("maxLength", "maxItems")  # tighter when added or lowered
_LOWER = ("minLength", "minItems")  # tighter when added or raised


def _shape(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _shape(v) for k, v in schema.items() if k not in _IGNORED}
    if isinstance(schema, list):
        return [_shape(v) for v in schema]
    return schema


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> Any:
    text = json.dumps(prop, sort_keys=True)
    for name, body in defs.items():
        text = text.replace(json.dumps({"$ref": f"#/$defs/{name}"}), json.dumps(body, sort_keys=True))
    return _shape(json.loads(text))


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Reasons why `new` cannot replace `old` under FULL compatibility (empty list = fine)."""
    problems: list[str] = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
    old_defs, new_defs = old.get("$defs", {}), new.get("$defs", {})
    for name in sorted(new_req - old_req):
        problems.append(f"'{name}' became required" if name in old_props
                        else f"new required field '{name}'")
    for name in sorted(old_req - new_req):
        problems.append(f"required field '{name}' was removed" if name not in new_props
                        else f"'{name}' is no longer required")
    for name in sorted(set(old_props) & set(new_props)):
        if not _narrows(_resolve(old_props[name], old_defs), _resolve(new_props[name], new_defs)):
            problems.append(f"field '{name}' changed its schema")
    return problems


def _narrows(old: Any, new: Any) -> bool:
    """`new` is `old`, or `old` with bounds tightened (anywhere inside it)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in _UPPER:
            if key in old and (key not in new or new[key] > old[key]):
                return False
        for key in _LOWER:
            if key in old and (key not in new or new[key] < old[key]):
                return False
        bounds = {*_UPPER, *_LOWER}
        rest_old = {k: v for k, v in old.items() if k not in bounds}
        rest_new = {k: v for k, v in new.items() if k not in bounds}
        return rest_old.keys() == rest_new.keys() and all(
            _narrows(rest_old[k], rest_new[k]) for k in rest_old)
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(_narrows(o, n) for o, n in zip(old, new, strict=True))
    return bool(old == new)
