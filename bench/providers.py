"""Round trips and slot latency of one booking through a platform adapter and its fake.

Usage: ``python bench/providers.py bookingtime|qmatic|clicrdv|clickbook [--latency-ms 100]``

Each platform's measurement lives in ``bench/provider_<kind>.py`` as
``async def measure(latency_ms: float) -> dict[str, float]`` returning at least ``round_trips``
(requests on the critical path of one booking with a warm cache) and ``slots_ms`` (time from
tapping a date to having its slots, with ``latency_ms`` injected on every request). This script
prints every figure and ends with ``round_trips=<n> slots_ms=<ms>``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
# Python put bench/ first on the path, where this very file would shadow the ``providers``
# package: the project root goes first, bench/ last (for the provider_<kind> modules).
others = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path[:] = [str(ROOT), *others, str(BENCH)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["bookingtime", "qmatic", "clicrdv", "clickbook", "local"])
    parser.add_argument("--latency-ms", type=float, default=100.0)
    args = parser.parse_args()
    module = importlib.import_module(f"provider_{args.kind}")
    figures: dict[str, float] = asyncio.run(module.measure(args.latency_ms))
    for name, value in figures.items():
        print(f"{name}: {value}")
    print(f"round_trips={int(figures['round_trips'])} slots_ms={figures['slots_ms']:.0f}")


if __name__ == "__main__":
    main()
