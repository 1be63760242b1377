"""``bookbot run --workers N``: N ``bookbot run`` processes behind one webhook port.

Each worker is a process of its own (its own event loop and CPU), listening on the same port
(``SO_REUSEPORT``: the kernel spreads Telegram's connections between them). They share what must
be shared through the database: the webhook inbox (each update handled once), the start-up lock,
the outbox's leases; and the send budget through the rate limiter's shared backend. Worker 0
alone calls ``setWebhook``.

The supervisor forwards SIGTERM and SIGINT to every worker and waits for them (each stops
gracefully); when one worker ends with an error, the others are stopped and the supervisor ends
with that worker's exit status.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

#: how often the supervisor looks at its workers
POLL_S = 0.2


def run_workers(count: int, argv: list[str] | None = None) -> int:
    """Start ``count`` workers running ``bookbot run`` and supervise them; their exit status."""
    command = argv or [sys.executable, "-m", "bot.cli", "run"]
    workers = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            env={
                **os.environ,
                "BOOKBOT_WORKER_INDEX": str(index),
                "BOOKBOT_WORKER_COUNT": str(count),
                "BOOKBOT_WORKERS": "1",  # a worker starts no workers of its own
            },
        )
        for index in range(count)
    ]

    def forward(signum: int, _frame: FrameType | None) -> None:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    status = 0
    while any(worker.poll() is None for worker in workers):
        failed = [w.returncode for w in workers if w.returncode not in (None, 0)]
        if failed and status == 0:
            status = failed[0]
            forward(signal.SIGTERM, None)
        time.sleep(POLL_S)
    return status or next((w.returncode for w in workers if w.returncode), 0)
