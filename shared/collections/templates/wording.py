"""The shape every language module fills in: what each email says, and how it writes numbers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Message:
    """One template's words; `$name` placeholders are filled from the email context.

    Placeholders: $account_name, $contact_name, $sender_name, $total, $as_of, $pay_by.
    `pay_by` is said only when the email carries a pay-by date.
    """

    subject: str
    greeting: str
    paragraphs: tuple[str, ...]
    pay_by: str = ""


@dataclass(frozen=True)
class Headings:
    number: str
    due_date: str
    amount: str
    overdue: str
    instalment_due: str
    total: str


@dataclass(frozen=True)
class Language:
    code: str
    messages: Mapping[str, Message]
    headings: Headings
    reply: str
    closing: str
    format_amount: Callable[[Decimal, str], str]
    format_date: Callable[[date], str]
    overdue: Callable[[int], str]
    """How many days past due an invoice is, as a table cell (zero and below: not overdue)."""


def grouped(amount: Decimal, thousands: str, decimal_mark: str) -> str:
    """An amount with digit grouping, keeping exactly the decimals it has."""
    english = f"{amount:,}"
    return english.replace(",", "\0").replace(".", decimal_mark).replace("\0", thousands)
