"""bench/broadcast.py still runs end to end: its audience is every recipient and each gets the
broadcast once (a change to who receives news once left it with an audience of 0)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_small_broadcast_reaches_every_recipient_once() -> None:
    done = subprocess.run(
        [sys.executable, "bench/broadcast.py", "--recipients", "300", "--limit", "1000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    fields = dict(item.split("=", 1) for item in last.split())
    assert (fields["duplicates"], fields["lost"]) == ("0", "0")
    assert float(fields["share_of_limit"]) > 0
