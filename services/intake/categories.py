"""The consultation taxonomy (相談分野): built in, extensible by a configuration file."""

from __future__ import annotations

import json
from pathlib import Path

from contracts.taxonomy import CATEGORIES


def load_categories(extra_file: str | None = None) -> dict[str, dict[str, str]]:
    """code -> {"ja": label, "en": label}; entries of `extra_file` add to or relabel these."""
    categories = dict(CATEGORIES)
    if extra_file:
        categories = {**categories, **json.loads(Path(extra_file).read_text())["categories"]}
    return categories
