"""``bookbot check-provider <business>``: signs in with the configured credentials, reads the
catalog once, prints what it found or the precise reason it failed, for any adapter."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from bot.check_provider import check_provider
from bot.cli import main
from bot.config import AppConfig, BusinessConfig
from tests.bot.clickbook_world import (
    KEY_ENV,
    STAFF_EMAIL,
    STAFF_PASSWORD,
    clickbook_config,
    clickbook_world,
)
from tests.bot.clicrdv_world import KEY_ENV as CLICRDV_KEY_ENV
from tests.bot.clicrdv_world import clicrdv_config
from tests.fakes.clickbook import API_KEY, FakeClickbook
from tests.fakes.clicrdv import API_KEY as CLICRDV_KEY
from tests.fakes.clicrdv import build_fake

CHECK_ENV = "STUDIO_ZEN_CHECK_PASSWORD"


def staff_config(database_url: str, cache: Path, password_env: str = CHECK_ENV) -> AppConfig:
    config = clickbook_config(database_url, cache)
    business = config.businesses[0]
    settings = {**business.settings, "check_email": STAFF_EMAIL, "check_password_env": password_env}
    updated = BusinessConfig.model_validate({**business.model_dump(), "settings": settings})
    return config.model_copy(update={"businesses": [updated]})


async def run_check(config: AppConfig, app: object, env: dict[str, str]) -> tuple[bool, list[str]]:
    lines: list[str] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=5.0) as http:  # type: ignore[arg-type]
        ok = await check_provider(
            config, config.businesses[0].slug, env=env, http=http, out=lines.append
        )
    return ok, lines


async def test_clickbook_signs_in_as_the_configured_staff_and_lists_the_catalog(
    database_url: str, tmp_path: Path
) -> None:
    async with clickbook_world(database_url, tmp_path) as world:
        config = staff_config(database_url, tmp_path)
        ok, lines = await run_check(
            config, world.fake, {KEY_ENV: API_KEY, CHECK_ENV: STAFF_PASSWORD}
        )
    text = "\n".join(lines)
    assert ok, text
    assert "signed in as Maya Klein (staff)" in text
    assert "location: 2 found: City centre, Harbour" in text
    assert "service: 2 found: Massage, Facial" in text
    assert "staff: 2 found: Maya, Noah" in text
    assert "free days in the next 30 days:" in text and "free times on" in text
    assert STAFF_PASSWORD not in text


async def test_clickbook_says_precisely_why_the_sign_in_failed(
    database_url: str, tmp_path: Path
) -> None:
    async with clickbook_world(database_url, tmp_path) as world:
        config = staff_config(database_url, tmp_path)
        ok, lines = await run_check(config, world.fake, {KEY_ENV: API_KEY, CHECK_ENV: "not-it"})
    assert not ok
    assert "  sign-in failed: AuthFailed: ClickBook answered 401" in lines


async def test_clickbook_reports_an_operation_the_wsdl_lacks(
    database_url: str, tmp_path: Path
) -> None:
    fake = FakeClickbook()
    fake.drop_operation("ClickBookPrivate", "GETBOOKINGS")
    async with clickbook_world(database_url, tmp_path, fake=fake):
        ok, lines = await run_check(
            clickbook_config(database_url, tmp_path), fake, {KEY_ENV: API_KEY}
        )
    assert not ok
    assert "  problem: the ClickBookPrivate WSDL has no operation GETBOOKINGS" in lines


async def test_a_rest_platform_refusing_the_api_key_is_named(database_url: str) -> None:
    fake = build_fake()
    config = clicrdv_config(database_url, fake.group.id)
    ok, lines = await run_check(config, fake, {CLICRDV_KEY_ENV: CLICRDV_KEY + "-wrong"})
    assert not ok
    assert lines[-1] == "  failed: ProviderUnavailable: the platform refused the business's API key"
    ok, lines = await run_check(config, fake, {CLICRDV_KEY_ENV: CLICRDV_KEY})
    assert ok and any(line.startswith("  service: 3 found: Cut") for line in lines), lines


def test_the_command_checks_the_sample_salon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOOKBOT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'check.db'}")
    monkeypatch.delenv("BOOKBOT_CONFIG", raising=False)
    assert main(["check-provider", "sample-salon"]) == 0
    out = capsys.readouterr().out
    assert "sample-salon" in out and "service: 3 found: Haircut, Colour, Beard trim" in out
    assert main(["check-provider", "nowhere"]) == 1
    assert "no business 'nowhere'" in capsys.readouterr().out
