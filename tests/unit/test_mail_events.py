"""SES receipt events read into arrivals: the message id names the stored object, safely."""

import pytest

from events import load
from shared.errors import InvalidInput
from shared.mail.models import Verdicts
from shared.mail.ses import arrivals


def test_the_sample_receipt_event_is_one_arrival_with_its_recipients_and_verdicts():
    (arrival,) = arrivals(load("ses/reply"))

    assert arrival.ses_message_id == "k5r0v2c9q8m1n3b7d4f6g8h0j2l4p6s8t0w2y4a6"
    assert arrival.recipients == ["ar@billing.example.com"]
    assert arrival.verdicts == Verdicts(
        spam="PASS", virus="PASS", spf="PASS", dkim="PASS", dmarc="PASS"
    )


def test_envelope_recipients_are_compared_in_lower_case():
    event = load("ses/reply")
    event["Records"][0]["ses"]["receipt"]["recipients"] = ["AR+ACME.X@Billing.Example.com"]

    (arrival,) = arrivals(event)

    assert arrival.recipients == ["ar+acme.x@billing.example.com"]


@pytest.mark.parametrize("message_id", ["../remittance/statement.xml", "a/b", "", ".hidden"])
def test_a_message_id_that_could_name_another_object_is_refused(message_id):
    event = load("ses/reply")
    event["Records"][0]["ses"]["mail"]["messageId"] = message_id

    with pytest.raises(InvalidInput) as refused:
        arrivals(event)

    assert refused.value.field == "ses.mail.messageId"


@pytest.mark.parametrize(
    "event",
    [{}, {"Records": []}, {"Records": [{"eventSource": "aws:s3", "ses": {}}]}],
)
def test_an_event_that_is_not_an_ses_receipt_is_refused_naming_the_problem(event):
    with pytest.raises(InvalidInput, match="not an SES receipt event"):
        arrivals(event)
