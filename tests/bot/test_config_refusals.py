"""What ``check-config`` refuses before start-up would fail (or customers would): each with its
key and what to write instead, never a secret's value nor a driver's traceback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import build_application
from bot.config import SAMPLE_CONFIG, ConfigError, TelegramSettings, bot_api_urls, load_config
from bot.services import Services
from tests.bot.test_config import PLATFORM_BUSINESSES, _check_config, _platform_config
from tests.fakes.bot_api import FakeBotApi

TOKEN = "123456:TEST-token"


def _sample_with(tmp_path: Path, old: str, new: str) -> Path:
    sample = SAMPLE_CONFIG.read_text(encoding="utf-8")
    assert old in sample
    path = tmp_path / "bookbot.toml"
    path.write_text(sample.replace(old, new, 1))
    return path


def _problems(path: Path, **env: str) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_config(path, env=env)
    return error.value.problems


def test_an_unsupported_default_language_is_refused(tmp_path: Path) -> None:
    path = _sample_with(tmp_path, 'default_language = "en"', 'default_language = "de"')
    assert _problems(path) == [
        "default_language: Value error, unsupported language 'de'; one of ('en', 'fr')"
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://bookbot:hunter2@db/bookbot", "the 'mysql' database is not supported"),
        ("postgresql://bookbot:hunter2@db/bookbot", "the URL must start postgresql+asyncpg://"),
        ("postgresql+psycopg2://bookbot:hunter2@db/x", "the URL must start postgresql+asyncpg://"),
        ("sqlite:///bookbot.db", "the URL must start sqlite+aiosqlite://"),
        ("not a url at all", "not a database URL"),
    ],
)
def test_a_database_url_without_an_asyncio_driver_is_refused_without_echoing_it(
    tmp_path: Path, url: str, expected: str
) -> None:
    path = _sample_with(
        tmp_path, 'database_url = "sqlite+aiosqlite:///bookbot.db"', f'database_url = "{url}"'
    )
    problems = _problems(path)
    assert len(problems) == 1 and problems[0].startswith("database_url: ")
    assert expected in problems[0]
    assert "hunter2" not in problems[0]
    # the same through the environment, and on the command line: a message, no traceback
    result = _check_config(SAMPLE_CONFIG, BOOKBOT_DATABASE_URL=url)
    assert result.returncode == 2 and expected in result.stderr
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr


def test_negative_or_zero_reminder_offsets_are_refused(tmp_path: Path) -> None:
    path = _sample_with(
        tmp_path,
        "reminder_offsets_minutes = [1440, 120]",
        "reminder_offsets_minutes = [1440, -60, 0]",
    )
    assert _problems(path) == [
        "businesses[sample-salon].reminder_offsets_minutes[1]: Input should be greater than 0",
        "businesses[sample-salon].reminder_offsets_minutes[2]: Input should be greater than 0",
    ]


def test_a_service_nobody_performs_is_refused(tmp_path: Path) -> None:
    # Marc no longer trims beards; nobody else does
    path = _sample_with(tmp_path, 'services = ["cut", "beard"]', 'services = ["cut"]')
    problems = _problems(path)
    assert len(problems) == 1
    assert problems[0].startswith("businesses[sample-salon].settings: ")
    assert "no staff member performs ['beard']" in problems[0]


def test_staff_without_a_list_perform_every_service(tmp_path: Path) -> None:
    path = _sample_with(tmp_path, 'services = ["cut", "beard"]', "services = []")
    assert load_config(path, env={}).businesses[0].slug == "sample-salon"


@pytest.mark.parametrize(
    ("kind", "inline", "env_key"),
    [
        ("qmatic", 'client_secret = "canary-secret-value"', "client_secret_env"),
        ("clicrdv", 'api_key = "canary-secret-value"', "api_key_env"),
        ("bookingtime", 'password = "canary-secret-value"', "*_env"),
    ],
)
def test_a_secret_written_inline_is_refused_naming_the_env_form(
    tmp_path: Path, kind: str, inline: str, env_key: str
) -> None:
    settings, secrets = PLATFORM_BUSINESSES[kind]
    path = _platform_config(tmp_path, kind, settings + inline + "\n")
    problems = _problems(path, **secrets)
    key = inline.split(" ", 1)[0]
    assert len(problems) == 1 and problems[0].startswith(f"businesses[shop].settings.{key}: ")
    assert "secrets are never written in the configuration" in problems[0]
    assert env_key in problems[0]
    result = _check_config(path, **secrets)
    assert result.returncode == 2 and env_key in result.stderr
    assert "canary-secret-value" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "url",
    [
        "https://bot-api.example",
        "https://bot-api.example/",
        "https://bot-api.example/bot",
        "https://bot-api.example/bot/",
    ],
)
def test_the_bot_api_address_is_taken_with_or_without_bot(url: str) -> None:
    assert bot_api_urls(url) == (
        "https://bot-api.example/bot",
        "https://bot-api.example/file/bot",
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.telegram.org/bot123456:SECRET-token", "without the bot token"),
        ("https://api.telegram.org/bot123456:SECRET-token/", "without the bot token"),
        ("api.telegram.org", "not an http(s) address"),
        ("https://bot-api.example/?token=123456:SECRET", "no query"),
    ],
)
def test_a_wrong_bot_api_address_says_what_is_wrong_without_echoing_it(
    url: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as error:
        TelegramSettings.from_env({"TELEGRAM_API_BASE_URL": url})
    assert expected in str(error.value) and "SECRET" not in str(error.value)
    result = _check_config(SAMPLE_CONFIG, TELEGRAM_API_BASE_URL=url)
    assert result.returncode == 2 and expected in result.stderr
    assert "SECRET" not in result.stderr and "Traceback" not in result.stderr


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotApi]:
    with FakeBotApi(limit=1000) as api:
        yield api


async def test_a_bot_api_address_ending_in_bot_starts_the_bot(
    services: Services, fake_api: FakeBotApi
) -> None:
    """python-telegram-bot's own default ends in /bot: an address copied from it works."""
    assert fake_api.base_url.endswith("/bot")
    application = build_application(
        services, token=TOKEN, base_url=fake_api.base_url, rate_limit=False, jobs=False
    )
    async with application:  # getMe: InvalidToken when the URL was .../bot/bot<token>
        assert application.bot.username


