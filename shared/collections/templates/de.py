"""German outreach wording (Sie-Form, as business correspondence expects)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared.collections.templates.wording import Headings, Language, Message, grouped


def _amount(amount: Decimal, currency: str) -> str:
    return f"{grouped(amount, '.', ',')} {currency}"


def _date(day: date) -> str:
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


def _overdue(days: int) -> str:
    if days > 0:
        return "1 Tag" if days == 1 else f"{days} Tage"
    return "heute fällig" if days == 0 else "noch nicht fällig"


LANGUAGE = Language(
    code="de",
    messages={
        "courtesy": Message(
            subject="Bald fällige Rechnungen - $account_name",
            greeting="Guten Tag $contact_name,",
            paragraphs=(
                "eine kurze Notiz vor dem Fälligkeitstermin: Die folgenden Rechnungen für "
                "$account_name werden in Kürze fällig. Ist die Zahlung bereits veranlasst, "
                "vielen Dank - dann ist nichts weiter zu tun.",
            ),
        ),
        "friendly": Message(
            subject="Zahlungserinnerung - $account_name",
            greeting="Guten Tag $contact_name,",
            paragraphs=(
                "laut unseren Unterlagen sind die folgenden Rechnungen für $account_name über "
                "das Fälligkeitsdatum hinaus offen. Könnten Sie die Zahlung veranlassen oder "
                "uns mitteilen, wann wir damit rechnen können?",
            ),
        ),
        "firm": Message(
            subject="Überfällige Rechnungen - $account_name",
            greeting="Guten Tag $contact_name,",
            paragraphs=(
                "trotz unserer Erinnerungen sind die folgenden Rechnungen für $account_name "
                "weiterhin offen. Bitte überweisen Sie den Betrag von $total umgehend.",
            ),
            pay_by="Bitte sorgen Sie dafür, dass die Zahlung bis zum $pay_by bei uns eingeht.",
        ),
        "final_notice": Message(
            subject="Letzte Mahnung: überfällige Rechnungen - $account_name",
            greeting="Guten Tag $contact_name,",
            paragraphs=(
                "dies ist unsere letzte Mahnung. Die folgenden Rechnungen für $account_name "
                "sind deutlich überfällig; offen sind noch $total.",
            ),
            pay_by="Sollten bis zum $pay_by weder Ihre Zahlung noch eine Nachricht von Ihnen "
            "eingehen, übergeben wir die Angelegenheit an die nächste Stufe des "
            "Forderungsmanagements.",
        ),
        "statement": Message(
            subject="Kontoauszug - $account_name",
            greeting="Guten Tag $contact_name,",
            paragraphs=(
                "nachstehend finden Sie die offenen Posten des Kontos von $account_name bei "
                "uns zum $as_of.",
            ),
        ),
        "payment_plan": Message(
            subject="Ratenzahlung für Ihren offenen Saldo - $account_name",
            greeting="Guten Tag $contact_name,",
            paragraphs=(
                "uns ist bewusst, dass es schwierig sein kann, $total auf einmal zu begleichen. "
                "Für die Rechnungen $invoice_numbers haben wir deshalb eine Ratenzahlung "
                "eingerichtet: Zahlen Sie die folgenden Raten zu den genannten Terminen, dann "
                "mahnen wir diese Rechnungen nicht, solange der Plan eingehalten wird.",
                "Passen die Termine nicht, antworten Sie bitte auf diese E-Mail; wir vereinbaren "
                "dann gemeinsam andere.",
            ),
        ),
    },
    headings=Headings(
        number="Rechnung",
        due_date="Fällig am",
        amount="Betrag",
        overdue="Tage überfällig",
        instalment_due="Rate fällig am",
        total="Offen gesamt",
    ),
    reply="Falls Sie bereits gezahlt haben oder Ihnen etwas nicht stimmig erscheint, antworten "
    "Sie einfach auf diese E-Mail; Ihre Antwort erreicht uns direkt.",
    closing="Mit freundlichen Grüßen",
    format_amount=_amount,
    format_date=_date,
    overdue=_overdue,
)
