"""How many accounts per second the collections decision core decides, over 10,000 accounts.

Builds varied synthetic ledgers in memory (segments, aging, disputes, promises, plans, touches,
contacts across time zones), then times state building, and candidates plus choice.

    .venv/bin/python -m tests.benchmarks.bench_decide [accounts]
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from shared.collections.candidates import build_candidates
from shared.collections.choose import RulesReasoner
from shared.collections.state import AccountState, Signals, build_state
from shared.ledger.models import (
    Account,
    AccountStatus,
    Case,
    CaseKind,
    Contact,
    Instalment,
    Invoice,
    Payment,
    Touch,
)
from shared.ledger.store import AccountRecords
from shared.policy.models import Policy
from tests.collections_factories import example_policy

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
ZONES = ("Europe/Berlin", "Europe/London", "America/New_York", "Asia/Singapore", "UTC")
SEGMENTS = ("standard", "standard", "high_risk", "strategic")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    policy = example_policy()
    reasoner = RulesReasoner()
    ledgers = [synthetic_account(random.Random(seed), seed) for seed in range(count)]

    started = time.perf_counter()
    states = [build_state(records, NOW, policy, Signals()) for records in ledgers]
    state_seconds = time.perf_counter() - started

    started = time.perf_counter()
    chosen = Counter(decide(state, policy, reasoner) for state in states)
    decide_seconds = time.perf_counter() - started

    invoices = sum(len(records.invoices) for records in ledgers)
    print(f"accounts: {count:,}  invoices: {invoices:,}")
    print(f"state built:           {count / state_seconds:>10,.0f} accounts/s")
    print(f"candidates + choose:   {count / decide_seconds:>10,.0f} decisions/s")
    total = state_seconds + decide_seconds
    print(f"state + decide:        {count / total:>10,.0f} decisions/s ({total:.2f} s)")
    print("chosen:", ", ".join(f"{kind} {n:,}" for kind, n in chosen.most_common()))


def decide(state: AccountState, policy: Policy, reasoner: RulesReasoner) -> str:
    return reasoner.choose(state, build_candidates(state, policy)).candidate.kind


def synthetic_account(rng: random.Random, seed: int) -> AccountRecords:
    account_id = f"A{seed:05d}"
    invoices = [synthetic_invoice(rng, account_id, n) for n in range(rng.choice((1, 2, 3, 5, 8)))]
    numbers = [invoice.number for invoice in invoices]
    return AccountRecords(
        account=synthetic_owner(rng, account_id),
        invoices=invoices,
        touches=[synthetic_touch(rng, account_id, numbers, n) for n in range(rng.randint(0, 4))],
        cases=synthetic_cases(rng, account_id, numbers),
        payments=[synthetic_payment(rng, account_id, n) for n in range(rng.randint(0, 2))],
    )


def synthetic_owner(rng: random.Random, account_id: str) -> Account:
    contacts = [
        Contact(
            contact_id=f"c{n}",
            name="Dana Payables",
            email=f"c{n}@{account_id.lower()}.example",
            role=rng.choice(("accounts_payable", "billing", "primary")),
            language=rng.choice(("en", "de")),
            time_zone=rng.choice(ZONES),
            status="active" if rng.random() < 0.9 else "bounced",
        )
        for n in range(rng.choice((1, 1, 2)))
    ]
    return Account(
        account_id=account_id,
        name=f"Customer {account_id}",
        currency="EUR",
        risk_segment=rng.choice(SEGMENTS),
        autopay=rng.random() < 0.05,
        status=AccountStatus.ACTIVE if rng.random() < 0.95 else AccountStatus.ON_HOLD,
        hold_until=NOW.date() + timedelta(days=5) if rng.random() < 0.03 else None,
        contacts=contacts,
        created_at=NOW - timedelta(days=400),
        updated_at=NOW - timedelta(days=30),
    )


def synthetic_invoice(rng: random.Random, account_id: str, n: int) -> Invoice:
    due = NOW.date() - timedelta(days=rng.choice((rng.randint(-20, 45), rng.randint(-5, 150))))
    amount = Decimal(rng.randint(500, 2_000_000)).scaleb(-2)
    open_amount = amount if rng.random() < 0.85 else Decimal(rng.randint(100, 5000)).scaleb(-2)
    return Invoice(
        account_id=account_id,
        number=f"{account_id}-{n}",
        issue_date=due - timedelta(days=30),
        due_date=due,
        currency="EUR",
        amount=amount,
        open_amount=min(amount, open_amount),
        created_at=NOW - timedelta(days=60),
    )


def synthetic_touch(rng: random.Random, account_id: str, numbers: list[str], n: int) -> Touch:
    covered = rng.sample(numbers, rng.randint(0, len(numbers)))
    return Touch(
        account_id=account_id,
        touch_id=f"T{n}",
        sent_at=NOW - timedelta(hours=rng.randint(1, 40 * 24)),
        contact_id="c0",
        template="friendly",
        invoice_numbers=covered,
        cadence_steps={number: rng.choice((-3, 3, 14)) for number in covered},
    )


def synthetic_cases(rng: random.Random, account_id: str, numbers: list[str]) -> list[Case]:
    cases = []
    roll = rng.random()
    opened = NOW - timedelta(days=rng.randint(1, 40))
    common = {"account_id": account_id, "currency": "EUR", "opened_at": opened}
    named = rng.sample(numbers, 1)
    if roll < 0.08:
        cases.append(Case(case_id="D1", kind=CaseKind.DISPUTE, amount="100.00", **common))
    elif roll < 0.20:
        promised = opened.date() + timedelta(days=rng.randint(0, 20))
        cases.append(
            Case(
                case_id="P1",
                kind=CaseKind.PROMISE_TO_PAY,
                amount="500.00",
                invoice_numbers=named,
                promised_date=promised,
                payment_method=rng.choice(("check", "ach", "sepa", "wire")),
                **common,
            )
        )
    elif roll < 0.25:
        cases.append(
            Case(
                case_id="PL1",
                kind=CaseKind.PAYMENT_PLAN,
                amount="600.00",
                invoice_numbers=named,
                instalments=[instalment(opened.date(), k) for k in (1, 2, 3)],
                **common,
            )
        )
    return cases


def instalment(opened: date, k: int) -> Instalment:
    return Instalment(due_date=opened + timedelta(days=30 * k - 20), amount=Decimal("200.00"))


def synthetic_payment(rng: random.Random, account_id: str, n: int) -> Payment:
    return Payment(
        account_id=account_id,
        payment_id=f"PAY{n}",
        received_on=NOW.date() - timedelta(days=rng.randint(0, 40)),
        currency="EUR",
        amount=Decimal("250.00"),
        method="sepa",
        unapplied_amount=Decimal("250.00"),
        created_at=NOW,
    )


if __name__ == "__main__":
    main()
