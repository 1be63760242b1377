"""Polling is for one process per bot: a second poller is refused with a clear message, and
polling still answers updates (real ``bookbot run`` processes, the fake Bot API's getUpdates)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.fakes.bot_api import FakeBotApi
from tests.many.processes import BookbotProcess, bookbot_env, replies_to, text_update, wait_until
from tests.storage.postgres import fresh_postgres_database

SECOND_POLLER = "another process is already polling Telegram for this bot"


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(limit=1000, per_chat_interval=0.0) as fake:
        yield fake


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


def poller(api: FakeBotApi, database_url: str) -> BookbotProcess:
    return BookbotProcess(bookbot_env(api.port, database_url, BOOKBOT_WEBHOOK_URL=""))


def refusal(bot: BookbotProcess) -> str:
    out = bot.finish()
    lines = [line for line in out.splitlines() if "could not start" in line]
    assert bot.proc.returncode == 1 and len(lines) == 1, out
    return lines[0]


def test_polling_answers_updates(api: FakeBotApi, tmp_path: Path) -> None:
    bot = poller(api, f"sqlite+aiosqlite:///{tmp_path / 'bookbot.db'}")
    try:
        bot.wait_running()
        api.state.push_update(text_update(900, "/help"))
        wait_until(lambda: replies_to(api.state.calls, 900))
    finally:
        assert bot.terminate() == 0


def test_a_second_poller_on_the_database_is_refused(api: FakeBotApi, pg_url: str) -> None:
    first = poller(api, pg_url)
    try:
        first.wait_running()
        second = poller(api, pg_url)
        assert SECOND_POLLER in refusal(second)
        webhook_worker = BookbotProcess(bookbot_env(api.port, pg_url))
        assert "a process is polling Telegram for this bot" in refusal(webhook_worker)
        api.state.push_update(text_update(901, "/help"))
        wait_until(lambda: replies_to(api.state.calls, 901))  # the first one goes on
    finally:
        assert first.terminate() == 0


def test_a_poller_telegram_ends_for_another_stops_with_the_same_message(
    api: FakeBotApi, tmp_path: Path
) -> None:
    """Two pollers on different databases (no shared lock): Telegram's 409 Conflict."""
    first = poller(api, f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    try:
        first.wait_running()
        second = poller(api, f"sqlite+aiosqlite:///{tmp_path / 'two.db'}")
        try:
            second.wait_running()
            assert SECOND_POLLER in refusal(first)
        finally:
            second.terminate()
    finally:
        first.kill()