def test_check_config_shows_the_database_file_a_relative_path_resolves_to(
    tmp_path: Path,
) -> None:
    result = _check_config(SAMPLE_CONFIG, BOOKBOT_DATABASE_URL="sqlite+aiosqlite:///rel.db")
    assert result.returncode == 0, result.stderr
    repository = Path(__file__).resolve().parents[2]  # _check_config's working directory
    assert f"database: SQLite file {repository / 'rel.db'}" in result.stdout
    shown = _check_config(
        SAMPLE_CONFIG, BOOKBOT_DATABASE_URL="postgresql+asyncpg://bookbot:hunter2@db/bookbot"
    )
    assert "database: postgresql+asyncpg://bookbot:***@db/bookbot" in shown.stdout


def test_a_relative_sqlite_path_is_anchored_once_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(SAMPLE_CONFIG, env={})
    assert config.database_url == f"sqlite+aiosqlite:///{tmp_path / 'bookbot.db'}"
    absolute = load_config(
        SAMPLE_CONFIG, env={"BOOKBOT_DATABASE_URL": "sqlite+aiosqlite:////data/b.db"}
    )
    assert absolute.database_url == "sqlite+aiosqlite:////data/b.db"


def test_a_dispatcher_given_a_database_url_without_an_asyncio_driver_says_so() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.delivery", "--database-url", "mysql://bookbot:hunter2@db/x"],
        env={"TELEGRAM_BOT_TOKEN": TOKEN, "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )
    assert result.returncode != 0
    assert "database URL: the 'mysql' database is not supported" in result.stderr
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr
