"""autoar's one stack per company: storage, the integrator API, bank file and mail intake, and
the alarms watching them. Each capability is a construct of its own; a new one is added here and
registers with the alarms.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, Tags
from constructs import Construct

from infra.constructs.alarms import Alarms
from infra.constructs.api import IntegratorApi
from infra.constructs.intake import InboundMail, RemittanceInbox
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
        self.integrator_api = IntegratorApi(self, "IntegratorApi", storage=self.storage)
        self.remittance = RemittanceInbox(self, "Remittance", storage=self.storage)
        self.inbound_mail = InboundMail(
            self, "InboundMail", storage=self.storage, mail_domain=settings.mail_domain
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
