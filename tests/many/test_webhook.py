"""The webhook through the real server: real ``bookbot run`` processes, the fake Bot API over
HTTP, and the test posting updates as Telegram does."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bot.config import REFUSED_AT_START_UP
from tests.fakes.bot_api import FakeBotApi
from tests.many.processes import (
    ROOT,
    SECRET,
    WEBHOOK_PATH,
    BookbotProcess,
    bookbot_env,
    free_port,
    replies_to,
    text_update,
    wait_until,
)
from tests.storage.postgres import fresh_postgres_database


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(limit=1000, per_chat_interval=0.0) as fake:
        yield fake


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bookbot.db'}"


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


def dockerfile_healthcheck(port: int) -> int:
    """Run the Dockerfile's HEALTHCHECK command against ``port``; its exit status."""
    line = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if "CMD [" in line)
    command = json.loads(line.split("CMD", 1)[1])
    command[0] = sys.executable
    env = {**os.environ, "BOOKBOT_WEBHOOK_PORT": str(port)}
    return subprocess.run(command, env=env, capture_output=True, timeout=30).returncode  # noqa: S603


def started(env: dict[str, str], *args: str) -> BookbotProcess:
    bot = BookbotProcess(env, *args)
    try:
        bot.wait_running()
    except BaseException:
        bot.kill()
        raise
    return bot


def test_the_webhook_is_set_after_the_port_is_bound_with_the_secret_and_path(
    api: FakeBotApi, sqlite_url: str
) -> None:
    bot = started(bookbot_env(api.port, sqlite_url))
    try:
        wait_until(lambda: api.state.webhook is not None)
        assert api.state.webhook == {
            "url": f"https://bot.example.test{WEBHOOK_PATH}",
            "secret_token": SECRET,
        }
        assert httpx.get(f"{bot.url}/readyz").text == "ready\n"
        assert dockerfile_healthcheck(bot.port) == 0
        update = text_update(501, "/help")
        assert bot.post(update) == 200
        wait_until(lambda: replies_to(api.state.calls, 501))
        # the configured path only: Telegram's old fixed path is not served
        assert httpx.post(f"{bot.url}/telegram", json=update).status_code in (404, 405)
    finally:
        assert bot.terminate() == 0
    assert dockerfile_healthcheck(bot.port) != 0  # nothing listens any more


def test_a_repeated_update_is_applied_once(api: FakeBotApi, sqlite_url: str) -> None:
    bot = started(bookbot_env(api.port, sqlite_url))
    try:
        book = text_update(502, "/book")
        assert bot.post(book) == 200
        assert bot.post(book) == 200  # Telegram resends what it thinks was not received
        assert bot.post(text_update(502, "/help")) == 200
        wait_until(lambda: len(replies_to(api.state.calls, 502)) >= 2)
    finally:
        assert bot.terminate() == 0
    texts = replies_to(api.state.calls, 502)
    assert len(texts) == 2, texts
    assert "Which service" in texts[0] and "/mybookings" in texts[1]


def test_a_missing_or_wrong_secret_and_a_bad_body_are_refused(
    api: FakeBotApi, sqlite_url: str
) -> None:
    bot = started(bookbot_env(api.port, sqlite_url))
    try:
        update = text_update(503, "/help")
        assert bot.post(update, secret=None) == 403
        assert bot.post(update, secret="wrong-secret") == 403
        assert bot.post({}, body=b'{"message": "Jean Dupont, +33612345678"}') == 400
        assert bot.post({}, body=b"Jean Dupont +33612345678 not json") == 400
        assert bot.post(text_update(504, "/help")) == 200
        wait_until(lambda: replies_to(api.state.calls, 504))
    finally:
        assert bot.terminate() == 0
    assert replies_to(api.state.calls, 503) == []
    assert "Dupont" not in bot.output and "33612345678" not in bot.output
    assert "not an update" in bot.output


def test_sigterm_with_updates_in_flight_loses_none(sqlite_url: str) -> None:
    """Each Bot API call takes two seconds, and each chat's second message waits for the reply
    to its first: at SIGTERM, every update is accepted and most are not handled yet."""
    with FakeBotApi(limit=1000, per_chat_interval=0.0, latency=2.0) as slow_api:
        bot = started(bookbot_env(slow_api.port, sqlite_url))
        chats = range(600, 606)
        statuses: list[int] = []

        def two_messages(chat: int) -> None:
            for text in ("/book", "/help"):
                statuses.append(bot.post(text_update(chat, text)))

        posts = [threading.Thread(target=two_messages, args=(c,)) for c in chats]
        for post in posts:
            post.start()
        for post in posts:
            post.join()
        assert statuses == [200] * 2 * len(chats)
        terminated_at = time.monotonic()
        assert bot.terminate() == 0
        texts = {c: replies_to(slow_api.state.calls, c) for c in chats}
        sent_at = [e.at for e in slow_api.state.events if e.method == "sendMessage"]
    assert all(len(t) == 2 for t in texts.values()), (texts, bot.output[-3000:])
    assert all("/mybookings" in t[1] for t in texts.values())
    assert min(sent_at) > terminated_at  # they were in flight when the signal came


