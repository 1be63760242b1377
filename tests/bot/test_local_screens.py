"""The slot screen's state: what it keeps while the times are shown (a compact list, or the
dicts that states saved before it), what it drops once a time is tapped, and paging and Back
still working with both."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from bot.i18n import format_clock
from bot.services import Services
from providers.base import Slot
from storage.models import Conversation
from tests.bot.harness import ChatDriver, running_bot

TIME = re.compile(r"^\d{1,2}:\d{2}")


async def state_of(services: Services, user_id: int = 42) -> dict[str, Any]:
    async with services.sessions() as session:
        data = await session.scalar(
            select(Conversation.data).where(Conversation.user_id == user_id)
        )
        return dict(data or {})


async def store_state(services: Services, data: dict[str, Any], user_id: int = 42) -> None:
    async with services.sessions() as session, session.begin():
        await session.execute(
            update(Conversation).where(Conversation.user_id == user_id).values(data=data)
        )


async def to_second_day_with_any_staff(chat: ChatDriver) -> None:
    """The slot screen of the second bookable day (a whole day, so more than a page)."""
    await chat.send("/book")
    await chat.press("Haircut · 30 min · €25.00")
    await chat.press("No preference")
    days = [data for label, data in chat.api.last_buttons() if label.isdigit()]
    await chat.tap(days[1])
    assert "Free times on" in chat.text


def times(chat: ChatDriver) -> list[tuple[str, str]]:
    return [(label, data) for label, data in chat.api.last_buttons() if TIME.match(label)]


async def test_shown_times_are_kept_compact_and_dropped_once_one_is_tapped(
    services: Services,
) -> None:
    async with running_bot(services) as chat:
        await to_second_day_with_any_staff(chat)
        offered = (await state_of(services))["b"]["slots"]
        assert len(offered) == len(times(chat)) == 12
        assert all(isinstance(entry, list) and len(entry) == 5 for entry in offered)
        label, data = times(chat)[5]
        await chat.tap(data)
        assert "first name" in chat.text
        booking = (await state_of(services))["b"]
        assert "slots" not in booking
        chosen = Slot.from_json(booking["slot"])
        assert chosen.id == offered[5][0] and chosen.start.isoformat() == offered[5][1]
        assert label.startswith(format_clock(chosen.start, "en"))

        # Back shows the same page of times again, and a time tapped there is taken.
        await chat.press("« Back")
        assert "Free times on" in chat.text
        assert len((await state_of(services))["b"]["slots"]) == 12
        await chat.tap(times(chat)[0][1])
        assert "first name" in chat.text


async def test_paging_then_tapping_books_the_time_of_that_page(services: Services) -> None:
    async with running_bot(services) as chat:
        await to_second_day_with_any_staff(chat)
        first_page = [label for label, _ in times(chat)]
        await chat.press("Later ›")
        second_page = [label for label, _ in times(chat)]
        assert second_page and not set(second_page) & set(first_page)
        assert "‹ Earlier" in chat.labels
        offered = (await state_of(services))["b"]["slots"]
        await chat.tap(times(chat)[0][1])
        assert "first name" in chat.text
        assert (await state_of(services))["b"]["slot"]["id"] == offered[0][0]


async def test_times_stored_as_dicts_before_the_compact_form_still_work(
    services: Services,
) -> None:
    """A conversation saved by the previous version (shown times as ``Slot.to_json`` dicts)
    continues after the upgrade."""
    async with running_bot(services) as chat:
        await to_second_day_with_any_staff(chat)
        data = await state_of(services)
        legacy = [
            Slot(
                id=entry[0],
                start=datetime.fromisoformat(entry[1]),
                end=datetime.fromisoformat(entry[2]),
                resource_id=entry[3],
                resource_name=entry[4],
            ).to_json()
            for entry in data["b"]["slots"]
        ]
        data["b"]["slots"] = legacy
        await store_state(services, data)
        await chat.tap(times(chat)[2][1])
        assert "first name" in chat.text
        assert (await state_of(services))["b"]["slot"] == legacy[2]


async def test_offered_options_leave_the_state_once_one_is_picked(services: Services) -> None:
    async with running_bot(services) as chat:
        await chat.send("/book")
        assert [o["label"] for o in (await state_of(services))["b"]["opts"]] == [
            "Haircut",
            "Colour",
            "Beard trim",
        ]
        await chat.press("Haircut · 30 min · €25.00")
        # the staff step's own options replaced the services
        assert [o["label"] for o in (await state_of(services))["b"]["opts"]] == [
            "",
            "Anna",
            "Marc",
        ]
        await chat.press("Marc")
        assert "Pick a day" in chat.text
        booking = (await state_of(services))["b"]
        assert "opts" not in booking and booking["ch"]["staff"]["labels"] == ["Marc"]
        await chat.press("« Back")
        assert "Who would you like to see?" in chat.text
        await chat.press("Anna")
        assert (await state_of(services))["b"]["ch"]["staff"]["labels"] == ["Anna"]


async def test_buttons_with_the_same_action_share_one_token(services: Services) -> None:
    """The month view's blank cells all do nothing: one token, one stored action, and the
    state written on every update does not carry twenty copies of it."""
    async with running_bot(services) as chat:
        await chat.send("/book")
        await chat.press("Haircut · 30 min · €25.00")
        await chat.press("No preference")
        blanks = {data for label, data in chat.api.last_buttons() if not label.strip()}
        assert len(blanks) == 1
        actions = (await state_of(services))["menu"]["a"]
        assert len(actions) == len(set(actions))
        assert len(actions) == len({data for _, data in chat.api.last_buttons()})
        # a blank cell's token still does nothing but keep the calendar
        await chat.tap(blanks.pop())
        assert any(label.isdigit() for label, _ in chat.api.last_buttons())
