"""Ledger operations by integrators and the agent, each written together with its audit event."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.audit.log import AuditLog
from shared.audit.models import Actor, AuditEvent, Entry
from shared.clock import Clock, today
from shared.dynamodb import MAX_TRANSACTION_ITEMS, Transaction, TransactionRefused
from shared.errors import Conflict, InvalidInput, NotFound
from shared.ledger.aging import aging, open_invoices
from shared.ledger.models import (
    Account,
    AccountProfile,
    Allocation,
    AllocationSource,
    Case,
    CaseStatus,
    Contact,
    CreditNote,
    Invoice,
    InvoiceStatus,
    NewCreditNote,
    NewInvoice,
    NewPayment,
    Payment,
)
from shared.ledger.store import LedgerStore
from shared.money import zero

MAX_INVOICE_BATCH = 500


@dataclass(frozen=True)
class AccountView:
    """An account as a person reads it: who, what is open, how old, what is going on, and why."""

    account: Account
    open_invoices: list[Invoice]
    aging: dict[str, Decimal]
    open_balance: Decimal
    overdue_balance: Decimal
    unapplied_credit: Decimal
    cases: list[Case]
    timeline: list[AuditEvent]


class Ledger:
    def __init__(self, store: LedgerStore, audit: AuditLog, clock: Clock) -> None:
        self.store = store
        self.audit = audit
        self._clock = clock

    @property
    def clock(self) -> Clock:
        return self._clock

    def create_account(self, account_id: str, profile: AccountProfile, actor: Actor) -> Account:
        now = self._clock.now()
        account = Account(
            account_id=account_id,
            created_at=now,
            updated_at=now,
            next_review_at=now,
            **profile.model_dump(),
        )
        changes = Transaction()
        self.store.stage_new_account(changes, account)
        self.store.stage_contact_emails(changes, account_id, set(), _emails(account))
        entry = _entry(
            account_id,
            actor,
            "account.created",
            name=account.name,
            currency=account.currency,
            contacts=len(account.contacts),
        )
        try:
            self.audit.record([entry], changes)
        except TransactionRefused:
            raise Conflict(f"account {account_id} already exists") from None
        return account

    def update_account(
        self,
        account_id: str,
        profile: AccountProfile,
        expected_version: int,
        actor: Actor,
        *,
        also: Sequence[Entry] = (),
        changes: Transaction | None = None,
    ) -> Account:
        """Replace the profile if the account is still at `expected_version`.

        `also` and `changes` are audit events and writes of the caller's that must commit
        together with the update (a contact marked bounced and why, say), or not at all.
        """
        current = self.store.account(account_id)
        if profile.currency != current.currency and self.store.records(account_id).invoices:
            raise InvalidInput("currency", "cannot change once the account has invoices")
        changed = {
            name: value
            for name, value in profile.model_dump().items()
            if getattr(current, name) != getattr(profile, name)
        }
        return self._save_profile(
            current, profile, expected_version, actor, sorted(changed), also, changes
        )

    def save_contact(self, account_id: str, contact: Contact, actor: Actor) -> Account:
        current = self.store.account(account_id)
        others = [c for c in current.contacts if c.contact_id != contact.contact_id]
        profile = current.profile_with(contacts=[*others, contact])
        return self._save_profile(current, profile, current.version, actor, ["contacts"])

    def create_invoices(self, invoices: Sequence[NewInvoice], actor: Actor) -> list[Invoice]:
        """Store a batch of invoices entirely, or none of them.

        Everything that can be known is checked before the first write; the batch is then
        written in transactions, and if one is refused (a concurrent writer took a number),
        the invoices already written by this batch are removed again and that is audited.
        """
        self._check_new_invoices(invoices)
        now = self._clock.now()
        stored = [
            Invoice(**new.model_dump(), open_amount=new.amount, created_at=now) for new in invoices
        ]
        written: list[Invoice] = []
        for chunk in _transaction_sized(stored):
            try:
                self._write_invoice_chunk(chunk, actor, now)
            except TransactionRefused as refused:
                self._withdraw(written, actor, reason=str(refused))
                raise Conflict(f"invoice batch not stored: {refused}") from None
            written.extend(chunk)
        return stored

    def void_invoice(self, account_id: str, number: str, reason: str, actor: Actor) -> Invoice:
        invoice = self.store.invoice(account_id, number)
        if invoice.status is not InvoiceStatus.OPEN:
            raise Conflict(f"invoice {number} is {invoice.status.value}, only open invoices void")
        if invoice.open_amount != invoice.amount:
            raise Conflict(f"invoice {number} has cash or credit applied; issue a credit note")
        voided = invoice.model_copy(
            update={
                "status": InvoiceStatus.VOID,
                "open_amount": zero(invoice.currency),
                "voided_reason": reason,
                "version": invoice.version + 1,
            }
        )
        changes = Transaction()
        self.store.stage_invoice(changes, voided, invoice.version)
        entry = _entry(
            account_id,
            actor,
            "invoice.voided",
            number=number,
            amount=str(invoice.amount),
            currency=invoice.currency,
            reason=reason,
        )
        self.audit.record([entry], changes)
        return voided

    def write_off(self, account_id: str, number: str, amount: Decimal, entry: Entry) -> Invoice:
        """Clear an invoice's open amount, which must still be exactly `amount`.

        `entry` is the audit event the caller composed (who, why, under which approval); the
        write-off and it commit together.
        """
        invoice = self._open_invoice(account_id, number, "invoice_number")
        if invoice.open_amount != amount:
            raise Conflict(
                f"invoice {number} now has {invoice.open_amount} {invoice.currency} open, "
                f"not {amount}; the write-off no longer fits"
            )
        changes = Transaction()
        write_off_id = f"{number}-{invoice.version}"
        self._apply(
            changes, invoice, amount, AllocationSource.WRITE_OFF, write_off_id, self._clock.now()
        )
        self.audit.record([entry], changes)
        return self.store.invoice(account_id, number)

    def record_credit_note(self, account_id: str, new: NewCreditNote, actor: Actor) -> CreditNote:
        account = self.store.account(account_id)
        _same_currency(account, new.currency, "currency")
        now = self._clock.now()
        changes = Transaction()
        applied = Decimal(0)
        if new.invoice_number is not None:
            invoice = self._open_invoice(account_id, new.invoice_number, "invoice_number")
            _same_currency(account, invoice.currency, "invoice_number")
            applied = min(new.amount, invoice.open_amount)
            self._apply(changes, invoice, applied, AllocationSource.CREDIT_NOTE, new.number, now)
        note = CreditNote(
            **new.model_dump(),
            account_id=account_id,
            unapplied_amount=new.amount - applied,
            created_at=now,
        )
        self.store.stage_new_record(changes, note)
        entry = _entry(
            account_id,
            actor,
            "credit_note.recorded",
            number=new.number,
            amount=str(new.amount),
            currency=new.currency,
            invoice_number=new.invoice_number,
            applied=str(applied),
        )
        self._record(entry, changes, f"credit note {new.number} already exists")
        return note

    def record_payment(self, account_id: str, new: NewPayment, actor: Actor) -> Payment:
        account = self.store.account(account_id)
        _same_currency(account, new.currency, "currency")
        now = self._clock.now()
        changes = Transaction()
        for index, request in enumerate(new.allocations):
            field = f"allocations[{index}].invoice_number"
            invoice = self._open_invoice(account_id, request.invoice_number, field)
            if request.amount > invoice.open_amount:
                raise InvalidInput(
                    f"allocations[{index}].amount",
                    f"exceeds the open amount {invoice.open_amount} of invoice {invoice.number}",
                )
            self._apply(
                changes, invoice, request.amount, AllocationSource.PAYMENT, new.payment_id, now
            )
        applied = sum((a.amount for a in new.allocations), Decimal(0))
        payment = Payment(
            **new.model_dump(exclude={"allocations"}),
            account_id=account_id,
            unapplied_amount=new.amount - applied,
            created_at=now,
        )
        self.store.stage_new_record(changes, payment)
        self.store.stage_review(changes, account_id, now)
        entry = _entry(
            account_id,
            actor,
            "payment.recorded",
            payment_id=new.payment_id,
            amount=str(new.amount),
            currency=new.currency,
            method=new.method,
            allocations={a.invoice_number: str(a.amount) for a in new.allocations},
            unapplied=str(payment.unapplied_amount),
        )
        self._record(entry, changes, f"payment {new.payment_id} already exists")
        return payment

    def view(self, account_id: str, timeline_length: int = 50) -> AccountView:
        records = self.store.records(account_id)
        on = today(self._clock)
        still_open = sorted(open_invoices(records.invoices), key=lambda i: (i.due_date, i.number))
        buckets = aging(still_open, on)
        return AccountView(
            account=records.account,
            open_invoices=still_open,
            aging=buckets,
            open_balance=sum(buckets.values(), Decimal(0)),
            overdue_balance=sum((i.open_amount for i in still_open if i.due_date < on), Decimal(0)),
            unapplied_credit=sum((n.unapplied_amount for n in records.credit_notes), Decimal(0))
            + sum((p.unapplied_amount for p in records.payments), Decimal(0)),
            cases=[c for c in records.cases if c.status is CaseStatus.OPEN],
            timeline=self.audit.events(account_id, limit=timeline_length, newest_first=True),
        )

    def _save_profile(
        self,
        current: Account,
        profile: AccountProfile,
        expected_version: int,
        actor: Actor,
        changed: list[str],
        also: Sequence[Entry] = (),
        staged: Transaction | None = None,
    ) -> Account:
        if expected_version != current.version:
            raise Conflict(
                f"account {current.account_id} is at version {current.version}, "
                f"not {expected_version}; read it again and reapply the change"
            )
        now = self._clock.now()
        changes = Transaction()
        if staged is not None:
            changes.extend(staged)
        self.store.stage_profile(changes, current.account_id, profile, expected_version, now)
        self.store.stage_contact_emails(
            changes, current.account_id, _emails(current), _emails(profile)
        )
        entry = _entry(current.account_id, actor, "account.updated", changed=changed)
        try:
            self.audit.record([entry, *also], changes)
        except TransactionRefused as refused:
            raise AccountChanged(current.account_id, refused.failed) from None
        # Validated, not model_copy'd: an update from model_dump() would leave contacts as dicts.
        return Account.model_validate(
            {
                **current.model_dump(),
                **profile.model_dump(),
                "version": current.version + 1,
                "updated_at": now,
            }
        )

    def _check_new_invoices(self, invoices: Sequence[NewInvoice]) -> None:
        if not invoices:
            raise InvalidInput("invoices", "the batch is empty")
        if len(invoices) > MAX_INVOICE_BATCH:
            raise InvalidInput("invoices", f"at most {MAX_INVOICE_BATCH} invoices per batch")
        seen: set[tuple[str, str]] = set()
        for index, invoice in enumerate(invoices):
            pair = (invoice.account_id, invoice.number)
            if pair in seen:
                raise InvalidInput(f"invoices[{index}].number", "appears twice in the batch")
            seen.add(pair)
        accounts = self.store.accounts(account for account, _ in seen)
        for index, invoice in enumerate(invoices):
            account = accounts.get(invoice.account_id)
            if account is None:
                raise InvalidInput(
                    f"invoices[{index}].account_id", f"account {invoice.account_id} does not exist"
                )
            _same_currency(account, invoice.currency, f"invoices[{index}].currency")
        existing = self.store.existing_invoices(seen)
        for index, invoice in enumerate(invoices):
            if (invoice.account_id, invoice.number) in existing:
                raise InvalidInput(
                    f"invoices[{index}].number",
                    f"invoice {invoice.number} already exists for this account",
                )

    def _write_invoice_chunk(self, chunk: list[Invoice], actor: Actor, now: datetime) -> None:
        changes = Transaction()
        by_account: dict[str, list[Invoice]] = defaultdict(list)
        for invoice in chunk:
            self.store.stage_new_invoice(changes, invoice)
            by_account[invoice.account_id].append(invoice)
        for account_id in by_account:
            self.store.stage_review(changes, account_id, now)
        entries = [
            _entry(
                invoice.account_id,
                actor,
                "invoice.created",
                number=invoice.number,
                amount=str(invoice.amount),
                currency=invoice.currency,
                due_date=invoice.due_date,
            )
            for invoice in chunk
        ]
        self.audit.record(entries, changes)

    def _withdraw(self, written: list[Invoice], actor: Actor, reason: str) -> None:
        """Remove invoices this batch wrote before a later part of it was refused."""
        for start in range(0, len(written), MAX_TRANSACTION_ITEMS // 2):
            changes = Transaction()
            chunk = written[start : start + MAX_TRANSACTION_ITEMS // 2]
            for invoice in chunk:
                changes.delete(
                    self.store.table,
                    {"PK": f"ACCOUNT#{invoice.account_id}", "SK": f"INVOICE#{invoice.number}"},
                    describe=f"invoice {invoice.number} untouched since this batch wrote it",
                    condition="version = :one",
                    one=1,
                )
            entries = [
                _entry(
                    invoice.account_id,
                    actor,
                    "invoice.withdrawn",
                    number=invoice.number,
                    reason="the rest of its batch was refused: " + reason,
                )
                for invoice in chunk
            ]
            self.audit.record(entries, changes)

    def _open_invoice(self, account_id: str, number: str, field: str) -> Invoice:
        try:
            invoice = self.store.invoice(account_id, number)
        except NotFound:
            raise InvalidInput(field, f"invoice {number} does not exist on this account") from None
        if invoice.status is not InvoiceStatus.OPEN:
            raise InvalidInput(field, f"invoice {number} is {invoice.status.value}")
        return invoice

    def _apply(
        self,
        changes: Transaction,
        invoice: Invoice,
        amount: Decimal,
        source: AllocationSource,
        source_id: str,
        now: datetime,
    ) -> None:
        """Stage applying `amount` to an invoice; the invoice must not have moved meanwhile."""
        if amount <= 0:
            return
        remaining = invoice.open_amount - amount
        updated = invoice.model_copy(
            update={
                "open_amount": remaining,
                "status": InvoiceStatus.PAID if remaining == 0 else InvoiceStatus.OPEN,
                "version": invoice.version + 1,
            }
        )
        self.store.stage_invoice(changes, updated, invoice.version)
        allocation = Allocation(
            account_id=invoice.account_id,
            source=source,
            source_id=source_id,
            invoice_number=invoice.number,
            currency=invoice.currency,
            amount=amount,
            applied_at=now,
        )
        self.store.stage_new_record(changes, allocation)

    def _record(self, entry: Entry, changes: Transaction, duplicate: str) -> None:
        try:
            self.audit.record([entry], changes)
        except TransactionRefused as refused:
            if any(label.endswith("is new") for label in refused.failed):
                raise Conflict(duplicate) from None
            raise


class AccountChanged(Conflict):
    """The account moved between being read and a change made on it being committed (a profile
    update lost its race, a decision was taken on state since changed); `failed` names the
    writes refused. Taken again from fresh state, the change can succeed."""

    def __init__(self, account_id: str, failed: Sequence[str]) -> None:
        refused = f" ({', '.join(failed)})" if failed else ""
        super().__init__(f"account {account_id} changed meanwhile{refused}; retry")
        self.account_id = account_id
        self.failed = list(failed)


def _entry(account_id: str, actor: Actor, action: str, **inputs: object) -> Entry:
    return Entry(chain=account_id, actor=actor, action=action, inputs=inputs)


def _transaction_sized(invoices: list[Invoice]) -> list[list[Invoice]]:
    """Split invoices so each part fits one transaction.

    Each invoice takes two writes (itself and its audit event) and each account in a part one
    more (its next review), all within DynamoDB's limit of writes per transaction.
    """
    parts: list[list[Invoice]] = [[]]
    accounts: set[str] = set()
    for invoice in invoices:
        new_accounts = accounts | {invoice.account_id}
        if 2 * (len(parts[-1]) + 1) + len(new_accounts) > MAX_TRANSACTION_ITEMS:
            parts.append([])
            new_accounts = {invoice.account_id}
        parts[-1].append(invoice)
        accounts = new_accounts
    return [part for part in parts if part]


def _emails(profile: AccountProfile) -> set[str]:
    return {contact.email for contact in profile.contacts}


def _same_currency(account: Account, currency: str, field: str) -> None:
    if currency != account.currency:
        raise InvalidInput(field, f"account {account.account_id} is billed in {account.currency}")
