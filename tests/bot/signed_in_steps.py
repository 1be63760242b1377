"""The chat steps of a booking on a platform whose customers sign in (ClicRDV, ClickBook), as
the user takes them, and the prompts they meet on the way."""

from __future__ import annotations

import re

from tests.bot.harness import ChatDriver

PASSWORD_PROMPT = "Please type your password for"
WHO_PROMPT = "Who is this appointment for?"
CHECK_PROMPT = "Please check your booking"
BOOKED = "Booked!"


async def choose_time(chat: ChatDriver) -> str:
    """From the date picker to the sign-in step; returns the time label tapped."""
    assert "Pick a day" in chat.text or "No free time this month" in chat.text, chat.text
    await chat.press("⚡ Earliest available")
    assert "Free times on" in chat.text, chat.text
    label = next(text for text in chat.labels if re.match(r"^\d{1,2}:\d{2}", text))
    await chat.press_first_time()
    return label


async def send_message(chat: ChatDriver, text: str) -> int:
    """Send ``text`` as the user; returns the message's id (to find its deletion)."""
    update = chat.updates.text(text)
    assert update.message is not None
    await chat.application.process_update(update)
    return update.message.message_id


async def sign_in_at(chat: ChatDriver, screen: str, email: str, password: str) -> int:
    """From the sign-in step (whose text holds ``screen``) through the password; returns the
    password message's id."""
    assert screen in chat.text, chat.text
    await chat.press("I have an account")
    assert "Please type your email address." in chat.text
    await chat.send(email)
    assert PASSWORD_PROMPT in chat.text
    return await send_message(chat, password)
