"""`autoar serve`: the local runtime on the real clock, up until Ctrl-C."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import TextIO

from infra.local.runtime import LocalRuntime, running

POLL_SECONDS = 0.5


def serve(workdir: Path, out: TextIO = sys.stdout, stop: threading.Event | None = None) -> None:
    """Run until `stop` is set or the process is interrupted; then shut down cleanly."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with running(workdir) as runtime:
        _announce(runtime, out)
        while not stop.wait(POLL_SECONDS):
            runtime.scheduler.tick(runtime.clock.now())
            runtime.mail_drop.scan()
            runtime.bank_drop.scan()
            runtime.outbox.flush()
    print("autoar serve: stopped", file=out, flush=True)


def _announce(runtime: LocalRuntime, out: TextIO) -> None:
    folders = runtime.folders
    smtp = f"{runtime.smtp.host}:{runtime.smtp.port}" if runtime.smtp else "off"
    lines = [
        "autoar serve: the whole system on this machine (Ctrl-C stops it)",
        f"  integrator API   {runtime.api_url}   (OpenAPI at /openapi.json, docs at /docs)",
        f"  approval pages   {runtime.api_url}/approvals/<id>   (links arrive in the outbox)",
        f"  SMTP             {smtp}   (mail to any address here reaches inbound_mail)",
        f"  mail drop        {folders.mail_drop.resolve()}   (.eml files)",
        f"  bank file drop   {folders.bank_drop.resolve()}   (CAMT.053, MT940, BAI2, NACHA)",
        f"  outbox           {folders.outbox.resolve()}   (every email sent)",
        f"  AWS endpoint     {runtime.endpoint}   (moto)",
    ]
    print("\n".join(lines), file=out, flush=True)
