"""Bank files recognised by content, never by name, and their cheap facts read.

The samples are small files written for these tests; the integration tests upload them too.
"""

import codecs
from urllib.parse import quote_plus

import pytest

from events import load
from infra.manifest import INBOX
from shared.cash.formats import BankFileFormat, inspect
from shared.cash.intake import REMITTANCE_PREFIX
from shared.errors import InvalidInput
from shared.mail.inbound import MAIL_PREFIX
from shared.objects import created_objects

CAMT053 = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>AUTOAR-TEST-0001</MsgId><CreDtTm>2026-03-02T06:00:00Z</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-0302</Id>
      <Ntry><Amt Ccy="EUR">1200.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>
      <Ntry><Amt Ccy="EUR">80.50</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>
    </Stmt>
    <Stmt>
      <Id>STMT-0302-B</Id>
      <Ntry><Amt Ccy="EUR">15.00</Amt><CdtDbtInd>DBIT</CdtDbtInd></Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""

MT940 = b"""{1:F01TESTBANKXXXX0000000000}{2:O9400600260302TESTBANKXXXX00000000002603020600N}{4:
:20:AUTOAR0302
:25:TESTBANK/0001
:28C:1/1
:60F:C260301EUR1000,00
:61:2603020302C1200,00NTRFINV-1001//B1
:86:Payment INV-1001 Acme GmbH
:61:2603020302C80,50NTRFINV-1002//B2
:86:Payment INV-1002
:62F:C260302EUR2280,50
-}
"""

BAI2 = b"""01,TESTBANK,AUTOAR,260302,0600,0302001,,,2/
02,AUTOAR,TESTBANK,1,260301,2400,USD,2/
03,0001,USD,010,100000,,,015,220000,,/
16,175,120000,,REF1001,INV-1001/
16,175,50000,,REF1002,INV-1002/
49,490000,4/
98,490000,1,6/
99,490000,1,8/
"""


def nacha_record(*fields: str) -> str:
    record = "".join(fields)
    assert len(record) <= 94
    return record.ljust(94)


NACHA_RECORDS = [
    nacha_record(
        "101 091000019",
        "1234567890",
        "2603020600",
        "A094101",
        "TEST BANK".ljust(23),
        "AUTOAR INC".ljust(23),
    ),
    nacha_record("5220AUTOAR INC", " " * 26, "1234567890CCDPAYMENT   260302260302"),
    nacha_record("62209100001912345678       0000120000INV-1001       ACME GMBH"),
    nacha_record("62209100001912345678       0000005050INV-1002       ACME GMBH"),
    nacha_record("822000000200182000020000000000000000001250501234567890"),
    nacha_record("9000001000001000000020018200002000000000000000000125050"),
]
NACHA = ("\n".join(NACHA_RECORDS) + "\n").encode()

CSV = b"""Booking date,Amount,Currency,Payer,Reference
2026-03-02,1200.00,EUR,Acme GmbH,INV-1001
2026-03-02,80.50,EUR,Acme GmbH,"INV-1002, partial"
2026-03-02,15.00,EUR,Globex,INV-2001
"""

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n"

SAMPLES = {
    BankFileFormat.CAMT053: CAMT053,
    BankFileFormat.MT940: MT940,
    BankFileFormat.BAI2: BAI2,
    BankFileFormat.NACHA: NACHA,
    BankFileFormat.CSV: CSV,
    BankFileFormat.PDF: PDF,
}
"""One small file of each format inspect() recognises."""

EXPECTED = {
    BankFileFormat.CAMT053: ("AUTOAR-TEST-0001", 2, 3),
    BankFileFormat.MT940: ("AUTOAR0302", 1, 2),
    BankFileFormat.BAI2: ("0302001", 1, 2),
    BankFileFormat.NACHA: ("1234567890:2603020600A", 1, 2),
    BankFileFormat.CSV: (None, None, 3),
    BankFileFormat.PDF: (None, None, None),
}
"""File id, statements and entries of each sample."""


