"""English outreach wording; the language every other one falls back to."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared.collections.templates.wording import Headings, Language, Message, grouped

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _amount(amount: Decimal, currency: str) -> str:
    return f"{grouped(amount, ',', '.')} {currency}"


def _date(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _overdue(days: int) -> str:
    if days > 0:
        return "1 day" if days == 1 else f"{days} days"
    return "due today" if days == 0 else "not yet due"


LANGUAGE = Language(
    code="en",
    messages={
        "courtesy": Message(
            subject="Invoices due soon - $account_name",
            greeting="Hello $contact_name,",
            paragraphs=(
                "A quick note ahead of the due date: the invoices below for $account_name fall "
                "due shortly. If payment is already scheduled, thank you - there is nothing "
                "more to do.",
            ),
        ),
        "friendly": Message(
            subject="Payment reminder - $account_name",
            greeting="Hello $contact_name,",
            paragraphs=(
                "Our records show the invoices below for $account_name as unpaid past their "
                "due date. Could you arrange payment, or let us know when we can expect it?",
            ),
        ),
        "firm": Message(
            subject="Overdue invoices - $account_name",
            greeting="Dear $contact_name,",
            paragraphs=(
                "Despite our earlier reminders, the invoices below for $account_name remain "
                "unpaid. Please arrange payment of $total now.",
            ),
            pay_by="Please make sure the payment reaches us by $pay_by.",
        ),
        "final_notice": Message(
            subject="Final notice: overdue invoices - $account_name",
            greeting="Dear $contact_name,",
            paragraphs=(
                "This is our final reminder. The invoices below for $account_name are well "
                "past due, and $total is still outstanding.",
            ),
            pay_by="If we have neither received payment nor heard from you by $pay_by, we "
            "will pass the matter on for further collection steps.",
        ),
        "statement": Message(
            subject="Statement of account - $account_name",
            greeting="Hello $contact_name,",
            paragraphs=(
                "Below are the open items on the account of $account_name with us as of $as_of.",
            ),
        ),
        "payment_plan": Message(
            subject="A payment plan for your open balance - $account_name",
            greeting="Dear $contact_name,",
            paragraphs=(
                "We understand that settling $total at once may be difficult, so we have set up "
                "a payment plan for invoices $invoice_numbers: pay the instalments below on "
                "their dates, and we will not chase these invoices while the plan is kept.",
                "If the dates do not work for you, reply to this email and we will agree "
                "others with you.",
            ),
        ),
    },
    headings=Headings(
        number="Invoice",
        due_date="Due date",
        amount="Amount",
        overdue="Days overdue",
        instalment_due="Instalment due",
        total="Total open",
    ),
    reply="If you have already paid, or if anything here looks wrong, simply reply to this "
    "email; your reply comes straight to us.",
    closing="Kind regards,",
    format_amount=_amount,
    format_date=_date,
    overdue=_overdue,
)
