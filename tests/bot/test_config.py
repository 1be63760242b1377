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
country = "Francia"

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
    assert "businesses[Bad Slug].country: Value error, unknown country 'Francia'" in problems


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


def _check_config(path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``bookbot check-config`` run on ``path`` with only ``env`` in its environment."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "check-config"],
        env={"BOOKBOT_CONFIG": str(path), "PATH": "", **env},
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )


def test_check_config_command_exits_non_zero_with_the_message(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN)
    result = _check_config(path)
    assert result.returncode == 2
    assert "unknown provider 'nope'" in result.stderr
    ok = _check_config(SAMPLE_CONFIG)
    assert ok.returncode == 0, ok.stderr
    assert "sample-salon" in ok.stdout


#: One valid business per platform adapter, and the secrets its ``*_env`` keys name.
PLATFORM_BUSINESSES = {
    "bookingtime": (
        'organization_id = "f6abc"\nclient_id_env = "BT_CLIENT_ID"\n',
        {"BT_CLIENT_ID": "id-value"},
    ),
    "qmatic": (
        'account = "brussels"\nregion_host = "eu"\ntenant_id = "0f1e"\n'
        'client_id_env = "QM_ID"\nclient_secret_env = "QM_SECRET"\n',
        {"QM_ID": "id-value", "QM_SECRET": "canary-secret-value"},
    ),
    "clicrdv": (
        'group_id = 4\nenvironment = "sandbox"\napi_key_env = "CR_KEY"\n',
        {"CR_KEY": "canary-secret-value"},
    ),
}
PLATFORM_TEMPLATE = """
[[businesses]]
slug = "shop"
name = "Shop"
provider = "{kind}"
timezone = "Europe/Paris"
[businesses.settings]
{settings}"""


def _platform_config(tmp_path: Path, kind: str, settings: str) -> Path:
    path = tmp_path / f"{kind}.toml"
    path.write_text(PLATFORM_TEMPLATE.format(kind=kind, settings=settings))
    return path


@pytest.mark.parametrize("kind", sorted(PLATFORM_BUSINESSES))
def test_a_valid_platform_business_passes_the_check(tmp_path: Path, kind: str) -> None:
    settings, secrets = PLATFORM_BUSINESSES[kind]
    config = load_config(_platform_config(tmp_path, kind, settings), env=secrets)
    business = config.businesses[0]
    assert business.provider == kind
    assert sorted(business.secret_names()) == sorted(secrets)


@pytest.mark.parametrize("kind", sorted(PLATFORM_BUSINESSES))
def test_a_misspelled_platform_setting_is_reported_with_its_key(tmp_path: Path, kind: str) -> None:
    settings, secrets = PLATFORM_BUSINESSES[kind]
    first_key = settings.split(" =", 1)[0]
    misspelled = settings.replace(first_key, first_key + "x", 1)
    with pytest.raises(ConfigError) as error:
        load_config(_platform_config(tmp_path, kind, misspelled), env=secrets)
    problems = error.value.problems
    assert f"businesses[shop].settings.{first_key}x: Extra inputs are not permitted" in problems
    assert any(p.startswith(f"businesses[shop].settings.{first_key}: ") for p in problems)


@pytest.mark.parametrize("kind", sorted(PLATFORM_BUSINESSES))
def test_a_missing_secret_variable_is_named_and_its_siblings_value_never_printed(
    tmp_path: Path, kind: str
) -> None:
    settings, secrets = PLATFORM_BUSINESSES[kind]
    missing, *kept = sorted(secrets)
    env = {name: secrets[name] for name in kept}
    with pytest.raises(ConfigError) as error:
        load_config(_platform_config(tmp_path, kind, settings), env=env)
    assert error.value.problems == [
        f"businesses[shop].settings: environment variable {missing} is not set"
    ]
    assert "canary-secret-value" not in str(error.value)


def test_check_config_reports_a_misspelled_organization_id_without_a_traceback(
    tmp_path: Path,
) -> None:
    settings, _ = PLATFORM_BUSINESSES["bookingtime"]
    path = _platform_config(
        tmp_path, "bookingtime", settings.replace("organization_id", "organisation_id")
    )
    result = _check_config(path, BT_CLIENT_ID="id-value")
    assert result.returncode == 2
    assert "businesses[shop].settings.organisation_id: Extra inputs" in result.stderr
    assert "businesses[shop].settings.organization_id: Field required" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_misspelled_local_setting_is_reported_with_its_key(tmp_path: Path) -> None:
    sample = SAMPLE_CONFIG.read_text(encoding="utf-8")
    assert "min_lead_minutes" in sample
    path = tmp_path / "local.toml"
    path.write_text(sample.replace("min_lead_minutes", "min_lead_minute", 1))
    with pytest.raises(ConfigError) as error:
        load_config(path, env={})
    assert any(
        p.startswith("businesses[sample-salon].settings.min_lead_minute: Extra inputs")
        for p in error.value.problems
    ), error.value.problems
