"""`make schemas`: write JSON Schema snapshots and the AsyncAPI document.

When a type's schema changes compatibly, the previous snapshot moves to
schemas/history/<type>/<n>.json so later checks stay transitive. A breaking change is refused.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from contracts.asyncapi import document
from contracts.compat import breaking_changes
from contracts.registry import SPECS, EventSpec

HERE = Path(__file__).resolve().parent
SCHEMAS = HERE / "schemas"
ASYNCAPI = HERE / "asyncapi.yaml"


def schema_of(spec: EventSpec) -> dict[str, Any]:
    schema = spec.model.model_json_schema(mode="serialization")
    schema["$id"] = spec.dataschema
    return schema


def render(obj: dict[str, Any]) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def render_asyncapi() -> str:
    text: str = yaml.safe_dump(document(), sort_keys=False, allow_unicode=True)
    return text


def main() -> int:
    SCHEMAS.mkdir(exist_ok=True)
    for spec in SPECS:
        path = SCHEMAS / f"{spec.ce_type}.json"
        new = schema_of(spec)
        if path.exists():
            old = json.loads(path.read_text())
            if old == new:
                continue
            problems = breaking_changes(old, new)
            if problems:
                print(f"{spec.ce_type}: breaking change ({'; '.join(problems)}); "
                      f"publish it as v{spec.version + 1} instead", file=sys.stderr)
                return 1
            history = SCHEMAS / "history" / spec.ce_type
            history.mkdir(parents=True, exist_ok=True)
            (history / f"{len(list(history.glob('*.json'))) + 1}.json").write_text(path.read_text())
        path.write_text(render(new))
        print(f"wrote {path.relative_to(HERE.parent)}")
    ASYNCAPI.write_text(render_asyncapi())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
