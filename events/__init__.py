"""Sample events as AWS delivers them to each function, for tests and for invoking a handler.

from events import load
lambda_handler(load("api/post_invoice_batch"), context)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parent


def load(name: str) -> dict[str, Any]:
    """The event stored as `<name>.json` under events/, freshly parsed so callers may change it."""
    path = (EVENTS_DIR / f"{name}.json").resolve()
    if EVENTS_DIR not in path.parents:
        raise ValueError(f"{name!r} is not an event under {EVENTS_DIR}")
    if not path.is_file():
        known = ", ".join(sorted(names()))
        raise FileNotFoundError(f"no sample event {name!r}; known events: {known}")
    event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return event


def names() -> list[str]:
    """Every stored event's name, as `load` takes it: api/post_account, ..."""
    return [
        path.relative_to(EVENTS_DIR).with_suffix("").as_posix()
        for path in EVENTS_DIR.rglob("*.json")
    ]
