"""The cases of an account, as the decide loop and the API reach them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from shared.cases.book import CaseBook
from shared.cases.models import CaseChange
from shared.cases.plans import PlanBook
from shared.cases.promises import PromiseBook
from shared.ledger.service import Ledger
from shared.ledger.store import AccountRecords
from shared.policy.models import Policy

if TYPE_CHECKING:
    from shared.services import Services


@dataclass(frozen=True)
class CaseReview:
    """What a review moved on, and the account's records with the cases as they now stand."""

    changes: list[CaseChange]
    records: AccountRecords


class Cases:
    def __init__(self, ledger: Ledger) -> None:
        book = CaseBook(ledger)
        self._book = book
        self.promises = PromiseBook(book)
        self.plans = PlanBook(book)

    @classmethod
    def from_services(cls, services: Services) -> Cases:
        return cls(services.ledger)

    def review(
        self, account_id: str, policy: Policy, records: AccountRecords | None = None
    ) -> CaseReview:
        """Judge the account's open promises and plans, each verdict stored and audited.

        The decide loop calls this first at each review and builds the account's state from
        the records it returns: a broken promise then moves the account up the ladder, a plan
        broken by a missed instalment goes to a person.
        """
        records = records or self._book.records(account_id)
        changes = [
            *self.promises.review(account_id, policy, records),
            *self.plans.review(account_id, policy, records),
        ]
        changed = {change.case.case_id: change.case for change in changes}
        cases = [changed.get(case.case_id, case) for case in records.cases]
        return CaseReview(changes, replace(records, cases=cases))
