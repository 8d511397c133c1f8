"""The `autoar` command: operator tools for a deployed stack and for the local runtime."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import boto3

from infra.manifest import AUDIT
from shared.audit.log import AuditLog
from shared.clock import SystemClock


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    if not hasattr(arguments, "run"):
        parser.print_help()
        return 2
    result: int = arguments.run(arguments)
    return result


def audit_verify(arguments: argparse.Namespace) -> int:
    """Recompute every audit chain; exit 1 and name the first broken event of each broken chain."""
    table = arguments.table or os.environ.get(AUDIT.env_var)
    if not table:
        print(f"autoar: name the audit table with --table or {AUDIT.env_var}", file=sys.stderr)
        return 2
    log = AuditLog(boto3.client("dynamodb"), table, SystemClock())
    report = log.verify(arguments.account)
    for chain_break in report.breaks:
        print(f"BROKEN {chain_break}")
    state = "intact" if report.intact else f"{len(report.breaks)} broken"
    print(f"audit trail: {report.chains} chains, {report.events} events checked, {state}")
    return 0 if report.intact else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autoar", description=__doc__)
    commands = parser.add_subparsers(title="commands")

    audit = commands.add_parser("audit", help="the tamper-evident audit trail")
    audit_commands = audit.add_subparsers(title="audit commands")
    verify = audit_commands.add_parser(
        "verify", help="recompute every hash chain and name the first broken event"
    )
    verify.add_argument("--account", help="verify only this account's chain")
    verify.add_argument("--table", help=f"audit table name (default: ${AUDIT.env_var})")
    verify.set_defaults(run=audit_verify)
    return parser


if __name__ == "__main__":
    sys.exit(main())
