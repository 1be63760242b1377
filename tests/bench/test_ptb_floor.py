"""bench/ptb_floor.py, the stock python-telegram-bot floor, really completes its bookings."""

from __future__ import annotations

import pytest
from telegram import Update
from telegram.ext import ContextTypes

from bench import ptb_floor, ptb_floor_bot
from bench.updates import BenchFailure


async def test_the_floor_confirms_and_cancels_every_booking() -> None:
    result = await ptb_floor.run(bookings=2, conversations=4, users=1, warmup=0)

    assert (result.confirmed, result.cancelled) == (2, 2)
    # the haircut (with its staff step: 13 updates), then the colour (12)
    assert result.updates == 25


async def test_interleaved_users_complete_their_bookings_too() -> None:
    result = await ptb_floor.run(bookings=3, conversations=0, users=2, warmup=1)

    assert (result.confirmed, result.cancelled) == (4, 4)
    assert result.updates == 13 + 12 + 12


async def test_a_floor_that_does_not_book_fails_instead_of_printing_a_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def pretend(
        self: ptb_floor_bot.FloorBot, update: Update, context: ContextTypes.DEFAULT_TYPE
    ) -> int:
        await self._say(update, context, "✅ Booked! See you soon.", None)
        return ptb_floor_bot.ConversationHandler.END

    monkeypatch.setattr(ptb_floor_bot.FloorBot, "confirm", pretend)

    with pytest.raises(BenchFailure):
        await ptb_floor.run(bookings=2, conversations=0, users=1, warmup=0)
