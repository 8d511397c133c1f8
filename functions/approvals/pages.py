"""The approval pages as HTML: the request, the confirmation, and every refusal.

Everything shown comes from customers, the agent or the approver and is escaped on the way in;
no page carries script, and every response carries the same locked-down security headers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from http import HTTPStatus
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response

from shared.actions.models import Action, ActionKind, PaymentPlan
from shared.approvals.links import SignedLink
from shared.approvals.mail import money
from shared.approvals.models import ApprovalRequest, ApprovalStatus, Decision
from shared.approvals.service import MAX_COMMENT_LENGTH
from shared.audit.models import ActorKind

HTML = "text/html; charset=utf-8"

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

ACTION_NAMES: dict[ActionKind, str] = {
    ActionKind.WRITE_OFF: "Write-off",
    ActionKind.PAYMENT_PLAN: "Payment plan",
    ActionKind.SETTLEMENT: "Settlement",
    ActionKind.CREDIT_HOLD: "Credit hold",
    ActionKind.AGENCY_ESCALATION: "Escalation to a collection agency",
    ActionKind.LEGAL_ESCALATION: "Escalation to legal",
}


@dataclass(frozen=True)
class OpenedApproval:
    """A request as its approver may see it, with the link and form token that let them act."""

    request: ApprovalRequest
    link: SignedLink
    signature: str
    csrf: str


def respond(status: HTTPStatus, page: str, headers: dict[str, str] | None = None) -> Response[str]:
    """Every response of the function goes out through here, so none lacks the headers."""
    return Response(
        status_code=status.value,
        content_type=HTML,
        body=page,
        headers={**SECURITY_HEADERS, **(headers or {})},
    )


def approval_page(opened: OpenedApproval) -> str:
    request = opened.request
    body = (
        _heading("Approval needed", _summary(request.action), _account(request))
        + _facts(_request_facts(request, opened.link))
        + _section("Why the agent proposes this", _paragraph(request.rationale))
        + _section("Evidence", _evidence(request))
        + _decision_form(opened)
        + '<p class="note">Opening this page records nothing; only the buttons above do.</p>'
    )
    return _document(f"Approval needed: {_summary(request.action)}", body)


def confirmation_page(request: ApprovalRequest) -> str:
    approved = request.status is ApprovalStatus.APPROVED
    title = "Approved" if approved else "Rejected"
    consequence = (
        "autoar will now carry the action out and record it in the audit trail."
        if approved
        else "Nothing will be done; the decision is recorded in the audit trail."
    )
    body = (
        _heading(title, _summary(request.action), _account(request), tone=_tone(request.status))
        + _facts(_decision_facts(request))
        + _section("What happens now", _paragraph(f"Thank you. {consequence}"))
    )
    return _document(f"{title}: {_summary(request.action)}", body)


def refusal_page(
    status: HTTPStatus, title: str, message: str, facts: Sequence[tuple[str, str]] = ()
) -> str:
    """A refusal in words a person understands; it never repeats the link's signature."""
    body = _heading(title, message, f"{status.value} {status.phrase}", tone="refused")
    if facts:
        body += _facts(facts)
    return _document(title, body)


def decision_facts(request: ApprovalRequest) -> list[tuple[str, str]]:
    """What an approver needs to know about a request that is no longer theirs to decide."""
    return [
        ("Account", _account(request)),
        ("Action", _summary(request.action)),
        *_decision_facts(request),
    ]


def timestamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%d %B %Y, %H:%M UTC").lstrip("0")


def _summary(action: Action) -> str:
    name = ACTION_NAMES[action.kind]
    label, invoices = _invoices(action)
    return f"{name} of {money(action.amount, action.currency)} on {label.lower()} {invoices}"


def _invoices(action: Action) -> tuple[str, str]:
    numbers = action.covered_invoices
    return ("Invoice" if len(numbers) == 1 else "Invoices"), ", ".join(numbers)


def _schedule(action: Action) -> list[tuple[str, str]]:
    if not isinstance(action, PaymentPlan):
        return []
    dates = "; ".join(
        f"{i.due_date:%d %b %Y}: {money(i.amount, action.currency)}" for i in action.instalments
    )
    return [("Instalments", f"{len(action.instalments)} ({dates})")]


def _account(request: ApprovalRequest) -> str:
    return f"{request.account_name} ({request.account_id})"


def _request_facts(request: ApprovalRequest, link: SignedLink) -> list[tuple[str, str]]:
    action = request.action
    deadline = request.expires_at or datetime.fromtimestamp(link.expires, UTC)
    facts = [
        ("Account", _account(request)),
        ("Action", ACTION_NAMES[action.kind]),
        _invoices(action),
        ("Amount", money(action.amount, action.currency)),
        *_schedule(action),
        ("Reason given", action.reason),
        ("Policy rule", f"{request.policy_rule} (policy {request.policy_version})"),
        ("Waiting for", request.current_approver),
        ("Decide by", timestamp(deadline)),
        ("Requested", f"{timestamp(request.requested_at)} by {_requester(request)}"),
    ]
    if request.step > 0:
        facts.append(("Asked because", "the approver before you did not decide in time"))
    return facts


