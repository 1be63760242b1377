"""A Bot API address that answers pages which are not JSON and echo the request path (what
Express, Tomcat and many proxies do): the bot token reaches no table and no log line, and a
bad token at start-up is one line on stderr, without the token, not a traceback."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import build_application
from bot.config import REFUSED_AT_START_UP
from bot.delivery.dispatcher import Dispatcher
from bot.local_api import UpdateFactory
from bot.services import Services
from storage.delivery_models import Delivery
from storage.models import Base
from tests.delivery.conftest import Db, make_bot
from tests.delivery.test_dispatcher import new_broadcast
from tests.fakes.bot_api import TOKEN, FakeBotApi

ROOT = Path(__file__).resolve().parents[2]
SECRET = TOKEN.rpartition(":")[2]


async def every_stored_value(db: Db) -> str:
    """Every row of every table, as text."""
    async with db.engine.connect() as connection:
        dumps = [
            repr((await connection.execute(select(table))).all())
            for table in Base.metadata.sorted_tables
        ]
    return "\n".join(dumps)


def every_log_line(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


@pytest.mark.parametrize("status", [200, 400, 403, 404, 502])
async def test_deliveries_keep_no_token_from_a_page_echoing_the_path(
    sqlite_db: Db, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    caplog.set_level(logging.DEBUG)
    salon = await sqlite_db.business("salon")
    await sqlite_db.customers(salon, range(500, 506))
    await new_broadcast(sqlite_db, salon, text="Closed on Monday")
    with FakeBotApi(limit=1000, echo_path={"sendMessage": status}) as api:
        bot = make_bot(api)
        async with bot:
            dispatcher = Dispatcher(
                sqlite_db.sessions, bot, poll_interval=0.05, progress_interval=0.2, max_attempts=2
            )
            await dispatcher.run(until_idle=True)
        assert api.state.methods["sendMessage"] >= 6, "the server was asked"
    async with sqlite_db.sessions() as session:
        errors = list(await session.scalars(select(Delivery.last_error)))
    assert any(errors), "the errors were recorded"
    assert SECRET not in await every_stored_value(sqlite_db)
    assert SECRET not in every_log_line(caplog)


async def test_replies_log_no_token_from_a_page_echoing_the_path(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeBotApi(limit=1000, echo_path={"sendMessage": 502, "answerCallbackQuery": 404}) as api:
        application = build_application(
            services, token=TOKEN, base_url=f"http://127.0.0.1:{api.port}", jobs=False
        )
        async with application:
            updates = UpdateFactory(application.bot)
            await application.process_update(updates.text("/help"))
            await application.process_update(updates.button("c1.0"))
        assert api.state.methods["sendMessage"] >= 1
    assert "error while handling update" in caplog.text, "the failure was logged"
    assert SECRET not in every_log_line(caplog)
    db = Db(services.config.database_url, services.engine, services.sessions)
    assert SECRET not in await every_stored_value(db)


@pytest.mark.parametrize("command", [["bot.cli", "run"], ["bot.delivery", "--until-idle"]])
def test_a_refused_token_at_start_up_is_one_line_without_the_token(
    tmp_path: Path, command: list[str]
) -> None:
    with FakeBotApi(echo_path={"*": 404}) as api:
        started = subprocess.run(  # noqa: S603 - our own interpreter and modules
            [sys.executable, "-m", *command],
            cwd=ROOT,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{api.port}",
                "BOOKBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bookbot.db'}",
            },
            capture_output=True,
            timeout=120,
        )
    assert started.returncode == 2
    err = started.stderr.decode()
    assert SECRET not in err and SECRET not in started.stdout.decode()
    assert "Traceback" not in err, err
    said = [line for line in err.splitlines() if " INFO " not in line]
    assert said == [REFUSED_AT_START_UP], err
