"""FULL_TRANSITIVE compatibility between JSON Schema snapshots of one event type.

Allowed: adding or removing an optional property (one with a default, not in `required`).
Refused: a new required property, a removed required one, or a changed property schema.
A breaking change is a new type with the next version (…v2), published beside v1.
"""

from __future__ import annotations

import json
from typing import Any

_IGNORED = {"title", "description", "default", "examples"}


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
        if _resolve(old_props[name], old_defs) != _resolve(new_props[name], new_defs):
            problems.append(f"field '{name}' changed its schema")
    return problems
