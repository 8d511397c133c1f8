"""Bank statements the demo's bank delivers: ISO 20022 CAMT.053, one per currency and day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.etree.ElementTree import Element, SubElement, tostring

CAMT053 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"

COMPANY_IBANS = {
    "EUR": "DE89370400440532013000",
    "USD": "GB33BUKB20201555555555",
    "GBP": "GB94BARC10201530093459",
    "CHF": "CH9300762011623852957",
}
"""Documentation example IBANs: valid in form, belonging to no real account."""


@dataclass(frozen=True)
class Credit:
    """One incoming payment as the bank reports it."""

    amount: Decimal
    debtor: str
    end_to_end_id: str
    remittance: str


def camt053_statement(currency: str, booked: date, credits: list[Credit], sequence: int) -> bytes:
    document = Element("Document", xmlns=CAMT053)
    statement_root = SubElement(document, "BkToCstmrStmt")
    header = SubElement(statement_root, "GrpHdr")
    _text(header, "MsgId", f"AUTOAR-DEMO-{booked:%Y%m%d}-{currency}-{sequence}")
    _text(header, "CreDtTm", f"{booked.isoformat()}T18:00:00")
    statement = SubElement(statement_root, "Stmt")
    _text(statement, "Id", f"STMT-{booked:%Y%m%d}-{currency}")
    _text(statement, "CreDtTm", f"{booked.isoformat()}T18:00:00")
    account = SubElement(SubElement(statement, "Acct"), "Id")
    _text(account, "IBAN", COMPANY_IBANS[currency])
    for credit in credits:
        _entry(statement, currency, booked, credit)
    xml: bytes = tostring(document, encoding="utf-8", xml_declaration=True)
    return xml


def _entry(statement: Element, currency: str, booked: date, credit: Credit) -> None:
    entry = SubElement(statement, "Ntry")
    amount = _text(entry, "Amt", str(credit.amount))
    amount.set("Ccy", currency)
    _text(entry, "CdtDbtInd", "CRDT")
    _text(entry, "Sts", "BOOK")
    _text(SubElement(entry, "BookgDt"), "Dt", booked.isoformat())
    _text(SubElement(entry, "ValDt"), "Dt", booked.isoformat())
    details = SubElement(SubElement(entry, "NtryDtls"), "TxDtls")
    _text(SubElement(details, "Refs"), "EndToEndId", credit.end_to_end_id)
    debtor = SubElement(SubElement(details, "RltdPties"), "Dbtr")
    _text(debtor, "Nm", credit.debtor)
    _text(SubElement(details, "RmtInf"), "Ustrd", credit.remittance)


def _text(parent: Element, tag: str, value: str) -> Element:
    element = SubElement(parent, tag)
    element.text = value
    return element
