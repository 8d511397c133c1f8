"""Recognising a bank file by its content, never its name, and reading its cheapest facts.

Banks and treasury systems name files as they like (`export(3).txt`, `statement.dat`), so the
format is judged from the bytes. Only facts that need no real parsing are read here: the file or
statement id, how many statements and entries it holds. Reading the entries themselves is the
parsers' work.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable
from enum import StrEnum
from xml.etree.ElementTree import ParseError, iterparse

from pydantic import BaseModel, ConfigDict

CAMT053_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053"
NACHA_RECORD_LENGTH = 94

_HEAD_BYTES = 64 * 1024
_NACHA_RECORD_TYPES = frozenset("156789")
_MT940_REFERENCE = re.compile(r"(?:^|\n|\{4:):20:([^\r\n]*)")
_MT940_BALANCE_OR_ENTRY = re.compile(r"(?:^|\n):(?:60[FM]|61):")
_MT940_ENTRY = re.compile(r"(?:^|\n):61:")
_CSV_DELIMITERS = ",;\t|"
_CSV_SAMPLE_ROWS = 20


class BankFileFormat(StrEnum):
    CAMT053 = "camt.053"
    MT940 = "mt940"
    BAI2 = "bai2"
    NACHA = "nacha"
    CSV = "csv"
    PDF = "pdf"
    UNKNOWN = "unknown"


class BankFileFacts(BaseModel):
    """What a first look at a file tells: its format, why, and the facts that came cheap.

    Counts are None when they were not read, for example because only the beginning of a very
    large file was inspected.
    """

    model_config = ConfigDict(frozen=True)

    format: BankFileFormat
    detected_by: str
    file_id: str | None = None
    statements: int | None = None
    entries: int | None = None


def inspect(content: bytes, complete: bool = True) -> BankFileFacts:
    """The format of a file from its bytes; `complete` says whether `content` is all of it."""
    if not content.strip():
        return BankFileFacts(format=BankFileFormat.UNKNOWN, detected_by="the file is empty")
    if b"%PDF-" in content[:1024]:
        return BankFileFacts(format=BankFileFormat.PDF, detected_by="starts with a PDF header")
    text = _text(content)
    if text is None:
        return BankFileFacts(
            format=BankFileFormat.UNKNOWN, detected_by="binary content that is not a PDF"
        )
    for read in _TEXT_FORMATS:
        facts = read(content, text, complete)
        if facts is not None:
            return facts
    return BankFileFacts(
        format=BankFileFormat.UNKNOWN, detected_by="text in none of the known bank formats"
    )


def _text(content: bytes) -> str | None:
    """The content as text, honouring a byte-order mark; None when it looks binary."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le")):
        if content.startswith(bom):
            return content[len(bom) :].decode(encoding, "replace").replace("\r\n", "\n")
    if content.startswith(codecs.BOM_UTF16_BE):
        return content[2:].decode("utf-16-be", "replace").replace("\r\n", "\n")
    if b"\x00" in content[:_HEAD_BYTES]:
        return None
    return content.decode("utf-8", "replace").replace("\r\n", "\n")


def _camt053(content: bytes, text: str, complete: bool) -> BankFileFacts | None:
    head = text[:_HEAD_BYTES]
    if not head.lstrip().startswith("<") or CAMT053_NAMESPACE not in head:
        return None
    if "<!doctype" in head.lower():
        # A document type declaration can define entities; statements never carry one.
        return BankFileFacts(
            format=BankFileFormat.UNKNOWN,
            detected_by="XML in the camt.053 namespace with a document type declaration, not read",
        )
    found = "XML in the ISO 20022 camt.053 namespace"
    if not complete:
        return BankFileFacts(format=BankFileFormat.CAMT053, detected_by=found)
    try:
        message_id, statements, entries = _camt_counts(content)
    except (ParseError, ValueError) as error:
        return BankFileFacts(
            format=BankFileFormat.UNKNOWN,
            detected_by=f"XML in the camt.053 namespace that is not well-formed ({error})",
        )
    return BankFileFacts(
        format=BankFileFormat.CAMT053,
        detected_by=found,
        file_id=message_id,
        statements=statements,
        entries=entries,
    )