@pytest.mark.parametrize("expected_format", list(SAMPLES))
def test_each_format_is_recognised_with_its_cheap_facts(expected_format):
    facts = inspect(SAMPLES[expected_format])

    assert facts.format is expected_format
    assert (facts.file_id, facts.statements, facts.entries) == EXPECTED[expected_format]
    assert facts.detected_by


def test_line_endings_do_not_change_the_verdict():
    for content in (MT940, BAI2, NACHA, CSV):
        assert inspect(content.replace(b"\n", b"\r\n")) == inspect(content)


def test_a_nacha_file_written_without_line_breaks_is_recognised():
    facts = inspect("".join(NACHA_RECORDS).encode())

    assert (facts.format, facts.entries) == (BankFileFormat.NACHA, 2)


@pytest.mark.parametrize(
    ("content", "delimiter"),
    [(codecs.BOM_UTF8 + CSV, ","), (CSV.replace(b",", b";"), ";"), (CSV, ",")],
)
def test_csv_with_a_byte_order_mark_or_semicolons_is_recognised(content, delimiter):
    assert inspect(content).format is BankFileFormat.CSV


def test_a_utf16_spreadsheet_export_is_read_as_text():
    content = codecs.BOM_UTF16_LE + CSV.decode().replace(",", "\t").encode("utf-16-le")

    assert inspect(content).format is BankFileFormat.CSV


def test_a_large_file_seen_only_in_part_keeps_its_format_but_claims_no_counts():
    facts = inspect(MT940, complete=False)

    assert (facts.format, facts.statements, facts.entries) == (BankFileFormat.MT940, None, None)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"Dear AR team, we paid everything. Regards", "none of the known"),
        (b"Amount,Reference\n1200.00\n", "none of the known"),
        (b"2026-03-02,1200.00,INV-1\n2026-03-03,5.00,INV-2\n", "none of the known"),
        (b'<?xml version="1.0"?><Document xmlns="urn:other"><A/></Document>', "none of the known"),
        (CAMT053.replace(b"</Document>", b""), "not well-formed"),
        (
            CAMT053.replace(b"<Document", b'<!DOCTYPE d [<!ENTITY e "x">]>\n<Document'),
            "document type declaration",
        ),
    ],
)
def test_what_is_no_known_format_is_unknown_with_the_reason(content, reason):
    facts = inspect(content)

    assert facts.format is BankFileFormat.UNKNOWN
    assert reason in facts.detected_by


def test_the_file_name_plays_no_part_in_the_verdict():
    event = load("s3/remittance_created")
    (created,) = created_objects(event)

    assert created.key.endswith(".xml")
    assert inspect(MT940).format is BankFileFormat.MT940


def test_s3_event_keys_are_url_decoded():
    (created,) = created_objects(load("s3/remittance_created"))

    assert created.key == "inbox/remittance/camt statement 2026-03-02.xml"
    assert created.bucket == "autoar-inbox"
    assert created.etag == "d41d8cd98f00b204e9800998ecf8427e"


def test_keys_with_reserved_characters_round_trip_through_the_event():
    event = load("s3/remittance_created")
    key = "inbox/remittance/Zahlungsavis ÄÖÜ (2) + 100%.csv"
    event["Records"][0]["s3"]["object"]["key"] = quote_plus(key, safe="/")

    (created,) = created_objects(event)

    assert created.key == key


def test_the_s3_test_event_and_other_event_types_name_no_created_object():
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "autoar-inbox"}
    removed = load("s3/remittance_created")
    removed["Records"][0]["eventName"] = "ObjectRemoved:Delete"

    assert created_objects(test_event) == []
    assert created_objects(removed) == []


def test_an_event_that_is_not_an_s3_notification_is_refused():
    with pytest.raises(InvalidInput, match="not an S3 notification"):
        created_objects({"Records": [{"eventName": "ObjectCreated:Put"}]})


def test_the_library_prefixes_are_the_manifests():
    assert INBOX.remittance_prefix == REMITTANCE_PREFIX
    assert INBOX.mail_prefix == MAIL_PREFIX
