"""Configuration: the sample is valid, and every problem is reported with its key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import SAMPLE_CONFIG, ConfigError, load_config

BROKEN = """
database_url = "sqlite+aiosqlite:///x.db"
surprise = 1

[[businesses]]
slug = "Bad Slug"
name = "Shop"
provider = "nope"
timezone = "Mars/Olympus"

[[businesses]]
slug = "ok"
name = "Shop"
provider = "local"
timezone = "Europe/Paris"
[businesses.settings]
services = []
staff = []

[[businesses]]
slug = "remote"
name = "Remote"
provider = "bookingtime"
timezone = "Europe/Berlin"
[businesses.settings]
organization_id = "f6abc"
client_id_env = "BOOKINGTIME_CLIENT_ID"
"""


def test_the_sample_configuration_is_valid() -> None:
    config = load_config(SAMPLE_CONFIG, env={})
    assert [b.slug for b in config.businesses] == ["sample-salon"]


def test_every_problem_is_reported_with_its_key(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN)
    with pytest.raises(ConfigError) as error:
        load_config(path, env={})
    problems = "\n".join(error.value.problems)
    assert "surprise" in problems
    assert "businesses[Bad Slug].slug" in problems
    assert "businesses[Bad Slug].provider: Value error, unknown provider 'nope'" in problems
    assert "businesses[Bad Slug].timezone" in problems and "Mars/Olympus" in problems


def test_provider_settings_and_missing_secrets_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(
        BROKEN.replace('slug = "Bad Slug"', 'slug = "fine"')
        .replace('"nope"', '"local"')
        .replace("Mars/Olympus", "UTC")
    )
    with pytest.raises(ConfigError) as error:
        load_config(path, env={})
    problems = "\n".join(error.value.problems)
    assert "businesses[ok].settings.services" in problems
    assert "environment variable BOOKINGTIME_CLIENT_ID is not set" in problems


def test_check_config_command_exits_non_zero_with_the_message(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check-config"],
        env={"BOOKBOT_CONFIG": str(path), "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )
    assert result.returncode == 2
    assert "unknown provider 'nope'" in result.stderr
    ok = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check-config"],
        env={"BOOKBOT_CONFIG": str(SAMPLE_CONFIG), "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "sample-salon" in ok.stdout
