"""Staff mode: a staff member of the business signs in with their ClickBook account and books for
a client, in the context of the client's file (found by email, or created with NewClientFile,
after which ClickBook invites the client); the ClientFileID is kept in our fiche and used for the
next booking."""

from __future__ import annotations

from pathlib import Path

from tests.bot.clickbook_world import (
    CLIENT,
    STAFF_EMAIL,
    STAFF_PASSWORD,
    choose_to_date,
    clickbook_world,
    sign_in,
    staff_to_confirm,
)
from tests.bot.signed_in_steps import (
    BOOKED,
    CHECK_PROMPT,
    choose_time,
)


async def test_staff_creates_a_client_file_books_for_the_client_and_reuses_it(
    database_url: str, tmp_path: Path
) -> None:
    async with clickbook_world(database_url, tmp_path) as world:
        fake = world.fake
        async with world.chat() as chat:
            await staff_to_confirm(chat)
            assert CHECK_PROMPT in chat.text and "Chloé Petit" in chat.text, chat.text
            await chat.press("✅ Confirm")
            assert BOOKED in chat.text, chat.text

            (file_id,) = fake.world.client_files
            assert fake.world.client_files[file_id]["email"] == CLIENT["email"]
            first = fake.world.live_bookings()[0]
            assert (first.email, first.context_id) == (STAFF_EMAIL, file_id)
            fiches = await world.fiches()
            assert [(f.first_name, f.provider_ref) for f in fiches] == [("Chloé", file_id)]

            # The next booking for Chloé: our fiche, its ClientFileID, no new client file.
            await choose_to_date(chat)
            await choose_time(chat)
            await sign_in(chat, STAFF_EMAIL, STAFF_PASSWORD)
            await chat.press("Book for Chloé Petit")
            assert CHECK_PROMPT in chat.text
            await chat.press("✅ Confirm")
            assert BOOKED in chat.text, chat.text

        assert list(fake.world.client_files) == [file_id]
        assert [b.context_id for b in fake.world.live_bookings()] == [file_id, file_id]
        assert fake.count("GETCLIENTFILES") == 1 and fake.count("SETUSERFIELDS") == 1


async def test_staff_typing_an_existing_clients_email_books_in_that_file(
    database_url: str, tmp_path: Path
) -> None:
    async with clickbook_world(database_url, tmp_path) as world:
        fake = world.fake
        fake.world.client_files["CF77"] = {
            "first": "Chloé", "last": "Petit", "email": CLIENT["email"], "tel": "0655443322",
            "owner": STAFF_EMAIL,
        }  # fmt: skip
        async with world.chat() as chat:
            await staff_to_confirm(chat)
            await chat.press("✅ Confirm")
            assert BOOKED in chat.text, chat.text
        assert list(fake.world.client_files) == ["CF77"]
        assert [b.context_id for b in fake.world.live_bookings()] == ["CF77"]
        assert [f.provider_ref for f in await world.fiches()] == ["CF77"]
