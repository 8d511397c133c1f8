"""What a click on an approval link may do: check the link, then show or decide the request.

The signature is the only authentication: a link names the approval, its approver and its
expiry, and any change to them is refused before anything is read. Showing a request reads it
and nothing else, because mail scanners open links; only the page's form, carrying a token bound
to the same link, can decide, and the gate decides each request once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol
from urllib.parse import parse_qs

from functions.approvals.pages import OpenedApproval
from shared.approvals import links
from shared.approvals.errors import AlreadyDecided, NotAwaitingApprover
from shared.approvals.links import SignedLink
from shared.approvals.models import ApprovalRequest, ApprovalStatus, Decision
from shared.approvals.service import MAX_COMMENT_LENGTH
from shared.clock import Clock
from shared.errors import AutoarError, Conflict, InvalidInput

DECIDED_VIA = "link"
"""Where a decision taken here is recorded as taken (ApprovalRequest.decided_via)."""

_MAX_FORM_FIELDS = 16


class Gate(Protocol):
    """The part of the approval gate (shared.approvals.service.ApprovalGate) the page needs."""

    def get(self, approval_id: str) -> ApprovalRequest: ...

    def decide(
        self, approval_id: str, approver: str, decision: Decision, comment: str | None, via: str
    ) -> ApprovalRequest: ...


class LinkNotValid(AutoarError):
    """The link is incomplete, or its signature does not cover what it names."""


class LinkExpired(AutoarError):
    """The link was genuine but its time is up."""


class FormNotValid(AutoarError):
    """A decision arrived without the token of a page served for its link."""


class ApprovalClosed(Conflict):
    """The request is no longer pending (decided, expired or failed), as it now stands."""

    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__(f"approval {request.approval_id} is {request.status.value}")
        self.request = request


class NotYourTurn(Conflict):
    """The request is pending, but not for the link's approver now, as it now stands."""

    def __init__(self, request: ApprovalRequest, approver: str) -> None:
        super().__init__(f"approval {request.approval_id} is not waiting for this approver")
        self.request = request
        self.approver = approver


class ApprovalDesk:
    def __init__(self, gate: Gate, key: bytes, clock: Clock) -> None:
        self._gate = gate
        self._key = key
        self._clock = clock

    def open(self, approval_id: str, query: Mapping[str, str]) -> OpenedApproval:
        """The request behind a genuine, current link, with the token its form must carry."""
        link, signature = self._genuine_link(approval_id, query)
        request = self._gate.get(approval_id)
        self._refuse_unless_awaiting(request, link.approver)
        return OpenedApproval(request, link, signature, links.csrf_token(link, self._key))

    def decide(self, approval_id: str, form: Mapping[str, str]) -> ApprovalRequest:
        """Record the decision the form carries; the gate refuses a second one."""
        link, _ = self._genuine_link(approval_id, form)
        if not links.valid_csrf(link, _ascii(form.get("csrf")), self._key):
            raise FormNotValid("the form token is missing or does not belong to this link")
        decision = _decision(form)
        comment = _comment(form)
        try:
            return self._gate.decide(approval_id, link.approver, decision, comment, DECIDED_VIA)
        except AlreadyDecided:
            # Shown as it stands now: who decided it and when, or how it closed.
            raise ApprovalClosed(self._gate.get(approval_id)) from None
        except NotAwaitingApprover:
            raise NotYourTurn(self._gate.get(approval_id), link.approver) from None

    def _refuse_unless_awaiting(self, request: ApprovalRequest, approver: str) -> None:
        """Refuse to show a form the gate would refuse to act on (see ApprovalGate.decide)."""
        if request.status is not ApprovalStatus.PENDING:
            raise ApprovalClosed(request)
        asked = request.current_approver == approver.strip().lower()
        if not asked or request.expires_at is None or self._clock.now() >= request.expires_at:
            raise NotYourTurn(request, approver)

    def _genuine_link(self, approval_id: str, fields: Mapping[str, str]) -> tuple[SignedLink, str]:
        approver, expires, signature = (fields.get(name) for name in ("approver", "expires", "sig"))
        if not approver or not expires or not signature:
            raise LinkNotValid("the link is incomplete")
        if not expires.isascii() or not expires.isdigit():
            raise LinkNotValid("the link's expiry is not a time")
        if not _printable(approval_id, approver):
            # The signed message joins its fields with newlines; no field may hold one.
            raise LinkNotValid("the link holds characters no approval or address has")
        link = SignedLink(approval_id, approver, int(expires))
        if not links.valid(link, _ascii(signature), self._key):
            raise LinkNotValid("the signature does not match the link")
        if link.expired(self._clock.now()):
            raise LinkExpired("the link has expired")
        return link, signature


def form_fields(body: str | None, content_type: str | None) -> dict[str, str]:
    """The fields of a URL-encoded form, each sent at most once."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise InvalidInput("body", "must be a form sent as application/x-www-form-urlencoded")
    try:
        parsed = parse_qs(body or "", keep_blank_values=True, max_num_fields=_MAX_FORM_FIELDS)
    except ValueError:
        raise InvalidInput("body", f"has more than {_MAX_FORM_FIELDS} fields") from None
    repeated = sorted(name for name, values in parsed.items() if len(values) > 1)
    if repeated:
        raise InvalidInput(repeated[0], "was sent more than once")
    return {name: values[0] for name, values in parsed.items()}


def _decision(form: Mapping[str, str]) -> Decision:
    try:
        return Decision(form.get("decision", ""))
    except ValueError:
        choices = " or ".join(decision.value for decision in Decision)
        raise InvalidInput("decision", f"must be {choices}") from None


def _comment(form: Mapping[str, str]) -> str | None:
    comment = form.get("comment", "").strip()
    if len(comment) > MAX_COMMENT_LENGTH:
        raise InvalidInput("comment", f"must be at most {MAX_COMMENT_LENGTH} characters")
    return comment or None


def _printable(*fields: str) -> bool:
    return all(field.isprintable() and not any(c.isspace() for c in field) for field in fields)


def _ascii(value: str | None) -> str:
    """hmac.compare_digest refuses non-ASCII text with a TypeError; such a value never matches."""
    return value if value and value.isascii() else ""