async def test_copies_reaching_two_workers_are_applied_once(pg_url: str) -> None:
    with FakeBotApi(limit=1000, per_chat_interval=0.0) as api:
        first = started(bookbot_env(api.port, pg_url, BOOKBOT_WORKER_COUNT="2"))
        second = started(
            bookbot_env(api.port, pg_url, BOOKBOT_WORKER_COUNT="2", BOOKBOT_WORKER_INDEX="1")
        )
        try:
            updates = [text_update(700 + n, "/book") for n in range(10)]
            results: list[int] = []

            def post_both(update: dict[str, object]) -> None:
                copies = [
                    threading.Thread(target=lambda w=w: results.append(w.post(update)))
                    for w in (first, second)
                ]
                for copy in copies:
                    copy.start()
                for copy in copies:
                    copy.join()

            for update in updates:
                post_both(update)
            assert results == [200] * 20
            wait_until(lambda: all(replies_to(api.state.calls, 700 + n) for n in range(10)))
            second.post(text_update(799, "/help"))
            wait_until(lambda: replies_to(api.state.calls, 799))
        finally:
            assert first.terminate() == 0 and second.terminate() == 0
        for n in range(10):
            assert len(replies_to(api.state.calls, 700 + n)) == 1


async def test_several_workers_run_with_one_command(pg_url: str) -> None:
    with FakeBotApi(limit=1000, per_chat_interval=0.0) as api:
        bot = started(bookbot_env(api.port, pg_url), "--workers", "2")
        try:
            for n in range(20):
                assert bot.post(text_update(800 + n, "/help")) == 200
            wait_until(lambda: all(replies_to(api.state.calls, 800 + n) for n in range(20)))
        finally:
            assert bot.terminate() == 0
        assert bot.output.count("bookbot is running") == 2


@pytest.mark.parametrize(
    ("secret", "expected"),
    [("", "BOOKBOT_WEBHOOK_SECRET is not set"), ("bad secret!", "not a secret Telegram accepts")],
)
def test_the_webhook_refuses_to_start_without_a_valid_secret(
    api: FakeBotApi, sqlite_url: str, secret: str, expected: str
) -> None:
    bot = BookbotProcess(bookbot_env(api.port, sqlite_url, BOOKBOT_WEBHOOK_SECRET=secret))
    out = bot.finish()
    assert bot.proc.returncode != 0
    lines = [line for line in out.splitlines() if "could not start" in line]
    assert len(lines) == 1 and expected in lines[0], out
    assert "bad secret!" not in out
    assert api.state.webhook is None


def test_a_port_in_use_is_reported_in_one_line_and_no_webhook_is_set(
    api: FakeBotApi, sqlite_url: str
) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        bot = BookbotProcess(bookbot_env(api.port, sqlite_url, BOOKBOT_WEBHOOK_PORT=str(port)))
        out = bot.finish()
    assert bot.proc.returncode == 1
    errors = [line for line in out.splitlines() if "could not start" in line]
    assert len(errors) == 1 and "OSError" in errors[0] and str(port) in errors[0], out
    assert "Traceback" not in out and "still running" not in out
    assert api.state.webhook is None


def test_a_webhook_url_telegram_would_refuse_is_reported_in_one_line(
    api: FakeBotApi, sqlite_url: str
) -> None:
    env = bookbot_env(api.port, sqlite_url, BOOKBOT_WEBHOOK_URL="http://bot.example.test/x")
    bot = BookbotProcess(env)
    out = bot.finish()
    assert bot.proc.returncode == 1
    errors = [line for line in out.splitlines() if "could not start" in line]
    assert len(errors) == 1 and "https" in errors[0], out


def test_a_token_the_bot_api_refuses_is_reported_in_one_line_without_it(
    api: FakeBotApi, sqlite_url: str
) -> None:
    token = "654321:NOT-the-fake-token"
    bot = BookbotProcess(bookbot_env(api.port, sqlite_url, TELEGRAM_BOT_TOKEN=token))
    out = bot.finish()
    assert bot.proc.returncode == 2
    said = [line for line in out.splitlines() if " INFO " not in line]
    assert said == [REFUSED_AT_START_UP], out
    assert token not in out
    assert api.state.webhook is None
