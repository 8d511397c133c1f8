"""Reading what a customer's reply asks for: a promise to pay, a dispute, a plan, a claim to have
paid, an absence, a request to stop, or nothing the agent acts on.

A reply is untrusted text. Whatever reads it (the rules here, a model later) can only return an
`Interpretation`: one of the intents below with a few typed details, checked against the
account by `checked`. Nothing else comes out of it, so no wording in a reply can ask the agent
for anything beyond recording a promise, a dispute or a request.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.cases.models import NOTE_LENGTH, DisputeReason
from shared.ledger.keys import normalized_reference
from shared.ledger.models import PaymentMethod, RecordId
from shared.money import Currency, amount_in_currency, to_minor_units

PROMISE_HORIZON_DAYS = 366
"""A promised date further out than this is not taken as a promise to act on."""
PAID_LOOKBACK = timedelta(days=120)
SIGNAL_LENGTH = 80
"""A claim to have paid names a day within this long before the reply, or none."""


class ReplyIntent(StrEnum):
    PROMISE_TO_PAY = "promise_to_pay"
    DISPUTE = "dispute"
    PAYMENT_PLAN_REQUEST = "payment_plan_request"
    ALREADY_PAID = "already_paid"
    OUT_OF_OFFICE = "out_of_office"
    UNSUBSCRIBE = "unsubscribe"
    OTHER = "other"


class Reply(BaseModel):
    """A received reply as an interpreter sees it, with what the account lets it refer to."""

    model_config = ConfigDict(frozen=True)

    subject: str
    text: str = Field(repr=False, description="The body; quoted history is stripped on reading")
    received_on: date
    invoice_numbers: list[str] = Field(description="The account's stored invoice numbers")
    currency: str = Field(description="The account's currency")
    automated: bool = Field(default=False, description="Machine-sent: an auto-reply, say")


class Interpretation(BaseModel):
    """What a reply asks for, as the agent may act on it; the only output of an interpreter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    intent: ReplyIntent
    invoice_numbers: list[RecordId] = Field(default_factory=list, max_length=100)
    promised_date: date | None = Field(default=None, description="When they say they will pay")
    paid_on: date | None = Field(default=None, description="When they say they paid")
    back_on: date | None = Field(default=None, description="When an absent contact returns")
    currency: Currency | None = None
    amount: Decimal | None = Field(default=None, gt=0)
    payment_method: PaymentMethod | None = None
    dispute_reason: DisputeReason | None = None
    instalments: int | None = Field(default=None, ge=2, le=60)
    signals: list[Annotated[str, Field(max_length=SIGNAL_LENGTH)]] = Field(
        default_factory=list,
        max_length=20,
        description="The rules or cues that decided it, in the interpreter's own short words: "
        "they are audited, so they must never carry the customer's text",
    )
    interpreter: str = Field(min_length=1, max_length=80)

    _amount = field_validator("amount")(amount_in_currency)

    @model_validator(mode="after")
    def _details_fit_the_intent(self) -> Self:
        allowed = _DETAILS[self.intent]
        for name in _ALL_DETAILS - allowed:
            if getattr(self, name) is not None:
                raise ValueError(f"{name}: not part of a {self.intent.value} interpretation")
        if (self.amount is None) != (self.currency is None):
            raise ValueError("amount and currency go together")
        if self.intent is ReplyIntent.DISPUTE and self.dispute_reason is None:
            raise ValueError("dispute_reason: a dispute names its reason")
        return self


_DETAILS: dict[ReplyIntent, frozenset[str]] = {
    ReplyIntent.PROMISE_TO_PAY: frozenset(
        {"promised_date", "amount", "currency", "payment_method"}
    ),
    ReplyIntent.DISPUTE: frozenset({"dispute_reason", "amount", "currency"}),
    ReplyIntent.PAYMENT_PLAN_REQUEST: frozenset({"instalments", "amount", "currency"}),
    ReplyIntent.ALREADY_PAID: frozenset({"paid_on", "amount", "currency", "payment_method"}),
    ReplyIntent.OUT_OF_OFFICE: frozenset({"back_on"}),
    ReplyIntent.UNSUBSCRIBE: frozenset(),
    ReplyIntent.OTHER: frozenset(),
}
_ALL_DETAILS = frozenset().union(*_DETAILS.values())


class ReplyInterpreter(Protocol):
    """Reads a reply into an Interpretation; the rules below, or a model behind the same call."""

    @property
    def name(self) -> str: ...

    def interpret(self, reply: Reply) -> Interpretation: ...