def _camt_counts(content: bytes) -> tuple[str | None, int, int]:
    """The group header's message id and how many statements and entries the document has."""
    message_id: str | None = None
    statements = entries = 0
    path: list[str] = []
    for event, element in iterparse(io.BytesIO(content), events=("start", "end")):
        name = element.tag.rpartition("}")[2]
        if event == "start":
            path.append(name)
            continue
        if name == "Stmt":
            statements += 1
        elif name == "Ntry":
            entries += 1
        elif path[-2:] == ["GrpHdr", "MsgId"] and message_id is None:
            message_id = (element.text or "").strip() or None
        path.pop()
    return message_id, statements, entries


def _nacha(content: bytes, text: str, complete: bool) -> BankFileFacts | None:
    records = _nacha_records(text)
    if not records:
        return None
    header = records[0]
    file_id = f"{header[13:23].strip()}:{header[23:33]}{header[33]}"
    counts = {kind: sum(1 for r in records if r[0] == kind) for kind in "56"}
    return BankFileFacts(
        format=BankFileFormat.NACHA,
        detected_by="94-character records opening with a NACHA file header (record type 1)",
        file_id=file_id,
        statements=counts["5"] if complete else None,
        entries=counts["6"] if complete else None,
    )


def _nacha_records(text: str) -> list[str] | None:
    lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) == 1 and len(lines[0]) % NACHA_RECORD_LENGTH == 0:
        # Some systems write NACHA files as one unbroken run of records.
        run = lines[0]
        lines = [run[i : i + NACHA_RECORD_LENGTH] for i in range(0, len(run), NACHA_RECORD_LENGTH)]
    header = lines[0] if lines else ""
    if len(header.rstrip("\r")) != NACHA_RECORD_LENGTH or not header.startswith("101"):
        return None
    if any(line[0] not in _NACHA_RECORD_TYPES for line in lines):
        return None
    return lines


def _bai2(content: bytes, text: str, complete: bool) -> BankFileFacts | None:
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if not lines or not lines[0].startswith("01,"):
        return None
    fields = [field.strip() for field in lines[0].rstrip("/").split(",")]
    return BankFileFacts(
        format=BankFileFormat.BAI2,
        detected_by="comma-separated records opening with a BAI2 file header (01)",
        file_id=(fields[5] or None) if len(fields) > 5 else None,
        statements=sum(1 for line in lines if line.startswith("03,")) if complete else None,
        entries=sum(1 for line in lines if line.startswith("16,")) if complete else None,
    )


def _mt940(content: bytes, text: str, complete: bool) -> BankFileFacts | None:
    references = _MT940_REFERENCE.findall(text)
    if not references or not _MT940_BALANCE_OR_ENTRY.search(text):
        return None
    return BankFileFacts(
        format=BankFileFormat.MT940,
        detected_by="SWIFT MT940 tags: a :20: reference with :60F:/:60M: balances or :61: lines",
        file_id=references[0].strip() or None,
        statements=len(references) if complete else None,
        entries=len(_MT940_ENTRY.findall(text)) if complete else None,
    )


def _csv(content: bytes, text: str, complete: bool) -> BankFileFacts | None:
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return None
    delimiter = max(_CSV_DELIMITERS, key=lines[0].count)
    if lines[0].count(delimiter) == 0:
        return None
    rows = list(csv.reader(lines[: _CSV_SAMPLE_ROWS + 1], delimiter=delimiter))
    header = [cell.strip() for cell in rows[0]]
    if not all(re.search(r"[^\W\d_]", cell) for cell in header):
        return None
    if len(rows) < 2 or any(len(row) != len(header) for row in rows[1:]):
        return None
    return BankFileFacts(
        format=BankFileFormat.CSV,
        detected_by=f"a header row of {len(header)} named columns and rows that match it",
        entries=len(list(csv.reader(lines[1:], delimiter=delimiter))) if complete else None,
    )


_TEXT_FORMATS: tuple[Callable[[bytes, str, bool], BankFileFacts | None], ...] = (
    _camt053,
    _nacha,
    _bai2,
    _mt940,
    _csv,
)
"""Most distinctive first: a BAI2 or NACHA file would also pass for a loose CSV."""
