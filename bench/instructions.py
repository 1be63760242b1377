"""Instructions per booking of ``bench/updates.py``, counted by Valgrind: a figure that does not
move with the host.

Wall-clock rates on a shared VM move by ±15% from one run to the next, which hides a change
worth 1–3%. Valgrind's ``cachegrind`` counts the instructions the process executes (user space
only: system calls, I/O waits and cache misses are not in it), the same on every run. Two runs
with different numbers of bookings cancel out start-up and warm-up, so the difference divided
by the extra bookings is the cost of one booking's 12.3 updates.

    python bench/instructions.py                       # this tree
    python bench/instructions.py --conversations 100000
    git worktree add /tmp/before HEAD~3 && python bench/instructions.py --tree /tmp/before

Needs ``valgrind`` on the PATH (Debian: ``apt-get install valgrind``); a run takes about a
minute. It measures CPU work only: check a change's effect on time with ``bench/updates.py``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_TOTAL = re.compile(r"I\s+refs:\s+([\d,]+)")
_PER_BOOKING = re.compile(r"bookings: \d+ \(([\d.]+) updates each\)")


def count(tree: Path, bookings: int, extra: list[str]) -> tuple[int, float]:
    """Instructions of one whole ``bench/updates.py`` run in ``tree``, and its updates per
    booking."""
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        str(tree / "bench" / "updates.py"),
        "--no-pin",
        "--bookings",
        str(bookings),
        *extra,
    ]
    # A fixed hash seed: string hashing decides dict and set layouts, and so some of the count.
    # (The bot's clock still runs at wall speed, so runs differ by a few tenths of a percent at
    # N = 1,000 and by up to a few percent at N = 100,000; compare medians of several runs.)
    environment = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    done = subprocess.run(  # noqa: S603 - a fixed command line: valgrind, this Python, a file
        command, cwd=tree, env=environment, capture_output=True, text=True, check=False
    )
    total = _TOTAL.search(done.stderr)
    if done.returncode != 0 or total is None:
        output = done.stdout[-2000:] + done.stderr[-2000:]
        sys.exit(f"the benchmark failed under valgrind:\n{output}")
    per_booking = _PER_BOOKING.search(done.stdout)
    return int(total.group(1).replace(",", "")), float(per_booking.group(1) if per_booking else 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to measure")
    parser.add_argument("--small", type=int, default=20, help="bookings of the first run")
    parser.add_argument("--large", type=int, default=120, help="bookings of the second run")
    parser.add_argument("--conversations", type=int, default=1000, help="stored beforehand")
    parser.add_argument(
        "--telegram-callbacks",
        action="store_true",
        help="passed on to bench/updates.py (callback queries as Telegram sends them)",
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    if args.large <= args.small:
        sys.exit("--large must be more bookings than --small")
    extra = ["--conversations", str(args.conversations)]
    if args.telegram_callbacks:
        extra.append("--telegram-callbacks")
    small, _ = count(args.tree.resolve(), args.small, extra)
    large, updates_each = count(args.tree.resolve(), args.large, extra)
    per_booking = (large - small) / (args.large - args.small)
    print(f"tree: {args.tree.resolve()}")
    if updates_each:
        print(f"instructions per update: {per_booking / updates_each:,.0f}")
    print(f"instructions_per_booking={per_booking:.0f}")


if __name__ == "__main__":
    main()
