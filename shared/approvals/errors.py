"""Why an approval cannot be decided or moved on; the page and the API map each to a status."""

from __future__ import annotations

from shared.errors import Conflict, NotFound


class ApprovalNotFound(NotFound):
    def __init__(self, approval_id: str) -> None:
        super().__init__("approval", approval_id)
        self.approval_id = approval_id


class AlreadyDecided(Conflict):
    """The approval is no longer waiting for anyone: it was decided, expired or failed."""

    def __init__(self, approval_id: str, status: str) -> None:
        super().__init__(f"approval {approval_id} is {status}; it can no longer be decided")
        self.approval_id = approval_id
        self.status = status


class NotAwaitingApprover(Conflict):
    """The approval waits, but not for this person now: another approver's turn, not yet asked,
    or the time to decide has run out."""

    def __init__(self, approval_id: str, reason: str) -> None:
        super().__init__(f"approval {approval_id} {reason}")
        self.approval_id = approval_id
        self.reason = reason


class StaleTask(Conflict):
    """A Step Functions task for a step the approval has already left (a late redelivery)."""

    def __init__(self, approval_id: str, step: int, current: int) -> None:
        super().__init__(f"approval {approval_id} is at step {current}, not {step}")
        self.approval_id = approval_id
        self.step = step
        self.current = current
