"""Opening, progressing and closing cases, each change committed with its audit events.

Every write is conditional: a case opens only if its id is new (ids derive from what opened
it, so a redelivered message or a retried request finds the case already there), and a case
changes only if it is still at the version the change was computed on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aws_lambda_powertools import Logger

from shared.audit.models import Actor, ActorKind, Entry
from shared.cases.models import CaseChange
from shared.dynamodb import Transaction, TransactionRefused
from shared.errors import Conflict
from shared.ledger.models import Case, CaseStatus
from shared.ledger.service import Ledger
from shared.ledger.store import AccountRecords, LedgerStore, new_record_label

REVIEWER = Actor(kind=ActorKind.AGENT, id="case_review")
"""Who judges cases at an account's review: the agent, on the collections policy."""

logger = Logger(child=True)


class CaseExists(Conflict):
    """A case with this id is already stored: whatever opened it was taken in before."""

    def __init__(self, stored: Case) -> None:
        super().__init__(f"case {stored.case_id} already exists")
        self.stored = stored


class CaseBook:
    def __init__(self, ledger: Ledger, reviewer: Actor = REVIEWER) -> None:
        self._ledger = ledger
        self.reviewer = reviewer

    @property
    def store(self) -> LedgerStore:
        return self._ledger.store

    def now(self) -> datetime:
        return self._ledger.clock.now()

    def records(self, account_id: str) -> AccountRecords:
        return self._ledger.store.records(account_id)

    def open(
        self, case: Case, entries: Sequence[Entry], changes: Transaction | None = None
    ) -> Case:
        """Store a new case with its audit events (and `changes`), and put its account up for
        review; CaseExists (with the stored case) if its id is taken, nothing written."""
        transaction = Transaction()
        if changes is not None:
            transaction.extend(changes)
        self.stage_open(transaction, case)
        try:
            self._ledger.audit.record(entries, transaction)
        except TransactionRefused as refused:
            if new_record_label(case) not in refused.failed:
                raise
            raise CaseExists(self.store.case(case.account_id, case.case_id)) from None
        return case

    def stage_open(self, transaction: Transaction, case: Case) -> None:
        self.store.stage_new_record(transaction, case)
        self.store.stage_review(transaction, case.account_id, self.now())

    def close(self, case: Case, status: CaseStatus, action: str, entry: Entry) -> CaseChange | None:
        closed = case.model_copy(update={"status": status, "closed_at": self.now()})
        return self.change(case, closed, action, entry)

    def change(self, case: Case, changed: Case, action: str, entry: Entry) -> CaseChange | None:
        """Store `changed` in place of `case` with its audit event; None if the case moved."""
        stored = changed.model_copy(update={"version": case.version + 1})
        transaction = Transaction()
        self.store.stage_case(transaction, stored, case.version)
        try:
            self._ledger.audit.record([entry], transaction)
        except TransactionRefused:
            logger.info("case moved meanwhile", case_id=case.case_id, action=action)
            return None
        return CaseChange(stored, action)
