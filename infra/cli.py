"""The `autoar` command: operator tools for a deployed stack and for the local runtime."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import boto3

from infra.manifest import AUDIT
from shared.audit.log import AuditLog
from shared.clock import SystemClock


def main(argv: Sequence[str] | None = None) -> int:
    # Read-only requests publish no business metric and Powertools warns about each one.
    warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
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


def demo(arguments: argparse.Namespace) -> int:
    """Run the simulated company through the local runtime and print what autoar did."""
    from infra.local.demo.run import DemoOptions, run_demo

    options = DemoOptions(
        workdir=Path(arguments.workdir),
        days=arguments.days,
        accounts=arguments.accounts,
        seed=arguments.seed,
    )
    result = run_demo(options)
    return 0 if result.audit.intact else 1


def serve(arguments: argparse.Namespace) -> int:
    """Run the local runtime on the real clock until interrupted."""
    from infra.local.serve import serve as serve_forever

    serve_forever(Path(arguments.workdir))
    return 0


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

    run_demo = commands.add_parser(
        "demo", help="run weeks of a simulated company's receivables on this machine"
    )
    run_demo.add_argument("--days", type=_positive, default=60, help="simulated days (60)")
    run_demo.add_argument("--accounts", type=_positive, default=42, help="customers (42)")
    run_demo.add_argument("--seed", type=int, default=7, help="random seed of the book (7)")
    run_demo.add_argument("--workdir", default=".autoar/demo", help="where files go")
    run_demo.set_defaults(run=demo)

    run_serve = commands.add_parser(
        "serve", help="run the whole system on this machine on the real clock, until Ctrl-C"
    )
    run_serve.add_argument("--workdir", default=".autoar/serve", help="where files go")
    run_serve.set_defaults(run=serve)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


if __name__ == "__main__":
    sys.exit(main())
