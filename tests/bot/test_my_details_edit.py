"""/mydetails shows each stored person's phone and email and edits each field: the next
message is the new value, checked like the booking's customer step (bad input is said and
the user stays at the step); only their own fiche can be edited."""

from __future__ import annotations

from sqlalchemy import select

from bot.services import Services
from storage.models import Fiche
from tests.bot.harness import running_bot
from tests.bot.test_local_booking import book_haircut


async def test_each_field_is_shown_and_edited(services: Services) -> None:
    async with running_bot(services, user_id=1) as owner:
        await book_haircut(owner)
        await owner.press("✅ Confirm")
        await owner.send("/mydetails")
        assert (
            "Anna Martin (me) — Salon Belle Rue · +33 6 12 34 56 78 · anna@example.org"
            in owner.text
        )
        await owner.press("✏ Edit Anna Martin (me)")
        assert owner.text == "What would you like to change for Anna Martin (me)?"
        assert owner.labels == ["First name", "Last name", "Phone", "Email", "« Back"]
        await owner.press("Phone")
        assert owner.text == "Send the new value: Phone."
        await owner.send("not a phone")
        assert owner.text == "That does not look like a phone number."
        await owner.send("06 98 76 54 32")  # national, read in the salon's country
        assert owner.text.startswith("Saved.\n\nThe details you stored for your bookings:")
        assert "+33 6 98 76 54 32" in owner.text
        await owner.press("✏ Edit Anna Martin (me)")
        await owner.press("Email")
        await owner.send("/help")  # a command ends the edit
        await owner.send("anna@new.example")
        assert owner.text.startswith("Send /book to make an appointment")
    async with services.sessions() as session:
        fiche = (await session.scalars(select(Fiche))).one()
    assert (fiche.phone, fiche.email) == ("+33698765432", "anna@example.org")


async def test_another_users_fiche_cannot_be_edited(services: Services) -> None:
    async with running_bot(services, user_id=1) as owner:
        await book_haircut(owner)
        await owner.press("✅ Confirm")
    async with services.sessions() as session:
        fiche_id = (await session.scalars(select(Fiche.id))).one()
    async with running_bot(services, user_id=2) as intruder:
        await intruder.tap(f"f:ep:{fiche_id}")  # forged: no such token in their chat
        await intruder.send("+33 6 00 00 00 00")
    async with services.sessions() as session:
        assert (await session.scalars(select(Fiche.phone))).one() == "+33612345678"
