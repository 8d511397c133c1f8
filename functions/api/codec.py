"""JSON in and out of the integrator API without a binary float anywhere in between."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any


def to_json(value: Any) -> str:
    """A response body as JSON, Decimal amounts as strings: "1200.00", never 1200.0."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def from_json(text: str) -> Any:
    """A request body from JSON, every number with a fraction (and NaN) read as a Decimal.

    1200.5 arrives as Decimal("1200.5"), exactly what was sent; the models then refuse NaN and
    infinities and hold the amount at its currency's minor unit.
    """
    return json.loads(text, parse_float=Decimal, parse_constant=Decimal)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
