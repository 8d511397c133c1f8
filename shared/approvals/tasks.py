"""The payloads the approval state machine hands its tasks, read into models.

The task token is held as a secret string: it prints as asterisks in a log line, a repr or an
error, and only `get_secret_value()` reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from shared.approvals.execution import Reported
from shared.errors import InvalidInput

TaskT = TypeVar("TaskT", bound=BaseModel)


class Task(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    approval_id: str = Field(min_length=1, max_length=80)


class AskTask(Task):
    """RequestApproval: keep the token the execution now waits on, and ask the approver."""

    task_token: SecretStr = Field(min_length=1)
    step: int = Field(ge=0)


class EscalateTask(Task):
    """Escalate: the approver asked at `step` let the deadline pass."""

    escalate: Literal[True]
    step: int = Field(ge=0)


class TaskDecision(BaseModel):
    """The decision as the approval page sent it to the execution."""

    outcome: str
    approver: str | None = None
    comment: str | None = None


class CloseTask(Task):
    """Execute, RecordRejection, Expire or RecordFailure: close the approval."""

    outcome: Reported
    decision: TaskDecision | None = None
    error: dict[str, Any] | None = Field(
        default=None, description="Step Functions' caught error: Error and Cause"
    )


def approval_task(event: Mapping[str, Any]) -> AskTask | EscalateTask:
    """The approval_request function's payload: an ask, or an escalation."""
    if event.get("escalate") is not None:
        return _parse(EscalateTask, event)
    return _parse(AskTask, event)


def close_task(event: Mapping[str, Any]) -> CloseTask:
    return _parse(CloseTask, event)


def _parse(model: type[TaskT], event: Mapping[str, Any]) -> TaskT:
    try:
        return model.model_validate(event)
    except ValidationError as error:
        # Field names and reasons only: the payload carries a task token.
        problem = error.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in problem["loc"]) or "payload"
        raise InvalidInput(where, str(problem["msg"])) from None
