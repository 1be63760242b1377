"""Canary passwords (a customer's, a staff member's, a new customer's) are found nowhere after
every ClickBook flow: not in the database file or its WAL, the conversation state, the logs at
DEBUG, the errors' texts, nor zeep's on-disk WSDL cache."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import pytest

from providers.base import ProviderError, Selection
from tests.bot.clickbook_world import (
    EMAIL,
    PASSWORD,
    STAFF_PASSWORD,
    ClickbookWorld,
    book_as_customer,
    choose_to_date,
    clickbook_world,
    register,
    staff_to_confirm,
)
from tests.bot.signed_in_steps import (
    BOOKED,
    choose_time,
)
from tests.bot.test_clickbook_registration import NEW_EMAIL, NEW_PASSWORD

CANARIES = (PASSWORD, STAFF_PASSWORD, NEW_PASSWORD)


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file of the test's folder: the database, its WAL and journal, zeep's cache."""
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def assert_nowhere(blobs: dict[str, bytes], texts: list[str]) -> None:
    for canary in CANARIES:
        for name, blob in blobs.items():
            assert canary.encode() not in blob, f"{canary} in {name}"
        for text in texts:
            assert canary not in text


async def every_flow(world: ClickbookWorld) -> None:
    async with world.chat() as chat:  # a returning customer
        await book_as_customer(chat)
    async with world.chat(user_id=43) as chat:  # a new customer registers
        await choose_to_date(chat)
        await choose_time(chat)
        await register(chat, NEW_EMAIL, "Jean", "Dupont", "+33 6 11 22 33 44", NEW_PASSWORD)
        await chat.press("Book for Jean Dupont")
        await chat.press("✅ Confirm")
        assert BOOKED in chat.text
    async with world.chat(user_id=44) as chat:  # a staff member books for a client
        await staff_to_confirm(chat)
        await chat.press("✅ Confirm")
        assert BOOKED in chat.text


async def test_canary_passwords_are_nowhere_after_every_flow(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with clickbook_world(database_url, tmp_path) as world:
        await every_flow(world)
        states = [str(await world.state(user_id)) for user_id in (42, 43, 44)]
        during = files_under(tmp_path)  # the WAL is still there while the engine is open
        reprs = [repr(world.provider), repr(world.provider.client), repr(world.services)]
    assert any(p.endswith("-wal") for p in during), "the WAL must be searched too"
    assert any("zeep-wsdl" in p for p in during), "zeep's cache must be searched too"
    logs = [r.getMessage() for r in caplog.records] + [caplog.text]
    assert_nowhere({**during, **files_under(tmp_path)}, [*states, *logs, *reprs])


@pytest.mark.parametrize("mode", ["timeout", "unavailable", "error", "wrong", "locked"])
async def test_a_failed_sign_in_names_no_password_in_its_error(
    database_url: str, tmp_path: Path, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with clickbook_world(database_url, tmp_path) as world:
        account = world.fake.world.accounts[EMAIL]
        password = PASSWORD
        if mode == "wrong":
            password = STAFF_PASSWORD  # a canary too, and the wrong one for this account
        elif mode == "locked":
            account.locked = True
        else:
            world.fake.control.fail_next(mode, 5)
        with pytest.raises(ProviderError) as failed:
            await world.provider.sign_in(Selection(user_key="tg:9"), EMAIL, password)
        error = failed.value
        texts = [
            str(error),
            repr(error),
            str(error.message),
            "".join(traceback.format_exception(error)),
            caplog.text,
        ]
    assert_nowhere({}, texts)
