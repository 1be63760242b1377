"""CPU time of one tap on Confirm (the local calendar, a SQLite file), median of N bookings.

Each booking is a new user who walks the sample salon's haircut to the confirm screen through
``Application.process_update`` (``LocalBotApi``, as ``bench/updates.py``); only the Confirm tap
is timed, with ``time.process_time``. It shows what the crash-safe Confirm's durable intent
costs (docs/performance.md, session 7): ``python -m bench.confirm --bookings 60``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from pathlib import Path

from telegram.ext import Application

from bot.app import build_application
from bot.config import load_config
from bot.local_api import LocalBotApi, UpdateFactory
from bot.services import build_services

CONFIRM = "✅ Confirm"


def _data(api: LocalBotApi, label: str | re.Pattern[str]) -> str:
    for text, data in api.last_buttons():
        if text == label or (isinstance(label, re.Pattern) and label.search(text)):
            return data
    raise RuntimeError(f"no button {label!r} in {api.last_buttons()}")


async def _to_the_summary(
    application: Application,  # type: ignore[type-arg]
    api: LocalBotApi,
    user_id: int,
) -> UpdateFactory:
    updates = UpdateFactory(application.bot, user_id=user_id)

    async def tap(label: str | re.Pattern[str]) -> None:
        data = _data(api, label)
        await application.process_update(
            updates.button(data, message_id=api.last_menu_message_id() or 1)
        )

    await application.process_update(updates.text("/book"))
    await tap("Haircut · 30 min · €25.00")
    await tap("Anna")
    await tap(re.compile(r"^\d{1,2}$"))
    await tap(re.compile(r"^\d{1,2}:\d{2}"))
    for text in ("Anna", "Martin"):
        await application.process_update(updates.text(text))
    await application.process_update(updates.contact("33612345678"))
    await application.process_update(updates.text("anna@example.org"))
    return updates


async def main(bookings: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        config = load_config(env={}).model_copy(update={"database_url": url})
        services = await build_services(config, env={})
        samples: list[float] = []
        try:
            for n in range(bookings):
                api = LocalBotApi()
                application = build_application(services, request=api, rate_limit=False, jobs=False)
                async with application:
                    updates = await _to_the_summary(application, api, user_id=10_000 + n)
                    tap = updates.button(
                        _data(api, CONFIRM), message_id=api.last_menu_message_id() or 1
                    )
                    started = time.process_time()
                    await application.process_update(tap)
                    samples.append((time.process_time() - started) * 1e6)
                    if "Booked!" not in api.last_text():
                        raise RuntimeError(f"not booked: {api.last_text()}")
        finally:
            await services.aclose()
    print(f"bookings: {bookings}")
    print(f"confirm_cpu_us_median={statistics.median(samples):.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bookings", type=int, default=60)
    asyncio.run(main(parser.parse_args().bookings))
