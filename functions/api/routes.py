"""The integrator API's routes: parse the request, call the ledger, shape the response.

Every caller is an IAM principal (API Gateway checks the SigV4 signature); that principal is the
actor the audit trail records.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated
from urllib.parse import unquote

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from functions.api.idempotency import IdempotencyKey
from functions.api.observability import logger, metrics
from functions.api.schemas import (
    MAX_AUDIT_PAGE,
    AccountInvoice,
    AccountOverview,
    AccountUpdate,
    ApprovalList,
    ApprovalSummary,
    AuditPage,
    CaseList,
    ContactDetails,
    DecisionRequest,
    ErrorBody,
    InvoiceBatch,
    NewAccount,
    ProposalAnswer,
    StoredInvoices,
    VoidRequest,
    WriteOffRequest,
)
from shared import services
from shared.actions.models import WriteOff
from shared.approvals.models import Evidence
from shared.audit.models import Actor, ActorKind
from shared.cases.models import CaseSource, NewPromise
from shared.cases.service import Cases
from shared.errors import InvalidInput
from shared.ledger.models import (
    Account,
    AccountProfile,
    Case,
    Contact,
    CreditNote,
    Invoice,
    NewCreditNote,
    NewInvoice,
    NewPayment,
    Payment,
)
from shared.ledger.service import Ledger

router = Router()  # type: ignore[no-untyped-call]

AccountId = Annotated[str, Path(description="The account id the integrator chose at creation")]
ACCOUNTS = "accounts"
INVOICES = "invoices"
CASH = "credit notes and payments"
AUDIT = "audit"
APPROVALS = "approvals"
CASES = "cases"

_ERRORS: dict[int, str] = {
    400: "Cannot succeed as sent: malformed JSON, or it contradicts stored records",
    404: "No such account or record",
    409: "Conflicts with stored state (already exists, stale version) or with an earlier "
    "request under the same Idempotency-Key",
    422: "The body, path or query does not match the schema; `fields` names each problem",
    500: "An unexpected error; retry later with the same Idempotency-Key",
}


def _responses(status: int, description: str, *errors: int) -> dict[int, OpenAPIResponse]:
    documented: dict[int, OpenAPIResponse] = {status: {"description": description}}
    for code in (*errors, 422, 500):
        documented[code] = {
            "description": _ERRORS[code],
            "content": {"application/json": {"model": ErrorBody}},
        }
    return documented


@router.post(
    "/accounts",
    status_code=HTTPStatus.CREATED,
    summary="Create a customer account",
    tags=[ACCOUNTS],
    responses=_responses(201, "The account as stored, at version 1", 400, 409),
)
def create_account(account: NewAccount, idempotency_key: IdempotencyKey = None) -> Account:
    profile = AccountProfile.model_validate(account.model_dump(exclude={"account_id"}))
    return _ledger().create_account(account.account_id, profile, _caller())


@router.put(
    "/accounts/<account_id>",
    summary="Replace an account's profile",
    description="Send the version you read; if the account changed since, the answer is 409 and "
    "nothing is stored: read it again and reapply your change.",
    tags=[ACCOUNTS],
    responses=_responses(200, "The account as stored, with its new version", 400, 404, 409),
)
def update_account(
    account_id: AccountId, update: AccountUpdate, idempotency_key: IdempotencyKey = None
) -> Account:
    profile = AccountProfile.model_validate(update.model_dump(exclude={"version"}))
    return _ledger().update_account(_id(account_id), profile, update.version, _caller())


@router.put(
    "/accounts/<account_id>/contacts/<contact_id>",
    summary="Add or replace one contact of an account",
    tags=[ACCOUNTS],
    responses=_responses(200, "The account with the contact stored", 400, 404, 409),
)
def save_contact(
    account_id: AccountId,
    contact_id: str,
    details: ContactDetails,
    idempotency_key: IdempotencyKey = None,
) -> Account:
    _same_as_path("contact_id", details.contact_id, _id(contact_id))
    contact = Contact.model_validate({**details.model_dump(), "contact_id": _id(contact_id)})
    return _ledger().save_contact(_id(account_id), contact, _caller())


@router.get(
    "/accounts/<account_id>",
    summary="Read an account: open invoices, aging, balances, cases and what happened lately",
    tags=[ACCOUNTS],
    responses=_responses(200, "The account overview; amounts are decimal strings", 404),
)
def read_account(account_id: AccountId) -> AccountOverview:
    return AccountOverview.of(_ledger().view(_id(account_id)))


@router.get(
    "/accounts/<account_id>/audit",
    summary="Read an account's audit trail, oldest first",
    description="Each event carries its sequence, its hash and the hash of the event before it, "
    "so a reader can check that nothing was changed, removed or reordered.",
    tags=[AUDIT],
    responses=_responses(200, "One page of the account's audit events", 404),
)
def read_audit(
    account_id: AccountId,
    after: Annotated[int, Query(ge=0, description="Only events after this sequence")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE)] = 100,
) -> AuditPage:
    ledger = _ledger()
    account = ledger.store.account(_id(account_id))
    events = ledger.audit.events(account.account_id, after=after, limit=limit)
    next_after = events[-1].sequence if len(events) == limit else None
    return AuditPage(account_id=account.account_id, events=events, next_after=next_after)


@router.post(
    "/accounts/<account_id>/invoices",
    status_code=HTTPStatus.CREATED,
    summary="Post one invoice to an account",
    tags=[INVOICES],
    responses=_responses(201, "The invoice as stored", 400, 404, 409),
)
def create_invoice(
    account_id: AccountId, invoice: AccountInvoice, idempotency_key: IdempotencyKey = None
) -> Invoice:
    account = _ledger().store.account(_id(account_id))
    _same_as_path("account_id", invoice.account_id, account.account_id)
    new = NewInvoice.model_validate({**invoice.model_dump(), "account_id": account.account_id})
    try:
        (stored,) = _store_invoices([new])
    except InvalidInput as refused:
        # Reported against this single invoice's own fields rather than a batch position.
        raise InvalidInput(refused.field.removeprefix("invoices[0]."), refused.reason) from None
    return stored


@router.post(
    "/invoices/batch",
    status_code=HTTPStatus.CREATED,
    summary="Post up to 500 invoices, across accounts, all or nothing",
    description="Every invoice is checked before anything is stored; if one is refused, none "
    "is stored and the error names it by position, for example invoices[3].amount.",
    tags=[INVOICES],
    responses=_responses(201, "Every invoice as stored, in the order sent", 400, 409),
)
def create_invoice_batch(
    batch: InvoiceBatch, idempotency_key: IdempotencyKey = None
) -> StoredInvoices:
    return StoredInvoices(invoices=_store_invoices(batch.invoices))


@router.post(
    "/accounts/<account_id>/invoices/<number>/void",
    summary="Void an open invoice that has no cash or credit applied",
    tags=[INVOICES],
    responses=_responses(200, "The voided invoice", 404, 409),
)
def void_invoice(
    account_id: AccountId,
    number: Annotated[str, Path(description="The invoice number; URL-encode a '/' as %2F")],
    void: VoidRequest,
    idempotency_key: IdempotencyKey = None,
) -> Invoice:
    return _ledger().void_invoice(_id(account_id), _id(number), void.reason, _caller())


@router.post(
    "/accounts/<account_id>/credit-notes",
    status_code=HTTPStatus.CREATED,
    summary="Record a credit note, applied to one invoice or kept as unapplied credit",
    tags=[CASH],
    responses=_responses(201, "The credit note as stored", 400, 404, 409),
)
def record_credit_note(
    account_id: AccountId, credit_note: NewCreditNote, idempotency_key: IdempotencyKey = None
) -> CreditNote:
    return _ledger().record_credit_note(_id(account_id), credit_note, _caller())


@router.post(
    "/accounts/<account_id>/payments",
    status_code=HTTPStatus.CREATED,
    summary="Record a payment received, optionally applying it to invoices",
    description="Allocations are applied together with the payment or not at all; an invoice "
    "is never applied beyond its open amount.",
    tags=[CASH],
    responses=_responses(201, "The payment as stored, with what remains unapplied", 400, 404, 409),
)
def record_payment(
    account_id: AccountId, payment: NewPayment, idempotency_key: IdempotencyKey = None
) -> Payment:
    return _ledger().record_payment(_id(account_id), payment, _caller())


@router.post(
    "/accounts/<account_id>/write-offs",
    status_code=HTTPStatus.ACCEPTED,
    summary="Write off what is open on an invoice, or ask for approval to",
    description="Within the policy's own authority the write-off is done at once (status "
    "performed); above it the approvers the policy names are emailed a link, and the write-off "
    "happens when one approves (status awaiting_approval, with the approval id). The amount "
    "must be exactly what the invoice has open.",
    tags=[CASH],
    responses=_responses(202, "Performed, or waiting for approval", 400, 404, 409),
)
def write_off(
    account_id: AccountId, request: WriteOffRequest, idempotency_key: IdempotencyKey = None
) -> ProposalAnswer:
    services_now = services.current()
    account = services_now.ledger.store.account(_id(account_id))
    invoice = services_now.ledger.store.invoice(account.account_id, request.invoice_number)
    action = WriteOff(
        account_id=account.account_id,
        invoice_number=invoice.number,
        currency=invoice.currency,
        amount=request.amount,
        reason=request.reason,
    )
    # The same write-off of the same invoice state is one decision, however often it is asked.
    decision_id = f"write_off/{account.account_id}/{invoice.number}/{invoice.version}"
    outcome = services_now.proposals().propose(
        action, request.reason, _caller(), decision_id, evidence=_invoice_evidence(invoice)
    )
    logger.info("write-off proposed", status=outcome.status.value)
    return ProposalAnswer.of(outcome)


@router.post(
    "/accounts/<account_id>/promises",
    status_code=HTTPStatus.CREATED,
    summary="Record a customer's promise to pay",
    description="The promise is kept as a case and pauses reminders on the invoices it names "
    "(on the account, when it names none) until it is judged: kept once what it covers "
    "arrives, broken when its date, pushed back for the payment method and the policy's grace "
    "days, passes without that. Without an amount it covers what is open on its invoices.",
    tags=[CASES],
    responses=_responses(201, "The promise as an open case", 400, 404, 409),
)
def record_promise(
    account_id: AccountId, promise: NewPromise, idempotency_key: IdempotencyKey = None
) -> Case:
    cases = Cases(_ledger())
    case = cases.promises.record(_id(account_id), promise, CaseSource.API, _caller())
    metrics.add_metric(name="promises_recorded", unit=MetricUnit.Count, value=1)
    logger.info("promise recorded", case_id=case.case_id, source=CaseSource.API.value)
    return case


@router.get(
    "/accounts/<account_id>/cases",
    summary="Read an account's cases: promises, disputes and payment plans, open or closed",
    tags=[CASES],
    responses=_responses(200, "Every case of the account, oldest first", 404),
)
def list_cases(account_id: AccountId) -> CaseList:
    records = _ledger().store.records(_id(account_id))
    cases = sorted(records.cases, key=lambda case: (case.opened_at, case.case_id))
    return CaseList(account_id=records.account.account_id, cases=cases)


@router.get(
    "/approval-requests",
    summary="List approvals waiting for a decision",
    tags=[APPROVALS],
    responses=_responses(200, "Pending approvals, oldest first"),
)
def list_approvals() -> ApprovalList:
    pending = services.current().approval_tasks().pending()
    return ApprovalList(approvals=[ApprovalSummary.of(approval) for approval in pending])


@router.get(
    "/approval-requests/<approval_id>",
    summary="Read one approval, pending or decided",
    tags=[APPROVALS],
    responses=_responses(200, "The approval", 404),
)
def read_approval(approval_id: str) -> ApprovalSummary:
    return ApprovalSummary.of(services.current().approval_tasks().get(_id(approval_id)))


@router.post(
    "/approval-requests/<approval_id>/decision",
    summary="Decide an approval from your own tools instead of the emailed link",
    description="The approver named must be the one the approval waits for now; the calling "
    "IAM principal is recorded beside their decision.",
    tags=[APPROVALS],
    responses=_responses(200, "The approval as decided", 404, 409),
)
def decide_approval(
    approval_id: str, request: DecisionRequest, idempotency_key: IdempotencyKey = None
) -> ApprovalSummary:
    decided = (
        services.current()
        .approval_tasks()
        .decide(
            _id(approval_id),
            request.approver,
            request.decision,
            request.comment,
            via=f"api:{_caller().id}",
        )
    )
    return ApprovalSummary.of(decided)


def _invoice_evidence(invoice: Invoice) -> list[Evidence]:
    detail = (
        f"Invoice {invoice.number} issued {invoice.issue_date}, due {invoice.due_date}: "
        f"{invoice.amount} {invoice.currency}, {invoice.open_amount} {invoice.currency} open"
    )
    return [Evidence(label=f"Invoice {invoice.number}", detail=detail)]


def _store_invoices(invoices: list[NewInvoice]) -> list[Invoice]:
    stored = _ledger().create_invoices(invoices, _caller())
    metrics.add_metric(name="invoices_created", unit=MetricUnit.Count, value=len(stored))
    accounts = {invoice.account_id for invoice in stored}
    logger.info("invoices stored", invoice_count=len(stored), account_count=len(accounts))
    return stored


def _ledger() -> Ledger:
    return services.current().ledger


def _caller() -> Actor:
    """The IAM principal that signed the request, as API Gateway identified it."""
    event = router.current_event
    identity = event.request_context.identity if isinstance(event, APIGatewayProxyEvent) else None
    principal = identity and (identity.user_arn or identity.caller or identity.access_key)
    return Actor(kind=ActorKind.INTEGRATOR, id=principal or "integrator")


def _id(path_value: str) -> str:
    """A record id from the path: ids may contain '/', which a client sends as %2F."""
    return unquote(path_value)


def _same_as_path(field: str, sent: str | None, in_path: str) -> None:
    if sent is not None and sent != in_path:
        raise InvalidInput(field, f"is {sent!r} in the body but {in_path!r} in the path")
