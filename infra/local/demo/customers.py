"""The demo's customers reading what autoar sends them: a late payer who is reminded of an
overdue invoice often pays it within days, rather than weeks later as it would have.

This is the one way the simulated world answers the agent's outreach; without it the demo's
payments would come on dates fixed before the first reminder and show nothing of what
collections changes. Each reaction is drawn from a generator seeded by the invoice and the day,
so a run is repeatable whatever order the emails were sent in.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from infra.local.demo.book import Behaviour, Book, Customer
from infra.local.demo.mailbox import Mailbox

PAYS_AFTER_REMINDER = 0.5
"""The chance a late payer pays an overdue invoice soon after a reminder names it."""
DAYS_TO_PAY = (2, 6)


class CustomerInboxes:
    def __init__(self, book: Book, seed: int, mailbox: Mailbox) -> None:
        self._by_address = {customer.email: customer for customer in book.customers}
        self._seed = seed
        self._mailbox = mailbox

    def read(self, today: date) -> None:
        """Each customer reads the emails that reached them since the last call."""
        for message in self._mailbox.new_messages():
            to = message["To"]
            customer = self._by_address.get(to.addresses[0].addr_spec) if to else None
            body = message.get_body(preferencelist=("plain",))
            if customer is not None and body is not None:
                self._answer(customer, body.get_content(), today)

    def _answer(self, customer: Customer, text: str, today: date) -> None:
        if customer.behaviour is not Behaviour.LATE:
            return
        for invoice in customer.invoices:
            paying_later = invoice.pays_on is not None and invoice.pays_on > today
            overdue = invoice.due_date < today
            if not (paying_later and overdue and invoice.number in text):
                continue
            draw = random.Random(f"{self._seed}:{invoice.number}:{today.isoformat()}")
            if draw.random() < PAYS_AFTER_REMINDER:
                sooner = today + timedelta(days=draw.randint(*DAYS_TO_PAY))
                invoice.pays_on = min(sooner, invoice.pays_on or sooner)
