"""News needs the customer's yes: the confirmation of their first booking at a business asks,
with one button; a tap turns that business's news on and takes the button away, leaving the
confirmation on screen (the switch itself lives in ``/settings``)."""

from __future__ import annotations

from bot.delivery.preferences import answered_news, set_preference
from bot.engine.turn import MenuButton, Turn
from storage.models import Business

#: the menu action of the yes, ``b:news:<business id>``
ACTION = "news"


async def news_question(turn: Turn, business_id: int) -> tuple[str, list[MenuButton]] | None:
    """The question and its button, for a customer who never answered about this business's
    news (whether or not they have switched their reminders)."""
    async with turn.services.sessions() as session:
        if await answered_news(session, turn.event.user_id, business_id):
            return None
    name = turn.services.business(turn.services.business_slugs[business_id]).name
    question = turn.t(
        "Would you like news from {business}? You can change this any time with /settings.",
        business=name,
    )
    return question, [MenuButton(turn.t("🔔 Yes, send me news"), f"b:{ACTION}:{business_id}")]


async def said_yes(turn: Turn, business_id: int) -> None:
    """The yes: news from ``business_id`` on for the tapping user (the id comes from the menu
    this conversation offered, checked by its token)."""
    async with turn.services.sessions() as session, session.begin():
        if await session.get(Business, business_id) is None:
            turn.alert = turn.t("This menu has expired.")
            return
        await set_preference(session, turn.event.user_id, business_id, news=True)
    name = turn.services.business(turn.services.business_slugs[business_id]).name
    turn.alert = turn.t("News from {business} is on. /settings turns it off.", business=name)
    turn.tapped_keyboard = []  # the button goes; the confirmation stays as it is