def _requester(request: ApprovalRequest) -> str:
    actor = request.requested_by
    return "the agent" if actor.kind is ActorKind.AGENT else actor.id


def _decision_facts(request: ApprovalRequest) -> list[tuple[str, str]]:
    facts = [("Status", request.status.value.capitalize())]
    if request.decided_by:
        facts.append(("Decided by", request.decided_by))
    if request.decided_at:
        facts.append(("Decided at", timestamp(request.decided_at)))
    if request.comment:
        facts.append(("Comment", request.comment))
    if request.outcome:
        facts.append(("Outcome", request.outcome.replace("_", " ").capitalize()))
    return facts


def _tone(status: ApprovalStatus) -> str:
    return "approved" if status is ApprovalStatus.APPROVED else "refused"


def _decision_form(opened: OpenedApproval) -> str:
    # A relative action drops the link's query string and keeps API Gateway's stage prefix.
    action = "./" + quote(opened.request.approval_id, safe="")
    hidden = {
        "approver": opened.link.approver,
        "expires": str(opened.link.expires),
        "sig": opened.signature,
        "csrf": opened.csrf,
    }
    fields = "".join(
        f'<input type="hidden" name="{name}" value="{escape(value)}">'
        for name, value in hidden.items()
    )
    return (
        f'<form method="post" action="{escape(action)}">{fields}'
        '<label for="comment">Comment <span class="muted">(optional, kept in the audit trail)'
        f'</span></label><textarea id="comment" name="comment" rows="3" '
        f'maxlength="{MAX_COMMENT_LENGTH}"></textarea><div class="buttons">'
        f'<button type="submit" name="decision" value="{Decision.APPROVE.value}" '
        'class="approve">Approve</button>'
        f'<button type="submit" name="decision" value="{Decision.REJECT.value}" '
        'class="reject">Reject</button></div></form>'
    )


def _evidence(request: ApprovalRequest) -> str:
    if not request.evidence:
        return _paragraph("The agent attached no evidence.")
    items = "".join(
        f"<li><strong>{escape(item.label)}</strong><div>{escape(item.detail)}</div></li>"
        for item in request.evidence
    )
    return f'<ul class="evidence">{items}</ul>'


def _heading(title: str, lead: str, subtitle: str, tone: str = "pending") -> str:
    return (
        f'<header class="{tone}"><p class="brand">autoar</p><h1>{escape(title)}</h1>'
        f'<p class="lead">{escape(lead)}</p><p class="muted">{escape(subtitle)}</p></header>'
    )


def _facts(facts: Iterable[tuple[str, str]]) -> str:
    rows = "".join(f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>" for name, value in facts)
    return f"<dl>{rows}</dl>"


def _section(title: str, content: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{content}</section>"


def _paragraph(text: str) -> str:
    return f'<p class="text">{escape(text)}</p>'


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>{escape(title)} · autoar</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


_STYLE = """
*{box-sizing:border-box}
body{margin:0;background:#f4f5f7;color:#1d2330;font:16px/1.5 system-ui,-apple-system,
"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
main{max-width:42rem;margin:0 auto;padding:1rem}
header{background:#fff;border-radius:8px;padding:1.25rem;border-top:5px solid #3b5bdb;
margin-bottom:1rem}
header.approved{border-top-color:#2b8a3e}
header.refused{border-top-color:#c92a2a}
.brand{margin:0;font-size:.8rem;letter-spacing:.08em;text-transform:uppercase;color:#5c667a}
h1{margin:.25rem 0;font-size:1.5rem}
h2{font-size:1rem;margin:0 0 .5rem}
.lead{margin:.25rem 0;font-size:1.1rem}
.muted{color:#5c667a;margin:0;font-size:.9rem}
dl,section,form{background:#fff;border-radius:8px;padding:1rem 1.25rem;margin:0 0 1rem}
dl{display:grid;grid-template-columns:minmax(7rem,auto) 1fr;gap:.4rem 1rem}
dt{color:#5c667a}
dd{margin:0;overflow-wrap:anywhere}
.text{white-space:pre-wrap;overflow-wrap:anywhere;margin:0}
.evidence{margin:0;padding-left:1.1rem}
.evidence li{margin-bottom:.6rem}
.evidence div{white-space:pre-wrap;overflow-wrap:anywhere}
label{display:block;font-weight:600;margin-bottom:.4rem}
textarea{width:100%;font:inherit;padding:.5rem;border:1px solid #c3c8d2;border-radius:6px}
.buttons{display:flex;gap:.75rem;margin-top:.75rem;flex-wrap:wrap}
button{flex:1 1 8rem;font:inherit;font-weight:600;padding:.75rem 1rem;border:0;
border-radius:6px;color:#fff;cursor:pointer}
.approve{background:#2b8a3e}
.reject{background:#c92a2a}
.note{font-size:.85rem;color:#5c667a;text-align:center}
@media (max-width:30rem){dl{grid-template-columns:1fr}dt{margin-top:.4rem}}
"""
