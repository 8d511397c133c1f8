"""Outreach emails in the contact's language, rendered as text and HTML from one context.

A language is one module beside `en.py` with a `LANGUAGE` of the same shape, registered in
`_LANGUAGES`. A language or template not known here falls back to English, so a contact is
never left without an email because a translation is missing.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from string import Template

from shared.collections.templates import de, en
from shared.collections.templates.wording import Language, Message

_LANGUAGES: dict[str, Language] = {words.code: words for words in (en.LANGUAGE, de.LANGUAGE)}
_FALLBACK = en.LANGUAGE

TEMPLATE_NAMES: frozenset[str] = frozenset(_FALLBACK.messages)
"""Every template a policy may name; each exists at least in English."""

LANGUAGE_CODES: frozenset[str] = frozenset(_LANGUAGES)


@dataclass(frozen=True)
class InvoiceLine:
    number: str
    due_date: date
    amount: Decimal
    currency: str
    days_overdue: int


@dataclass(frozen=True)
class InstalmentLine:
    due_date: date
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class EmailContext:
    """What an email is about; every value is data, escaped wherever it is shown."""

    account_name: str
    contact_name: str
    sender_name: str
    currency: str
    as_of: date
    invoices: Sequence[InvoiceLine]
    instalments: Sequence[InstalmentLine] = ()
    pay_by: date | None = None

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.invoices), Decimal(0))


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    language: str
    """The language actually used, after any fallback."""


class UnknownTemplate(ValueError):
    """A template no language has; the policy validates names, so this is a programming error."""


def render(template: str, language: str, context: EmailContext) -> RenderedEmail:
    """The email `template` says, in `language` (a tag such as de or de-CH) or else English."""
    words = language_for(language)
    message = words.messages.get(template) or _FALLBACK.messages.get(template)
    if message is None:
        raise UnknownTemplate(f"no template named {template!r}")
    if template not in words.messages:
        words = _FALLBACK
    values = _values(words, context)
    return RenderedEmail(
        subject=_one_line(Template(message.subject).substitute(values)),
        text=_text(words, message, values, context),
        html=_html(words, message, values, context),
        language=words.code,
    )


def language_for(tag: str) -> Language:
    """The closest language to a tag: de-CH is German, anything unknown is English."""
    primary = tag.strip().lower().replace("_", "-").split("-")[0]
    return _LANGUAGES.get(primary, _FALLBACK)


def _values(words: Language, context: EmailContext) -> dict[str, str]:
    return {
        "account_name": _one_line(context.account_name),
        "contact_name": _one_line(context.contact_name),
        "sender_name": _one_line(context.sender_name),
        "total": words.format_amount(context.total, context.currency),
        "invoice_numbers": ", ".join(_one_line(line.number) for line in context.invoices),
        "as_of": words.format_date(context.as_of),
        "pay_by": words.format_date(context.pay_by) if context.pay_by else "",
    }


def _paragraphs(message: Message, values: Mapping[str, str]) -> list[str]:
    said = [Template(p).substitute(values) for p in message.paragraphs]
    if message.pay_by and values["pay_by"]:
        said.append(Template(message.pay_by).substitute(values))
    return said


def _rows(words: Language, context: EmailContext) -> tuple[list[str], list[list[str]]]:
    if context.instalments:
        headings = [words.headings.instalment_due, words.headings.amount]
        rows = [
            [words.format_date(i.due_date), words.format_amount(i.amount, i.currency)]
            for i in context.instalments
        ]
        return headings, rows
    h = words.headings
    rows = [
        [
            line.number,
            words.format_date(line.due_date),
            words.format_amount(line.amount, line.currency),
            words.overdue(line.days_overdue),
        ]
        for line in context.invoices
    ]
    return [h.number, h.due_date, h.amount, h.overdue], rows


def _text(words: Language, message: Message, values: Mapping[str, str], ctx: EmailContext) -> str:
    headings, rows = _rows(words, ctx)
    widths = [max(len(cell) for cell in column) for column in zip(headings, *rows, strict=True)]
    table = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    header = "  ".join(c.ljust(w) for c, w in zip(headings, widths, strict=True)).rstrip()
    lines = [
        Template(message.greeting).substitute(values),
        "",
        *_spaced(_paragraphs(message, values)),
        header,
        "-" * len(header),
        *table,
        "",
        f"{words.headings.total}: {values['total']}",
        "",
        words.reply,
        "",
        words.closing,
        values["sender_name"],
    ]
    return "\n".join(lines) + "\n"


def _html(words: Language, message: Message, values: Mapping[str, str], ctx: EmailContext) -> str:
    headings, rows = _rows(words, ctx)
    paragraphs = _paragraphs(message, values)
    cell = 'style="padding:4px 12px;text-align:left;border-bottom:1px solid #ddd"'
    head = "".join(f"<th {cell}>{html.escape(h)}</th>" for h in headings)
    body = "".join(
        "<tr>" + "".join(f"<td {cell}>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    total = f"{html.escape(words.headings.total)}: {html.escape(values['total'])}"
    return (
        f'<!DOCTYPE html>\n<html lang="{words.code}"><body style="font-family:sans-serif">\n'
        f"<p>{html.escape(Template(message.greeting).substitute(values))}</p>\n"
        + "".join(f"<p>{html.escape(p)}</p>\n" for p in paragraphs)
        + f'<table style="border-collapse:collapse"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>\n<p><strong>{total}</strong></p>\n"
        f"<p>{html.escape(words.reply)}</p>\n"
        f"<p>{html.escape(words.closing)}<br>{html.escape(values['sender_name'])}</p>\n"
        "</body></html>\n"
    )


def _spaced(paragraphs: list[str]) -> list[str]:
    return [line for paragraph in paragraphs for line in (paragraph, "")]


def _one_line(value: str) -> str:
    """Whitespace collapsed: a name with a line break must never split a header or a line."""
    return re.sub(r"\s+", " ", value).strip()
