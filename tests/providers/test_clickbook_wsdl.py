"""The ClickBook WSDLs: read once and kept in zeep's on-disk cache (a warm restart fetches
none), a WSDL that lacks a mapped operation reported at start-up, by ``check-config`` and by a
clear error rather than a traceback, and the session cookie proven to reach the SOAP host."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from providers.base import CustomerDetails, ProviderUnavailable, Selection
from tests.fakes.clickbook import KEY_ENV, FakeClickbook, make_provider

EMAIL, PASSWORD = "anna@example.org", "wsdl-test-password"


async def close(provider) -> None:  # type: ignore[no-untyped-def]
    await provider.aclose()
    await provider.deps.http.aclose()


async def test_a_restart_with_a_warm_wsdl_cache_fetches_no_wsdl(tmp_path: Path) -> None:
    fake = FakeClickbook()
    cold = make_provider(fake, tmp_path)
    assert await cold.start() == []
    assert fake.wsdl_requests() == 4  # the four endpoints, once each
    await cold.options("location", Selection())
    await close(cold)

    before = len(fake.requests)
    warm = make_provider(fake, tmp_path)  # a new process would build it the same way
    assert await warm.start() == []
    assert (await warm.documents()).fetched == 0
    assert fake.wsdl_requests() == 4 and len(fake.requests) == before
    assert [o.id for o in await warm.options("location", Selection())] == ["L1", "L2"]
    await close(warm)


async def test_a_wsdl_given_as_a_file_is_read_from_disk(tmp_path: Path) -> None:
    fake = FakeClickbook()
    files = {}
    for endpoint, text in fake.wsdl.items():
        path = tmp_path / f"{endpoint}.wsdl"
        path.write_text(text, encoding="utf-8")
        files[endpoint] = str(path)
    provider = make_provider(fake, tmp_path, settings={"wsdl": files})
    assert await provider.start() == []
    assert fake.wsdl_requests() == 0
    # The file's address (clickbook.net) is not used: the configured SOAP base is.
    assert [o.id for o in await provider.options("location", Selection())] == ["L1", "L2"]
    await close(provider)


async def test_a_wsdl_missing_a_mapped_operation_is_reported_and_never_a_traceback(
    tmp_path: Path,
) -> None:
    fake = FakeClickbook()
    fake.world.add_account(EMAIL, PASSWORD)
    fake.drop_operation("ClickBookPrivate", "BOOKTIMESLOT")
    provider = make_provider(fake, tmp_path)
    assert await provider.start() == ["the ClickBookPrivate WSDL has no operation BOOKTIMESLOT"]
    selection = Selection({"location": ("L1",), "service": ("S1",)}, user_key="tg:1")
    today = fake.world.now().date()
    day = min(await provider.available_days(selection, today, today + timedelta(days=14)))
    slot = (await provider.slots(selection, day))[0]
    await provider.sign_in(selection, EMAIL, PASSWORD)
    with pytest.raises(ProviderUnavailable, match="has no operation BOOKTIMESLOT"):
        await provider.book(selection, slot, CustomerDetails("Anna", "Martin"))
    assert fake.count("BOOKTIMESLOT") == 0
    await close(provider)


def write_config(tmp_path: Path, settings: str) -> Path:
    path = tmp_path / "bookbot.toml"
    path.write_text(
        f"""
[[businesses]]
slug = "studio-zen"
name = "Studio Zen"
provider = "clickbook"
timezone = "Europe/Paris"

[businesses.settings]
api_key_env = "{KEY_ENV}"
{settings}
""",
        encoding="utf-8",
    )
    return path


async def test_check_config_names_an_operation_the_wsdl_file_lacks(tmp_path: Path) -> None:
    fake = FakeClickbook()
    private = tmp_path / "private.wsdl"
    private.write_text(fake.drop_operation("ClickBookPrivate", "CANCELBOOKING"), encoding="utf-8")
    missing = tmp_path / "absent.wsdl"
    path = write_config(
        tmp_path,
        f'wsdl = {{ ClickBookPrivate = "{private}", ClickBookAdmin = "{missing}" }}\n'
        f'wsdl_cache_path = "{tmp_path / "cache.sqlite"}"',
    )
    with pytest.raises(ConfigError) as failed:
        load_config(path, env={KEY_ENV: "x"})
    problems = "\n".join(failed.value.problems)
    assert (
        "businesses[studio-zen].settings.wsdl.ClickBookPrivate: "
        "the WSDL has no operation CANCELBOOKING" in problems
    )
    assert f"wsdl.ClickBookAdmin: no WSDL file at {missing}" in problems


async def test_check_config_reads_the_wsdl_cache_a_start_up_filled(tmp_path: Path) -> None:
    fake = FakeClickbook()
    fake.drop_operation("ClickBook3P", "GETSTAFF")
    provider = make_provider(fake, tmp_path)
    await provider.start()
    await close(provider)
    path = write_config(
        tmp_path,
        f'soap_base_url = "http://clickbook.test/wsapi/latest"\n'
        f'wsdl_cache_path = "{tmp_path / "zeep-wsdl.sqlite"}"',
    )
    with pytest.raises(ConfigError) as failed:
        load_config(path, env={KEY_ENV: "x"})
    assert any(
        "wsdl.ClickBook3P: the WSDL has no operation GETSTAFF" in p for p in failed.value.problems
    )


async def test_a_login_host_whose_cookie_does_not_reach_the_soap_host_is_reported(
    tmp_path: Path,
) -> None:
    # The sign-in answers from www.clickbook.test, but sets its cookie for that host only.
    fake = FakeClickbook(cookie_domain="www.clickbook.test")
    fake.world.add_account(EMAIL, PASSWORD)
    provider = make_provider(fake, tmp_path)
    with pytest.raises(ProviderUnavailable, match=r"reaches the SOAP host clickbook\.test"):
        await provider.sign_in(Selection(user_key="tg:1"), EMAIL, PASSWORD)
    assert provider.client.session("tg:1") is None
    await close(provider)


async def test_each_users_session_cookie_travels_on_their_own_calls_only(tmp_path: Path) -> None:
    fake = FakeClickbook()
    fake.world.add_account(EMAIL, PASSWORD)
    fake.world.add_account("bob@example.org", "bob-password-1", first_name="Bob")
    provider = make_provider(fake, tmp_path)
    await provider.sign_in(Selection(user_key="tg:1"), EMAIL, PASSWORD)
    await provider.sign_in(Selection(user_key="tg:2"), "bob@example.org", "bob-password-1")
    await provider.options("location", Selection())
    anna, bob = (t for t, (email, _) in fake.world.sessions.items())
    soap = [r for r in fake.requests if r.method == "POST"]
    info = [r for r in soap if r.operation == "GETUSERINFO"]
    assert f"DomAuthSessID={anna}" in info[0].headers["cookie"]
    assert f"DomAuthSessID={bob}" in info[1].headers["cookie"]
    assert "cookie" not in soap[-1].headers  # an anonymous 3P call carries no session
    await close(provider)


async def test_start_up_logs_an_operation_the_wsdl_lacks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.bot.clickbook_world import clickbook_world

    fake = FakeClickbook()
    fake.drop_operation("ClickBook3P", "GETTIMESLOTS")
    async with clickbook_world(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path, fake=fake):
        pass
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "studio-zen (clickbook): the ClickBook3P WSDL has no operation GETTIMESLOTS" in warnings
