"""remittance on moto: every bank file is stored once by content, recognised and audited."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote_plus

import pytest

from events import load
from functions.remittance.handler import lambda_handler
from shared.audit.models import SYSTEM_CHAIN
from shared.cash.formats import BankFileFormat
from shared.cash.store import BankFileStore
from shared.dynamodb import scan_all
from shared.errors import InvalidInput, NotFound
from tests.unit.test_bank_files import EXPECTED, MT940, SAMPLES

NO_METRICS_ON_FAILURE = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@dataclass
class FakeContext:
    function_name: str = "remittance"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:remittance"
    aws_request_id: str = "c0ffee00-0000-4000-8000-000000000002"


@pytest.fixture
def bank_files(services):
    return BankFileStore(services.dynamodb, services.settings.ledger_table)


def upload(services, key: str, content: bytes | None) -> dict[str, Any]:
    """Put a file in the inbox, if given, and build the notification S3 sends for it."""
    event = load("s3/remittance_created")
    record = event["Records"][0]["s3"]
    record["bucket"]["name"] = services.settings.inbox_bucket
    record["object"]["key"] = quote_plus(key, safe="/")
    if content is not None:
        response = services.s3.put_object(
            Bucket=services.settings.inbox_bucket, Key=key, Body=content
        )
        record["object"]["size"] = len(content)
        record["object"]["eTag"] = response["ETag"].strip('"')
        if "VersionId" in response:
            record["object"]["versionId"] = response["VersionId"]
    return event


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def bank_file_events(services, action: str = "bank_file.received"):
    return [e for e in services.audit.events(SYSTEM_CHAIN) if e.action == action]


def ledger_items(services) -> list[dict[str, Any]]:
    return list(scan_all(services.dynamodb, TableName=services.settings.ledger_table))


@pytest.mark.parametrize("expected_format", list(SAMPLES))
def test_a_bank_file_of_each_format_is_recognised_stored_and_audited(
    services, bank_files, clock, expected_format
):
    content = SAMPLES[expected_format]
    key = f"inbox/remittance/upload-{expected_format.value}.dat"

    response = lambda_handler(upload(services, key, content), FakeContext())

    assert response["files"][0]["status"] == "recorded"
    stored = bank_files.bank_file(sha256(content))
    assert stored is not None
    assert (stored.format, stored.status, stored.key) == (expected_format, "received", key)
    assert (stored.size, stored.received_at) == (len(content), clock.now())
    assert (stored.file_id, stored.statements, stored.entries) == EXPECTED[expected_format]
    (audited,) = bank_file_events(services)
    assert audited.actor.id == "remittance"
    assert audited.inputs["sha256"] == sha256(content)
    assert audited.inputs["format"] == expected_format.value
    assert audited.rationale.startswith("format judged by content")
    assert services.audit.verify().intact


def test_a_url_encoded_key_with_spaces_is_read_under_its_real_name(services, bank_files):
    key = "inbox/remittance/camt statement 2026-03-02.xml"
    event = upload(services, key, SAMPLES[BankFileFormat.CAMT053])
    assert event["Records"][0]["s3"]["object"]["key"].endswith("camt+statement+2026-03-02.xml")

    lambda_handler(event, FakeContext())

    stored = bank_files.bank_file(sha256(SAMPLES[BankFileFormat.CAMT053]))
    assert stored is not None
    assert stored.key == key


def test_the_sample_event_key_is_decoded_before_it_is_read(services, bank_files):
    services.s3.put_object(
        Bucket=services.settings.inbox_bucket,
        Key="inbox/remittance/camt statement 2026-03-02.xml",
        Body=SAMPLES[BankFileFormat.CAMT053],
    )
    event = load("s3/remittance_created")

    response = lambda_handler(event, FakeContext())

    assert response["files"][0]["format"] == "camt.053"


def test_the_same_content_uploaded_again_is_recognised_as_a_duplicate_not_stored_twice(
    services, bank_files, clock
):
    lambda_handler(upload(services, "inbox/remittance/mt940-a.sta", MT940), FakeContext())
    clock.advance(timedelta(hours=2))

    response = lambda_handler(
        upload(services, "inbox/remittance/mt940-again.txt", MT940), FakeContext()
    )

    assert response["files"][0]["status"] == "duplicate"
    assert response["files"][0]["first_key"] == "inbox/remittance/mt940-a.sta"
    files = [item for item in ledger_items(services) if item["SK"] == "FILE"]
    assert len(files) == 1
    uploads = bank_files.uploads(sha256(MT940))
    assert sorted((u.key, u.duplicate) for u in uploads) == [
        ("inbox/remittance/mt940-a.sta", False),
        ("inbox/remittance/mt940-again.txt", True),
    ]
    (duplicate,) = bank_file_events(services, "bank_file.duplicate")
    assert duplicate.inputs["first_key"] == "inbox/remittance/mt940-a.sta"
    assert duplicate.outcome == "ignored"
    assert len(bank_file_events(services)) == 1


def test_the_same_event_twice_changes_nothing_the_second_time(services, bank_files):
    event = upload(services, "inbox/remittance/mt940.sta", MT940)
    lambda_handler(event, FakeContext())
    before = (ledger_items(services), services.audit.verify().events)

    again = lambda_handler(event, FakeContext())

    assert again["files"][0]["status"] == "already_recorded"
    assert (ledger_items(services), services.audit.verify().events) == before


def test_a_duplicate_notice_delivered_twice_is_audited_once(services):
    lambda_handler(upload(services, "inbox/remittance/a.sta", MT940), FakeContext())
    duplicate = upload(services, "inbox/remittance/b.sta", MT940)

    lambda_handler(duplicate, FakeContext())
    again = lambda_handler(duplicate, FakeContext())

    assert again["files"][0]["status"] == "already_recorded"
    assert len(bank_file_events(services, "bank_file.duplicate")) == 1


def test_in_a_versioned_bucket_a_new_version_with_the_same_content_is_a_duplicate(
    services, bank_files
):
    services.s3.put_bucket_versioning(
        Bucket=services.settings.inbox_bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    key = "inbox/remittance/daily.sta"
    first = upload(services, key, MT940)
    lambda_handler(first, FakeContext())

    second = upload(services, key, MT940)
    statuses = [
        lambda_handler(event, FakeContext())["files"][0]["status"]
        for event in (second, first, second)
    ]

    assert statuses == ["duplicate", "already_recorded", "already_recorded"]
    assert all(u.version_id for u in bank_files.uploads(sha256(MT940)))
    assert len(bank_files.uploads(sha256(MT940))) == 2


def test_a_file_in_no_known_format_is_stored_as_unrecognised_and_audited(services, bank_files):
    content = b"Dear AR team,\nplease find our payment run attached.\n"

    response = lambda_handler(upload(services, "inbox/remittance/note.txt", content), FakeContext())

    assert response["files"][0]["status"] == "recorded"
    stored = bank_files.bank_file(sha256(content))
    assert stored is not None
    assert (stored.format, stored.status) == ("unknown", "unrecognised")
    (audited,) = bank_file_events(services)
    assert audited.outcome == "stored as unrecognised for the finance team"


@NO_METRICS_ON_FAILURE
def test_a_missing_object_is_a_clear_error_and_nothing_is_written(services):
    before = (ledger_items(services), services.audit.verify().events)

    with pytest.raises(NotFound, match=r"inbox/remittance/gone\.xml"):
        lambda_handler(upload(services, "inbox/remittance/gone.xml", None), FakeContext())

    assert (ledger_items(services), services.audit.verify().events) == before


@NO_METRICS_ON_FAILURE
def test_an_object_outside_the_remittance_prefix_is_refused(services):
    with pytest.raises(InvalidInput) as refused:
        lambda_handler(upload(services, "inbox/mail/abc", b"From: x@y.example\r\n"), FakeContext())

    assert refused.value.field == "key"
    assert ledger_items(services) == []


def test_a_folder_placeholder_is_skipped(services):
    response = lambda_handler(upload(services, "inbox/remittance/2026/", b""), FakeContext())

    assert response["files"][0]["status"] == "skipped"
    assert ledger_items(services) == []


def test_the_metric_counts_new_bank_files_and_logs_hold_no_key(services, capsys, caplog):
    event = upload(services, "inbox/remittance/DE00123456789 statement.sta", MT940)

    lambda_handler(event, FakeContext())
    lambda_handler(event, FakeContext())

    metrics = [line for line in capsys.readouterr().out.splitlines() if "CloudWatch" in line]
    assert ['"bank_files_received":[1.0]' in line for line in metrics] == [True, False]
    logged = " ".join(str(vars(record)) for record in caplog.records)
    assert "mt940" in logged
    assert "DE00123456789" not in logged


def test_two_uploads_of_one_content_racing_to_be_first_store_it_once(
    services, bank_files, monkeypatch
):
    lambda_handler(upload(services, "inbox/remittance/a.sta", MT940), FakeContext())
    seen = BankFileStore.bank_file
    lookups: list[str] = []

    def not_seen_at_first(self, sha):
        lookups.append(sha)
        return None if len(lookups) == 1 else seen(self, sha)

    monkeypatch.setattr(BankFileStore, "bank_file", not_seen_at_first)

    response = lambda_handler(upload(services, "inbox/remittance/b.sta", MT940), FakeContext())

    assert response["files"][0]["status"] == "duplicate"
    assert [item["SK"] for item in ledger_items(services)].count("FILE") == 1
    assert len(bank_file_events(services)) == 1
    assert len(bank_file_events(services, "bank_file.duplicate")) == 1


def test_a_file_too_large_to_inspect_whole_is_hashed_whole_and_claims_no_counts(
    services, bank_files, monkeypatch
):
    monkeypatch.setattr("shared.cash.intake.MAX_INSPECTED_BYTES", 200)

    lambda_handler(upload(services, "inbox/remittance/big.sta", MT940), FakeContext())

    stored = bank_files.bank_file(sha256(MT940))
    assert stored is not None
    assert (stored.format, stored.size) == (BankFileFormat.MT940, len(MT940))
    assert (stored.statements, stored.entries) == (None, None)
