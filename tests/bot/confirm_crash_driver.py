"""A bot process for ``test_confirm_crash.py``, to be killed with SIGKILL inside Confirm.

``python -m tests.bot.confirm_crash_driver <database url> <work dir> confirm <point>``: books a
haircut on the sample salon up to its confirm screen, keeps the Confirm button's data in
``<work dir>/token``, then taps it with a pause installed at ``point`` (the window widened so
that the kill lands inside it, every time): ``inside`` the transaction that books (the local
appointment is inserted, our booking row not yet), or ``after`` it committed (the turn's state
not yet saved). When the pause is reached it writes ``<work dir>/paused`` and waits to be killed.

With ``CRASH_QMATIC_URL`` set, the business is the Qmatic one of ``tests/bot/qmatic_world.py``
on the fake served there, and no pause is installed (``point`` is ignored): the fake books and
withholds its answer, and the test kills the process while it waits for it.

``... return``: the user comes back three minutes later (past the confirming grace) in a new
process: the minute's sweep runs, the user taps the old Confirm button, then (if a confirm
screen is shown) the new one, then sends /mybookings. Prints a JSON object: every text the bot
sent, and the texts of the notices the sweep put in the outbox.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

import bot.engine.intents
import storage.bookings
from bot.config import AppConfig, load_config
from bot.services import build_services
from providers.base import utc_now
from storage.delivery_models import Delivery
from tests.bot import qmatic_world
from tests.bot.harness import ChatDriver, running_bot
from tests.bot.test_local_booking import book_haircut


def pause_at(point: str, marker: Path) -> None:
    """Replace the function at ``point`` by one that signals ``marker`` and never returns."""

    async def pause() -> None:
        await asyncio.to_thread(marker.write_text, "paused")
        await asyncio.sleep(3600)

    if point == "inside":
        real_record: Callable[..., Any] = storage.bookings.record_confirmed

        async def record_then_pause(*args: Any, **kwargs: Any) -> Any:
            await pause()
            return await real_record(*args, **kwargs)

        storage.bookings.record_confirmed = record_then_pause  # type: ignore[assignment]
    else:
        real_book: Callable[..., Any] = bot.engine.intents.book_in_database

        async def book_then_pause(*args: Any, **kwargs: Any) -> Any:
            result = await real_book(*args, **kwargs)
            await pause()
            return result

        bot.engine.intents.book_in_database = book_then_pause  # type: ignore[assignment]


def app_config(database_url: str, qmatic_url: str | None) -> AppConfig:
    if qmatic_url is None:
        return load_config(env={}).model_copy(update={"database_url": database_url})
    config = qmatic_world.app_config(database_url)
    business = config.businesses[0]
    settings = {**business.settings, "base_url": qmatic_url}
    return config.model_copy(
        update={"businesses": [business.model_copy(update={"settings": settings})]}
    )


async def to_the_summary(chat: ChatDriver, qmatic: bool) -> None:
    if not qmatic:
        await book_haircut(chat)
        return
    await qmatic_world.reserve_a_time(chat)
    await qmatic_world.answer_questions(chat)
    await qmatic_world.enter_details(chat)


async def main(database_url: str, work: Path, phase: str, point: str) -> None:
    qmatic_url = os.environ.get("CRASH_QMATIC_URL")
    config = app_config(database_url, qmatic_url)
    offset = timedelta(minutes=3) if phase == "return" else timedelta()
    services = await build_services(config, env=qmatic_world.ENV, clock=lambda: utc_now() + offset)
    try:
        async with running_bot(services) as chat:
            if phase == "confirm":
                await to_the_summary(chat, qmatic_url is not None)
                token = chat.data_of("✅ Confirm")
                await asyncio.to_thread((work / "token").write_text, token)
                if qmatic_url is None:
                    pause_at(point, work / "paused")
                await chat.tap(token)
                raise SystemExit("the pause returned: nothing was killed")
            await chat.application.bot_data.engine.sweep_expired()
            async with services.sessions() as session:
                outbox = [
                    str(row.payload.get("text"))
                    for row in await session.scalars(
                        select(Delivery).where(Delivery.kind == "notice")
                    )
                ]
            await chat.tap(await asyncio.to_thread((work / "token").read_text))
            if "✅ Confirm" in chat.labels:
                await chat.press("✅ Confirm")
            await chat.send("/mybookings")
            print(json.dumps({"texts": chat.texts(), "outbox": outbox}))
    finally:
        await services.aclose()


if __name__ == "__main__":
    url, work_dir, phase_name = sys.argv[1:4]
    asyncio.run(main(url, Path(work_dir), phase_name, sys.argv[4] if len(sys.argv) > 4 else ""))
