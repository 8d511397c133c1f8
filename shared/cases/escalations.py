"""Escalations: an account handed to a collection agency, or put in front of a person.

An account with the agency is put on hold (status `on_hold`, the reason naming the invoices),
which the collections policy's pauses already honour: the agent writes no more reminders and
settles nothing on it until a person takes it off hold.
"""

from __future__ import annotations

from shared.actions.models import AgencyEscalation
from shared.ledger.aging import still_owed_refusal
from shared.ledger.models import Account, AccountProfile, AccountStatus
from shared.ledger.store import AccountRecords

ESCALATED = "account.escalated"
HOLD_REASON_LENGTH = 200


def agency_refusal(action: AgencyEscalation, records: AccountRecords) -> str | None:
    """Why the account cannot be handed over as proposed now, or None when it can."""
    account = records.account
    if account.status is not AccountStatus.ACTIVE:
        return f"account {account.account_id} is {account.status.value}"
    if account.currency != action.currency:
        return f"account {account.account_id} is billed in {account.currency}"
    return still_owed_refusal(
        records.invoices, action.invoice_numbers, action.amount, action.currency
    )


def with_agency(account: Account, action: AgencyEscalation) -> AccountProfile:
    """The account's profile once it is with the agency: on hold, saying why, until a person
    takes it off."""
    reason = "with a collection agency: " + ", ".join(action.invoice_numbers)
    if len(reason) > HOLD_REASON_LENGTH:
        reason = reason[: HOLD_REASON_LENGTH - 3] + "..."
    return account.profile_with(status=AccountStatus.ON_HOLD, hold_reason=reason, hold_until=None)
