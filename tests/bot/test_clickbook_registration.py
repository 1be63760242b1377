"""A new customer registers with ClickBook in the chat and books, all in one conversation:
NewUserRegistration through the Public API (its flags enforced), the stub processed by the
Admin API (301), then signed in, then the booking through the Private API."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.clickbook_world import (
    SIGN_IN_SCREEN,
    choose_to_date,
    clickbook_world,
    deleted,
    register,
)
from tests.bot.signed_in_steps import (
    BOOKED,
    CHECK_PROMPT,
    WHO_PROMPT,
    choose_time,
    send_message,
)

NEW_EMAIL = "jean.dupont@example.org"
NEW_PASSWORD = "Canary-Pa55word-c1ickbook-new-71b3"


async def test_a_new_customer_registers_signs_in_and_books_in_one_conversation(
    database_url: str, tmp_path: Path
) -> None:
    async with clickbook_world(database_url, tmp_path) as world:
        fake = world.fake
        async with world.chat() as chat:
            await choose_to_date(chat)
            await choose_time(chat)
            assert SIGN_IN_SCREEN in chat.text
            await chat.press("Create an account")
            await chat.send(NEW_EMAIL)
            assert "first name" in chat.text
            await chat.send("Jean")
            assert "last name" in chat.text
            await chat.send("Dupont")
            assert "phone number" in chat.text
            await chat.send("06 11 22 33 44")  # the national way: read in the business's country
            # Time zones come from GETTIMEZONEINFO; the business's is among them.
            assert "time zone" in chat.text
            assert "(GMT+01:00) Paris" in chat.labels
            await chat.press("(GMT+01:00) Paris")
            assert "country" in chat.text
            await chat.send("fran")  # a search among the options
            assert "terms" in chat.text and "https://www.clickbook.net/terms" in chat.text
            await chat.send("yes")  # typing is not agreeing
            assert "I agree" in chat.labels
            await chat.press("I agree")
            assert "choose a password" in chat.text
            first = await send_message(chat, NEW_PASSWORD)
            second = await send_message(chat, NEW_PASSWORD + "x")
            assert "did not match" in chat.text  # asked again, from the first
            third = await send_message(chat, NEW_PASSWORD)
            fourth = await send_message(chat, NEW_PASSWORD)
            assert all(deleted(chat, m) for m in (first, second, third, fourth))
            assert f"signed in as {NEW_EMAIL}" in chat.text, chat.text
            assert WHO_PROMPT in chat.text
            await chat.press("Book for Jean Dupont")
            assert CHECK_PROMPT in chat.text and "Jean Dupont" in chat.text
            await chat.press("✅ Confirm")
            assert BOOKED in chat.text, chat.text

        registration = [r for r in fake.requests if r.operation == "SETUSERFIELDS"]
        assert len(registration) == 1 and fake.count("PROCESSREGSTUB") == 1
        account = fake.world.accounts[NEW_EMAIL]
        assert (account.first_name, account.last_name, account.phone) == (
            "Jean",
            "Dupont",
            "+33611223344",
        )
        assert [b.email for b in fake.world.live_bookings()] == [NEW_EMAIL]


async def test_registration_refused_by_clickbook_for_an_existing_email_goes_to_sign_in(
    database_url: str, tmp_path: Path
) -> None:
    from tests.bot.clickbook_world import EMAIL, PASSWORD

    async with clickbook_world(database_url, tmp_path) as world:
        async with world.chat() as chat:
            await choose_to_date(chat)
            await choose_time(chat)
            await register(chat, EMAIL, "Anna", "Martin", "+33 6 12 34 56 78", NEW_PASSWORD)
            assert "already exists" in chat.text, chat.text
            assert "Please type your password for" in chat.text
            await send_message(chat, PASSWORD)
            assert f"Signed in as {EMAIL}" in chat.text
        assert world.fake.world.stubs == {}


async def test_a_field_clickbook_refuses_is_asked_again_and_the_registration_resumes(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with clickbook_world(database_url, tmp_path) as world:
        refuse = {"inp-lastname": "Last names must be at least 3 letters"}
        original = world.fake.world.registration_errors

        def stricter(values: dict[str, str]) -> dict[str, str]:
            errors = original(values)
            if len(values.get("inp-lastname", "")) < 3:
                errors.update(refuse)
            return errors

        monkeypatch.setattr(world.fake.world, "registration_errors", stricter)
        async with world.chat() as chat:
            await choose_to_date(chat)
            await choose_time(chat)
            await register(chat, NEW_EMAIL, "Jean", "Li", "+33 6 11 22 33 44", NEW_PASSWORD)
            # Only the refused field is asked again; the rest is kept.
            assert "last name" in chat.text, chat.text
            await chat.send("Lizier")
            assert "choose a password" in chat.text
            await send_message(chat, NEW_PASSWORD)
            await send_message(chat, NEW_PASSWORD)
            assert f"signed in as {NEW_EMAIL}" in chat.text, chat.text
        assert world.fake.world.accounts[NEW_EMAIL].last_name == "Lizier"