def checked(interpretation: Interpretation, reply: Reply) -> Interpretation:
    """The interpretation cut to what the account allows, whichever interpreter produced it.

    Invoices the account does not hold are dropped; an amount in another currency is dropped;
    a promised date before the reply or beyond the horizon is dropped, as are dates of payment
    or return that are not plausible. What remains is what the agent may act on.
    """
    known = set(reply.invoice_numbers)
    horizon = reply.received_on + timedelta(days=PROMISE_HORIZON_DAYS)
    amount_fits = interpretation.currency == reply.currency
    update = {
        "invoice_numbers": [n for n in dict.fromkeys(interpretation.invoice_numbers) if n in known],
        "promised_date": _within(interpretation.promised_date, reply.received_on, horizon),
        "paid_on": _within(
            interpretation.paid_on, reply.received_on - PAID_LOOKBACK, reply.received_on
        ),
        "back_on": _within(interpretation.back_on, reply.received_on, horizon),
        "amount": interpretation.amount if amount_fits else None,
        "currency": interpretation.currency if amount_fits else None,
    }
    return Interpretation.model_validate({**interpretation.model_dump(), **update})


def reply_excerpt(text: str, length: int = NOTE_LENGTH) -> str:
    """The customer's own words without quoted history, on one line, cut to `length`."""
    flat = " ".join(strip_quoted(text).split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


class RulesInterpreter:
    """Keyword and pattern rules in English and German: deterministic, always available."""

    @property
    def name(self) -> str:
        return "rules"

    def interpret(self, reply: Reply) -> Interpretation:
        own_words = strip_quoted(reply.text)
        subject = "" if _REPLY_PREFIX.match(reply.subject) else reply.subject
        text = f"{subject}\n{own_words}".strip()
        lowered = text.lower()
        invoices = referenced_invoices(f"{reply.subject}\n{own_words}", reply.invoice_numbers)
        base = {"invoice_numbers": invoices, "interpreter": self.name}
        for rule in _RULES:
            found = rule(reply, text, lowered)
            if found is not None:
                return Interpretation.model_validate({**base, **found})
        return Interpretation.model_validate(
            {**base, "intent": ReplyIntent.OTHER, "signals": ["no rule matched"]}
        )


# Quoted history


_REPLY_PREFIX = re.compile(r"^\s*(re|aw|wg|fw|fwd|antw)\s*:", re.IGNORECASE)
_QUOTE_STARTS = (
    re.compile(r"^\s*on\b.{0,300}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*am\b.{0,300}\bschrieb\b.{0,300}:\s*$", re.IGNORECASE),
    re.compile(
        r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|forwarded message|"
        r"weitergeleitete nachricht)\s*-*\s*$",
        re.IGNORECASE,
    ),
    re.compile(r"^\s*_{8,}\s*$"),
)
_HEADER_BLOCK = re.compile(r"^\s*(from|von):\s", re.IGNORECASE)
_HEADER_FOLLOWS = re.compile(
    r"^\s*(sent|gesendet|date|datum|to|an|subject|betreff|cc):\s", re.IGNORECASE
)


def strip_quoted(text: str) -> str:
    """The reply without the history it quotes: `>` lines, and everything from an attribution
    line ("On ... wrote:", "Am ... schrieb ...:") or a forwarded-header block onwards."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        pair = f"{line} {lines[index + 1]}" if index + 1 < len(lines) else line
        if any(p.match(line) or p.match(pair) for p in _QUOTE_STARTS) or _header_block(
            lines, index
        ):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip()


def _header_block(lines: Sequence[str], index: int) -> bool:
    if not _HEADER_BLOCK.match(lines[index]):
        return False
    return any(_HEADER_FOLLOWS.match(line) for line in lines[index + 1 : index + 5])


# Invoice references


_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_.#-]*[A-Za-z0-9]|[A-Za-z0-9]")
_MIN_DIGITS_ALONE = 4


def referenced_invoices(text: str, known: Sequence[str]) -> list[str]:
    """The account's invoice numbers the text names, in the account's own spelling.

    A number counts however it is written ("INV-1001", "inv 1001", "INV1001"); its digits
    alone ("invoice 1001") count when they are long enough and name one invoice only.
    """
    by_reference = {normalized_reference(n): n for n in known if normalized_reference(n)}
    by_digits: dict[str, list[str]] = {}
    for number in known:
        digits = re.sub(r"\D", "", number)
        if len(digits) >= _MIN_DIGITS_ALONE:
            by_digits.setdefault(digits.lstrip("0") or "0", []).append(number)
    tokens = [normalized_reference(t) for t in _TOKEN.findall(text)]
    found: list[str] = []
    for index, token in enumerate(tokens):
        joined = token + tokens[index + 1] if index + 1 < len(tokens) else None
        for candidate in (token, joined):
            if candidate in by_reference:
                found.append(by_reference[candidate])
        alone = by_digits.get(token.lstrip("0")) if token.isdigit() else None
        if alone is not None and len(alone) == 1:
            found.append(alone[0])
    return list(dict.fromkeys(found))


# Dates


_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        ("january", "jan", "januar", "jänner", "jaenner"),
        ("february", "feb", "februar"),
        ("march", "mar", "märz", "maerz", "mär", "mrz"),
        ("april", "apr"),
        ("may", "mai"),
        ("june", "jun", "juni"),
        ("july", "jul", "juli"),
        ("august", "aug"),
        ("september", "sep", "sept"),
        ("october", "oct", "oktober", "okt"),
        ("november", "nov"),
        ("december", "dec", "dezember", "dez"),
    ),
    start=1,
):
    for _name in _names:
        _MONTHS[_name] = _number
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAYS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        ("monday", "montag"),
        ("tuesday", "dienstag"),
        ("wednesday", "mittwoch"),
        ("thursday", "donnerstag"),
        ("friday", "freitag"),
        ("saturday", "samstag", "sonnabend"),
        ("sunday", "sonntag"),
    )
):
    for _name in _names:
        _WEEKDAYS[_name] = _number
_WEEKDAY = "|".join(_WEEKDAYS)
_COUNTS = {
    "one": 1, "a": 1, "an": 1, "ein": 1, "einer": 1, "einem": 1,
    "two": 2, "zwei": 2, "three": 3, "drei": 3, "four": 4, "vier": 4,
    "five": 5, "fünf": 5, "fuenf": 5, "six": 6, "sechs": 6,
    "seven": 7, "sieben": 7, "eight": 8, "acht": 8, "nine": 9, "neun": 9,
    "ten": 10, "zehn": 10, "eleven": 11, "elf": 11, "twelve": 12, "zwölf": 12, "zwoelf": 12,
}  # fmt: skip
_COUNT = r"\d{1,3}|" + "|".join(sorted(_COUNTS, key=len, reverse=True))

_ISO = re.compile(r"(?<![\d.])(\d{4})-(\d{1,2})-(\d{1,2})(?![\d])")
_DOTTED = re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.((?:\d{4}|\d{2})(?!\d|[.,]\d)|(?!\d))")
_SLASHED = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?![\d/])")
_DAY_MONTH = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\.?\s+(?:of\s+)?({_MONTH})\b\.?(?:,?\s+(\d{{4}}))?",
    re.IGNORECASE,
)
_MONTH_DAY = re.compile(
    rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?", re.IGNORECASE
)
_WEEKDAY_NAMED = re.compile(rf"\b({_WEEKDAY})\b", re.IGNORECASE)
_RELATIVE = re.compile(
    r"\b(today|tomorrow|heute|übermorgen|uebermorgen|(?<!guten\s)morgen)\b(?!s)"
    r"|\b(?P<span>(?:end\s+of\s+)?(?:this|next|the)\s+(?:week|month)|(?:by\s+)?(?:the\s+)?"
    r"end\s+of\s+(?:the\s+)?(?:week|month)|month[- ]end|(?:diese|nächste|naechste|kommende)"
    r"[nr]?\s+woche|ende\s+(?:der|dieser|nächster|naechster)\s+woche|ende\s+(?:des|dieses)"
    r"\s+monats|monatsende|(?:im\s+)?laufe\s+der\s+woche)\b"
    rf"|\bin\s+(?P<count>{_COUNT})\s+(?P<unit>days?|weeks?|tagen|wochen)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FoundDate:
    at: int
    """Where in the text it was written."""
    day: date


def find_dates(text: str, today: date, currency: str) -> list[FoundDate]:
    """Every date written in `text`, in text order, resolved against `today`.

    Absolute dates in ISO, German (14.03.2026, 14. März 2026) and English (14 March 2026,
    March 14th) forms; a date without a year is the one nearest `today`. Relative ones:
    today, tomorrow, a weekday (the next one after today, "next Friday" too), this or next
    week (its Friday), the end of the month, "in 10 days"; and their German forms. A slashed
    date reads day first unless the account bills in USD or the day cannot be a month.
    """
    found = [FoundDate(at, day) for at, day in _absolute_dates(text, today, currency)]
    for match in _WEEKDAY_NAMED.finditer(text):
        found.append(FoundDate(match.start(), _next_weekday(today, match.group(1))))
    for match in _RELATIVE.finditer(text):
        found.append(FoundDate(match.start(), _relative(match, today)))
    return sorted(found, key=lambda f: f.at)


def _absolute_dates(text: str, today: date, currency: str) -> Iterator[tuple[int, date]]:
    for match in _ISO.finditer(text):
        yield from _dated(match.start(), int(match[1]), int(match[2]), int(match[3]))
    for match in _DOTTED.finditer(text):
        yield from _dated_or_nearest(match.start(), match[3], int(match[2]), int(match[1]), today)
    for match in _SLASHED.finditer(text):
        first, second = int(match[1]), int(match[2])
        month_first = second > 12 or (currency == "USD" and first <= 12)
        month, day = (first, second) if month_first else (second, first)
        yield from _dated_or_nearest(match.start(), match[3], month, day, today)
    for match in _DAY_MONTH.finditer(text):
        month = _MONTHS[match[2].lower()]
        yield from _dated_or_nearest(match.start(), match[3], month, int(match[1]), today)
    for match in _MONTH_DAY.finditer(text):
        month = _MONTHS[match[1].lower()]
        yield from _dated_or_nearest(match.start(), match[3], month, int(match[2]), today)


def _dated(at: int, year: int, month: int, day: int) -> Iterator[tuple[int, date]]:
    try:
        yield at, date(year, month, day)
    except ValueError:
        return


def _dated_or_nearest(
    at: int, year_text: str | None, month: int, day: int, today: date
) -> Iterator[tuple[int, date]]:
    if year_text:
        year = int(year_text)
        yield from _dated(at, year + 2000 if year < 100 else year, month, day)
        return
    candidates = [
        found
        for year in (today.year - 1, today.year, today.year + 1)
        for _, found in _dated(at, year, month, day)
    ]
    if candidates:
        yield at, min(candidates, key=lambda d: (abs((d - today).days), d))


def _next_weekday(today: date, name: str) -> date:
    ahead = (_WEEKDAYS[name.lower()] - today.weekday()) % 7 or 7
    return today + timedelta(days=ahead)


def _relative(match: re.Match[str], today: date) -> date:
    word = (match.group(1) or "").lower()
    if word:
        offsets = {"today": 0, "heute": 0, "tomorrow": 1, "morgen": 1}
        return today + timedelta(days=offsets.get(word, 2))
    if match.group("count"):
        count_text = match.group("count").lower()
        count = int(count_text) if count_text.isdigit() else _COUNTS[count_text]
        per_unit = 7 if match.group("unit").lower().startswith(("week", "woche")) else 1
        return today + timedelta(days=count * per_unit)
    span = " ".join(match.group("span").lower().split())
    if "month" in span or "monat" in span:
        month = today.replace(day=1)
        if "next" in span:
            month = (month + timedelta(days=32)).replace(day=1)
        return month.replace(day=calendar.monthrange(month.year, month.month)[1])
    friday = today + timedelta(days=(4 - today.weekday()) % 7)
    following = ("next", "nächst", "naechst", "kommend")
    return friday + timedelta(days=7) if any(w in span for w in following) else friday


# Amounts


_SYMBOLS = {
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "$": "USD", "us$": "USD", "usd": "USD", "dollars": "USD",
    "£": "GBP", "gbp": "GBP", "pounds": "GBP",
    "chf": "CHF", "fr.": "CHF", "sfr": "CHF",
}  # fmt: skip
_SYMBOL = "|".join(re.escape(s) for s in sorted(_SYMBOLS, key=len, reverse=True))
_NUMBER = r"\d{1,3}(?:[.,' ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_AMOUNT = re.compile(
    rf"(?:(?P<before>{_SYMBOL})\s?(?P<n1>{_NUMBER})(?![\d.,]?\d)"
    rf"|(?<![\w.,])(?P<n2>{_NUMBER})\s?(?P<after>{_SYMBOL})(?![A-Za-z]))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FoundAmount:
    at: int
    amount: Decimal
    currency: str


def find_amounts(text: str) -> list[FoundAmount]:
    """Amounts written with a currency (1.200,00 EUR, €1,200.00, USD 500), in text order."""
    found = []
    for match in _AMOUNT.finditer(text):
        symbol = (match["before"] or match["after"]).lower()
        number = match["n1"] or match["n2"]
        amount = _decimal(number)
        currency = _SYMBOLS[symbol]
        if amount is None or amount <= 0:
            continue
        try:
            found.append(FoundAmount(match.start(), to_minor_units(amount, currency), currency))
        except ValueError:
            continue
    return found


def _decimal(number: str) -> Decimal | None:
    """A written number with either convention: the separator before the last one or two
    digits is the decimal point, any other is grouping."""
    compact = number.replace(" ", "").replace("'", "")
    decimal_part = re.search(r"[.,](\d{1,2})$", compact)
    whole = compact[: decimal_part.start()] if decimal_part else compact
    digits = re.sub(r"[.,]", "", whole)
    try:
        return Decimal(f"{digits}.{decimal_part[1]}" if decimal_part else digits)
    except InvalidOperation:
        return None


# The rules, in the order they decide


_Found = dict[str, object]


def _search(patterns: Sequence[re.Pattern[str]], lowered: str) -> re.Match[str] | None:
    matches = [m for p in patterns if (m := p.search(lowered))]
    return min(matches, key=lambda m: m.start()) if matches else None


_CLAUSE = r"(?:[^.!?\n]|(?<=\d)\.)"
"""A character within one clause: a dot after a digit (14.03.2026, 1.200,00) does not end it."""
_NEGATION = re.compile(r"\bnot\b|n't\b|\bnever\b|\bcannot\b|\bunable\b|\bnicht\b|\bkein\w*|\bnie\b")
_CLAUSE_END = re.compile(r"[,.!?;\n]")
_NEGATION_REACH = 16
_NEGATION_AFTER = 8
"""German puts the negation after the verb ("wir zahlen nicht"); a later clause does not count."""
_DENIAL = re.compile(_NEGATION.pattern + r"|\bno\b|\bnothing\b|\bnichts\b")
"""What denies a dispute: a negation, or "no dispute", "nothing is wrong"."""
_SENTENCE_END = re.compile(r"[!?\n]|(?<!\d)\.")
"""A dot after a digit (14.03.2026, 1.200,00) does not end a sentence."""


def _affirmed(patterns: Sequence[re.Pattern[str]], lowered: str) -> re.Match[str] | None:
    """The earliest match not negated in its own clause ("we have not paid", "zahlen nicht")."""
    matches = sorted((m for p in patterns for m in p.finditer(lowered)), key=lambda m: m.start())
    for match in matches:
        before = lowered[max(0, match.start() - _NEGATION_REACH) : match.start()]
        after = lowered[match.end() : match.end() + _NEGATION_AFTER]
        clause = _CLAUSE_END.split(before)[-1] + match.group(0) + _CLAUSE_END.split(after)[0]
        if not _NEGATION.search(clause):
            return match
    return None


def _words(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


_OUT_OF_OFFICE_SUBJECT = _words(
    r"\b(automatic reply|auto(matic)?[- ]?reply|out of (the )?office|abwesenheit\w*|"
    r"automatische antwort|nicht im büro)\b"
)
_OUT_OF_OFFICE = _words(
    r"\bout of (the )?office\b",
    r"\b(i am|i'm|currently) (on (annual )?(leave|vacation|holiday)|away)\b",
    r"\baway from (the|my) (office|desk)\b",
    r"\blimited access to (my )?e-?mail\b",
    r"\babwesenheit\w*\b",
    r"\bnicht im büro\b",
    r"\b(bin|befinde mich) .{0,30}\b(im urlaub|abwesend|nicht erreichbar|außer haus)\b",
    r"\bautomatische antwort\b",
)
_UNSUBSCRIBE = _words(
    r"^\s*(stop|unsubscribe|abmelden)\b",
    r"\b(please )?(stop|quit) (sending|emailing|e-mailing|contacting|writing)\b",
    r"\b(remove|take) me (off|from)\b",
    r"\bdo not (contact|email|e-mail) (me|us)\b",
    r"\b(keine|nicht mehr) .{0,20}(e-?mails?|nachrichten|mahnungen) (mehr )?(schicken|senden)\b",
    r"\bbitte (abmelden|austragen)\b",
)
_DISPUTE_REASONS: tuple[tuple[DisputeReason, tuple[re.Pattern[str], ...]], ...] = (
    (
        DisputeReason.DAMAGED_GOODS,
        _words(
            r"\b(damaged|broken|defective|faulty|unusable|arrived (broken|damaged))\b",
            r"\b(beschädigt|beschaedigt|defekt|kaputt|mangelhaft|mängel|maengel|"
            r"transportschaden)\w*",
        ),
    ),
    (
        DisputeReason.NOT_RECEIVED,
        _words(
            r"\b(not|never|haven'?t|have not|has not|hasn'?t|did not|didn'?t) (yet )?(been )?"
            r"(received|receive|delivered|arrived|got)\b(?!\s+(the |our |your |a )?"
            r"(payment|money|funds|transfer|remittance))",
            r"\bnever (arrived|came|showed up)\b",
            r"\b(missing|lost) (delivery|goods|items|shipment|parcel|package)\b",
            r"\bnicht (erhalten|geliefert|angekommen|bekommen)\b",
            r"\bnie (erhalten|angekommen|geliefert)\b",
            r"\bkeine lieferung\b",
            r"\b(ware|lieferung|sendung) (fehlt|ist nicht angekommen)\b",
        ),
    ),
    (
        DisputeReason.PRICING,
        _words(
            r"\b(wrong|incorrect) (price|prices|amount|rate|quantity|pricing)\b",
            r"\bover-?charged?\b",
            r"\b(price|amount|rate) (is|was) (wrong|incorrect|too high)\b",
            r"\bagreed (price|discount|rate)\b",
            r"\bcharged (twice|double)\b",
            r"\bdouble[- ]?(billed|charged)\b",
            r"\bfalsche[rn]? (preis|betrag|menge|berechnung)\b",
            r"\b(preis|betrag) (ist|war|stimmt) (falsch|nicht|zu hoch)\b",
            r"\bzu (hoch|viel) berechnet\b",
            r"\bdoppelt (berechnet|abgerechnet|in rechnung gestellt)\b",
            r"\b(vereinbarte[rn]?|zugesagte[rn]?) (preis|rabatt|skonto)\b",
        ),
    ),
    (
        DisputeReason.OTHER,
        _words(
            r"\bdisput(e|ed|es|ing)\b",
            r"\bcontest(ed|ing)?\b",
            r"\b(wrong|incorrect|erroneous) (invoice|bill|billing|charge|amount|total|items?)\b",
            r"\b(is|are|was|were|seems?|looks?) (wrong|incorrect|not correct|not right)\b",
            r"\b(in error|by mistake|a mistake)\b",
            r"\b(not|never|did not|didn'?t) order(ed)?\b",
            r"\breklam\w+",
            r"\bwiderspr\w+",
            r"\bbeanstand\w+",
            r"\b(falsche|fehlerhafte|unberechtigte) (rechnung|abrechnung|berechnung|position)\b",
            r"\b(rechnung|abrechnung|betrag|position) (ist|war|scheint) (\w+ )?(falsch|"
            r"fehlerhaft|unberechtigt|nicht korrekt)\b",
            r"\bstimmt nicht\b",
            r"\bnicht bestellt\b",
        ),
    ),
)
_ALREADY_PAID = _words(
    r"\balready (been )?(paid|settled|transferred|wired)\b",
    r"\b(have|has|had) (already )?(been )?(paid|settled|transferred|wired|remitted)\b",
    r"\b(was|were) (paid|settled|transferred|wired|remitted)\b",
    r"\b(we|i) (paid|settled|transferred|wired|remitted)\b",
    r"\bpayment (was|has been|went|is) (already )?(made|sent|out|executed|initiated|done|"
    r"transferred|processed)\b",
    r"\b(sent|made|transferred|wired|remitted) (the |our |your )?(payment|funds|money|amount)\b",
    r"\bremittance( advice)? (is )?(attached|enclosed)\b",
    r"\bproof of payment\b",
    r"\b(bereits|schon) (be)?zahlt\b",
    r"\b(bereits|schon|haben|habe|hat|hatten|wurde|wurden|ist|sind)\b" + _CLAUSE + r"{0,40}?"
    r"\b(überwiesen|ueberwiesen|bezahlt|beglichen|angewiesen)\b",
    r"\b(zahlung|überweisung|ueberweisung) (ist|wurde) (bereits |schon )?(erfolgt|veranlasst|"
    r"ausgeführt|ausgefuehrt|angewiesen|raus)\b",
    r"\b(zahlungsnachweis|zahlungsavis|zahlungsbestätigung|überweisungsbeleg)\b",
)
_PLAN_REQUEST = _words(
    r"\bpayment (plan|arrangement|schedule)\b",
    r"\binstal?l?ments?\b",
    r"\bpay(ing)? (it |this |that |the (balance|amount|invoices?) )?in (parts|stages|portions|"
    r"instal?l?ments|\w+ (monthly )?(payments|parts|instal?l?ments))\b",
    r"\bsplit (the |this |our )?(payment|amount|invoice|balance|bill)\b",
    r"\b(partial|monthly) payments\b",
    r"\bratenzahlung\w*",
    r"\bin (\w+ )?(monatlichen )?raten\b",
    r"\braten(plan|vereinbarung)\b",
    r"\bteilzahlung\w*",
    r"\bin (\w+ )?teilbeträgen\b",
    r"\bstundung\b",
)
_INSTALMENT_COUNT = re.compile(
    rf"\b({_COUNT})\s+(?:monthly\s+|monatliche[n]?\s+|gleiche[n]?\s+|equal\s+)?"
    r"(instal?l?ments|payments|parts|raten|teilzahlungen|teilbeträgen|monatsraten|rates)\b",
    re.IGNORECASE,
)
_PROMISE = _words(
    r"\b(will|shall|'ll|going to|plan(ning)? to|intend to|expect to|aim to|promise to|"
    r"be able to|can|could)\s+(definitely\s+|then\s+|now\s+)?(pay|settle|remit|wire|"
    r"transfer|clear)\b",
    r"\b(will|shall|'ll|going to|plan(ning)? to|intend to|expect to|aim to|promise to)\s+"
    r"(send|make|process|release|schedule|initiate|arrange|effect)\s+(the |our |a |your )?"
    r"(full )?(payment|transfer|money|funds|amount|balance|remittance)\b",
    r"\bpayment\b" + _CLAUSE + r"{0,40}?\b(will|should) (be )?(made|sent|follow|arrive|go out|"
    r"processed|released|initiated|effected)\b",
    r"\b(will|should) be (paid|settled|transferred)\b",
    r"\byou('ll| will| should)\s+(receive|have|get|see) (the |our |your )?(payment|money|"
    r"funds|transfer)\b",
    r"\b(payment|transfer) (is )?(scheduled|planned|booked|due to go out|expected) (for|on|by)\b",
    r"\b(next|upcoming) payment run\b",
    r"\bpromise to pay\b",
    r"\b(werden|wird|werde|würden|koennen|können|kann)\b" + _CLAUSE + r"{0,60}?\b(zahlen|"
    r"bezahlen|überweisen|ueberweisen|begleichen|anweisen|ausgleichen)\b",
    r"\b(wir|ich) (zahlen|bezahlen|überweisen|ueberweisen|begleichen)\b",
    r"\b(zahlen|bezahlen|überweisen|ueberweisen|begleichen) (wir|ich)\b",
    r"\b(zahlung|überweisung|ueberweisung) (erfolgt|folgt|kommt|geht)\b",
    r"\b(zahlen|bezahlen|überweisen|ueberweisen|begleichen) (wir |ich )?(aber |dann |jedoch )?"
    r"(bis|am|zum|spätestens|nächste|naechste|kommende|diese|ende|anfang|morgen|übermorgen|"
    r"heute|in)\b",
    r"\b(nächsten|naechsten) zahlungslauf\b",
)
_METHODS = (
    (PaymentMethod.CHECK, _words(r"\b(cheque|scheck)\b", r"\b(by|via|a|the|our|per) check\b")),
    (PaymentMethod.ACH, _words(r"\bach\b")),
    (PaymentMethod.WIRE, _words(r"\bwire(d| transfer)?\b")),
    (PaymentMethod.SEPA, _words(r"\bsepa\b")),
    (PaymentMethod.CARD, _words(r"\b(credit|debit) ?card\b", r"\bkreditkarte\b")),
)


def _out_of_office_by_subject(reply: Reply, text: str, lowered: str) -> _Found | None:
    if not (reply.automated or _search(_OUT_OF_OFFICE_SUBJECT, reply.subject.lower())):
        return None
    return _out_of_office(reply, text, "automatic reply")


def _out_of_office(reply: Reply, text: str, cue: str) -> _Found:
    found = find_dates(text, reply.received_on, reply.currency)
    after = [d.day for d in found if d.day > reply.received_on]
    return {
        "intent": ReplyIntent.OUT_OF_OFFICE,
        "back_on": after[0] if after else None,
        "signals": [cue],
    }


def _dispute(reply: Reply, text: str, lowered: str) -> _Found | None:
    for reason, patterns in _DISPUTE_REASONS:
        match = _not_denied(patterns, lowered)
        if match is not None:
            disputed = referenced_invoices(_sentence_of(lowered, match), reply.invoice_numbers)
            return {
                "intent": ReplyIntent.DISPUTE,
                "dispute_reason": reason,
                "signals": [f"dispute: {reason.value}"],
                # The invoices its own sentence names ("INV-1 is wrong. We will pay INV-2."),
                # else those the whole reply names.
                **({"invoice_numbers": disputed} if disputed else {}),
            }
    return None


def _not_denied(patterns: Sequence[re.Pattern[str]], lowered: str) -> re.Match[str] | None:
    """The earliest dispute cue its own clause does not deny ("we do not dispute it",
    "nothing is wrong"). Only the words around the cue are read for a denial: several cues
    carry one themselves ("not received")."""
    matches = sorted((m for p in patterns for m in p.finditer(lowered)), key=lambda m: m.start())
    for match in matches:
        before = lowered[max(0, match.start() - _NEGATION_REACH) : match.start()]
        after = lowered[match.end() : match.end() + _NEGATION_AFTER]
        around = _CLAUSE_END.split(before)[-1] + " " + _CLAUSE_END.split(after)[0]
        if not _DENIAL.search(around):
            return match
    return None


def _sentence_of(lowered: str, match: re.Match[str]) -> str:
    starts = [end.end() for end in _SENTENCE_END.finditer(lowered, 0, match.start())]
    ending = _SENTENCE_END.search(lowered, match.end())
    return lowered[starts[-1] if starts else 0 : ending.start() if ending else len(lowered)]


def _already_paid(reply: Reply, text: str, lowered: str) -> _Found | None:
    match = _affirmed(_ALREADY_PAID, lowered)
    if match is None:
        return None
    past = [
        d for d in find_dates(text, reply.received_on, reply.currency) if d.day <= reply.received_on
    ]
    return {
        "intent": ReplyIntent.ALREADY_PAID,
        "paid_on": _nearest(past, match.start()),
        "payment_method": _method(lowered),
        "signals": ["claims payment made"],
        **_amount_near(text, match.start(), reply.currency),
    }


def _plan_request(reply: Reply, text: str, lowered: str) -> _Found | None:
    match = _search(_PLAN_REQUEST, lowered)
    if match is None:
        return None
    count = _INSTALMENT_COUNT.search(lowered)
    instalments = None
    if count is not None:
        written = count[1].lower()
        number = int(written) if written.isdigit() else _COUNTS.get(written, 0)
        instalments = number if 2 <= number <= 60 else None
    return {
        "intent": ReplyIntent.PAYMENT_PLAN_REQUEST,
        "instalments": instalments,
        "signals": ["asks to pay in instalments"],
    }


def _promise(reply: Reply, text: str, lowered: str) -> _Found | None:
    match = _affirmed(_PROMISE, lowered)
    if match is None:
        return None
    ahead = [
        d for d in find_dates(text, reply.received_on, reply.currency) if d.day >= reply.received_on
    ]
    promised = _nearest(ahead, match.start())
    return {
        "intent": ReplyIntent.PROMISE_TO_PAY,
        "promised_date": promised,
        "payment_method": _method(lowered),
        "signals": ["promises payment" + ("" if promised else "; no date stated")],
        **_amount_near(text, match.start(), reply.currency),
    }


def _unsubscribe(reply: Reply, text: str, lowered: str) -> _Found | None:
    if _search(_UNSUBSCRIBE, lowered) is None:
        return None
    return {"intent": ReplyIntent.UNSUBSCRIBE, "signals": ["asks to stop receiving mail"]}


def _out_of_office_in_text(reply: Reply, text: str, lowered: str) -> _Found | None:
    if _search(_OUT_OF_OFFICE, lowered) is None:
        return None
    return _out_of_office(reply, text, "says they are away")


_RULES = (
    _out_of_office_by_subject,
    _dispute,
    _already_paid,
    _plan_request,
    _promise,
    _unsubscribe,
    _out_of_office_in_text,
)
"""Strongest first: an auto-reply is only that; a dispute outweighs a promise in the same
reply; a claim to have paid outweighs a plan; a request to stop is taken only when the reply
asks for nothing else (mail footers often say "unsubscribe")."""


def _nearest(found: Sequence[FoundDate], at: int) -> date | None:
    if not found:
        return None
    return min(found, key=lambda f: (abs(f.at - at), f.at)).day


def _amount_near(text: str, at: int, currency: str) -> _Found:
    amounts = [a for a in find_amounts(text) if a.currency == currency]
    if not amounts:
        return {}
    nearest = min(amounts, key=lambda a: (abs(a.at - at), a.at))
    return {"amount": nearest.amount, "currency": nearest.currency}


def _method(lowered: str) -> PaymentMethod | None:
    return next((method for method, words in _METHODS if _search(words, lowered)), None)


def _within(day: date | None, first: date, last: date) -> date | None:
    return day if day is not None and first <= day <= last else None
