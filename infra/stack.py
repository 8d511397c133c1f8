"""autoar's one stack per company: storage, the policy, the integrator API, bank file and mail
intake, approval gates, the collections loop and the mail it sends, and the alarms watching them.
Each capability is a construct of its own; a new one is added here and registers with the alarms.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, Tags
from constructs import Construct

from infra.constructs.alarms import Alarms
from infra.constructs.api import IntegratorApi
from infra.constructs.approvals import ApprovalGates
from infra.constructs.collections import DECIDE_BACKLOG_ALARM, CollectionsLoop
from infra.constructs.intake import InboundMail, RemittanceInbox
from infra.constructs.outbound_mail import OutboundMail
from infra.constructs.policy import PolicyConfig
from infra.constructs.storage import Storage
from infra.settings import DeploySettings


class AutoarStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: DeploySettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        Tags.of(self).add("application", "autoar")

        self.storage = Storage(self, "Storage")
        self.alarms = Alarms(self, "Alarms", email=settings.alarm_email)
        self.policy = PolicyConfig(self, "Policy", approver_emails=settings.approver_emails)
        self.integrator_api = IntegratorApi(self, "IntegratorApi", storage=self.storage)
        self.remittance = RemittanceInbox(self, "Remittance", storage=self.storage)
        self.inbound_mail = InboundMail(
            self, "InboundMail", storage=self.storage, mail_domain=settings.mail_domain
        )

        self.approvals = ApprovalGates(
            self,
            "Approvals",
            storage=self.storage,
            policy=self.policy,
            sender_address=settings.sender_address,
            api_account_logging=self.integrator_api.account_logging,
        )
        # Write-offs above the policy's threshold wait for a person.
        self.approvals.allow_requests_from(self.integrator_api.handler.function)

        self.outbound_mail = OutboundMail(
            self,
            "OutboundMail",
            storage=self.storage,
            sender_address=settings.sender_address,
            sender_name=settings.sender_name,
            mail_domain=settings.mail_domain,
        )
        self.collections = CollectionsLoop(
            self,
            "Collections",
            storage=self.storage,
            approvals=self.approvals,
            outbound_mail=self.outbound_mail,
            sweep_schedule=settings.sweep_schedule,
        )

        self.alarms.watch_table(self.storage.ledger, "Ledger")
        self.alarms.watch_function(self.integrator_api.handler.function, "Api")
        self.alarms.watch_rest_api(self.integrator_api.rest_api, "IntegratorApi")
        self.alarms.watch_function(self.remittance.handler.function, "Remittance")
        self.alarms.watch_dead_letter_queue(
            self.remittance.failed_events.queue, "RemittanceFailedEvents"
        )
        self.alarms.watch_function(self.inbound_mail.handler.function, "InboundMail")
        self.alarms.watch_dead_letter_queue(
            self.inbound_mail.failed_events.queue, "InboundMailFailedEvents"
        )
        self.alarms.watch_function(self.approvals.page.function, "ApprovalPage")
        self.alarms.watch_rest_api(self.approvals.rest_api, "ApprovalsApi")
        self.alarms.watch_function(self.approvals.request_task.function, "ApprovalRequest")
        self.alarms.watch_function(self.approvals.execute_task.function, "ApprovalExecute")
        self.alarms.watch_state_machine(self.approvals.state_machine, "Approval")
        self.alarms.watch_function(self.collections.sweep.function, "Sweep")
        self.alarms.watch_function(self.collections.decide.function, "Decide")
        self.alarms.watch_queue_age(
            self.collections.queue, "DecideQueue", older_than=DECIDE_BACKLOG_ALARM
        )
        self.alarms.watch_dead_letter_queue(self.collections.dead_letters, "DecideQueueDeadLetters")
        self.alarms.watch_function(self.outbound_mail.handler.function, "MailEvents")
        self.alarms.watch_dead_letter_queue(self.outbound_mail.undelivered, "MailEventsUndelivered")
        self.alarms.watch_dead_letter_queue(
            self.outbound_mail.failed_events.queue, "MailEventsFailedEvents"
        )
