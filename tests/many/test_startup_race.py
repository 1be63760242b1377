"""Several processes starting together on one fresh PostgreSQL database all come up: the
migrations and the start-up writes (businesses, admins, the local calendars' catalogs) run under
PostgreSQL advisory locks (storage/locks.py). Real processes, released at the same instant."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from tests.storage.postgres import fresh_postgres_database

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 3

#: what `bookbot run` does before it talks to Telegram: build_services (migrations, then the
#: businesses and catalogs), released at START_AT so the processes collide
START_UP = """
import asyncio, os, time
from bot.config import load_config
from bot.services import build_services

async def main():
    config = load_config()
    time.sleep(max(0.0, float(os.environ["START_AT"]) - time.time()))
    services = await build_services(config)
    await services.aclose()
    print("up")

asyncio.run(main())
"""


async def _run_together(argvs: list[list[str]], env: dict[str, str]) -> list[tuple[int, str]]:
    env = {**env, "START_AT": str(time.time() + 3.0)}
    procs = [
        await asyncio.create_subprocess_exec(
            *argv,
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for argv in argvs
    ]
    results = []
    for proc in procs:
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        results.append((proc.returncode or 0, out.decode(errors="replace")))
    return results


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOOKBOT_", "TELEGRAM_"))}
    return {**env, "BOOKBOT_DATABASE_URL": database_url}


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_two_processes_starting_at_once_on_a_fresh_database_both_come_up(
    round_: int,
) -> None:
    async with fresh_postgres_database() as url:
        results = await _run_together([[sys.executable, "-c", START_UP]] * 2, _env(url))
    for code, out in results:
        assert code == 0 and out.strip().endswith("up"), out[-2000:]


async def test_two_migrates_at_once_on_a_fresh_database_both_succeed() -> None:
    migrate = (
        "import os, sys, time; time.sleep(max(0.0, float(os.environ['START_AT']) - time.time()));"
        "from bot.cli import main; sys.exit(main(['migrate']))"
    )
    async with fresh_postgres_database() as url:
        results = await _run_together([[sys.executable, "-c", migrate]] * 3, _env(url))
    for code, out in results:
        assert code == 0 and "up to date" in out, out[-2000:]
