"""The Telegram side of the engine: command menu, contact keyboard, deep links."""

from __future__ import annotations

import gc

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.app import _post_init
from bot.handlers import on_update
from bot.services import Services
from tests.bot.harness import running_bot


async def test_command_menu_is_set_in_every_language(services: Services) -> None:
    async with running_bot(services) as chat:
        await _post_init(chat.application)
        calls = chat.calls("setMyCommands")
        assert {c.params.get("language_code") for c in calls} == {None, "fr"}
        english = next(c for c in calls if c.params.get("language_code") is None)
        assert [c["command"] for c in english.params["commands"]] == [
            "book",
            "mybookings",
            "mydetails",
            "settings",
            "mydata",
            "forget",
            "cancel",
            "language",
            "help",
        ]
    # start-up's objects are out of the collector's sight from then on
    assert gc.get_freeze_count() > 0
    gc.unfreeze()  # the rest of the test session collects as usual


async def test_phone_step_offers_the_contact_sharing_button(services: Services) -> None:
    async with running_bot(services) as chat:
        await chat.send("/book")
        await chat.press("Haircut · 30 min · €25.00")
        await chat.press("Anna")
        await chat.press_first_day()
        await chat.press_first_time()
        await chat.send("Anna")
        await chat.send("Martin")
        keyboards = [
            c.params["reply_markup"]
            for c in chat.calls("sendMessage")
            if isinstance(c.params.get("reply_markup"), dict)
            and "keyboard" in c.params["reply_markup"]
        ]
        assert keyboards and keyboards[-1]["keyboard"][0][0]["request_contact"] is True
        await chat.share_contact("33612345678")
        removed = chat.calls("sendMessage")[-2].params.get("reply_markup")
        assert removed == {"remove_keyboard": True}
        assert "email" in chat.text


async def test_deep_link_preselects_the_business(services: Services) -> None:
    async with running_bot(services) as chat:
        await chat.send("/start sample-salon")
        assert "Which service would you like?" in chat.text
        await chat.send("/start no-such-business")
        assert "Which service would you like?" in chat.text


async def test_help_and_unknown_commands_answer_with_the_command_list(services: Services) -> None:
    async with running_bot(services) as chat:
        await chat.send("/help")
        assert "/mybookings" in chat.text
        await chat.send("/frobnicate")
        assert "/book" in chat.text


async def test_a_button_without_data_is_answered_and_changes_nothing(services: Services) -> None:
    async with running_bot(services) as chat:
        await chat.send("/book")
        menu = chat.labels
        sent_before = len(chat.calls("sendMessage")) + len(chat.calls("editMessageText"))
        await chat.tap("")
        answers = chat.calls("answerCallbackQuery")
        assert answers[-1].params.get("text") == "This menu has expired."
        # the engine never saw it: no new screen, and the menu still works
        assert len(chat.calls("sendMessage")) + len(chat.calls("editMessageText")) == sent_before
        assert chat.labels == menu
        await chat.press("Haircut · 30 min · €25.00")
        assert "Who would you like to see?" in chat.text


async def test_a_tap_carrying_the_whole_message_as_telegram_sends_it(services: Services) -> None:
    """Telegram repeats the tapped message, text and keyboard, in the callback query."""
    async with running_bot(services) as chat:
        await chat.send("/book")
        menu = chat.api.sent()[-1]
        markup = menu.params["reply_markup"]
        update = chat.updates.button(
            chat.data_of("Haircut · 30 min · €25.00"),
            message_id=chat.api.last_menu_message_id() or 1,
            text=menu.params["text"],
            reply_markup=markup,
        )
        assert update.callback_query is not None and update.callback_query.message is not None
        echoed = update.callback_query.message.reply_markup
        assert (
            echoed is not None
            and echoed.inline_keyboard[0][0].text == markup["inline_keyboard"][0][0]["text"]
        )
        await chat.application.process_update(update)
        assert "Who would you like to see?" in chat.text


async def test_the_engines_buttons_are_checked_first_and_no_feature_claims_them(
    services: Services,
) -> None:
    """A tap on the engine's menus skips every feature's handler (it is first in
    bot.handlers.handler_table); that is only right while no feature's pattern could take the
    engine's callback data."""
    async with running_bot(services) as chat:
        group = chat.application.handlers[0]
        first = group[0]
        assert isinstance(first, CallbackQueryHandler) and first.callback is on_update
        engine_taps = ["c1.0", "c12.3", "c987654.42"]
        for handler in group[1:]:
            if isinstance(handler, CallbackQueryHandler) and handler.pattern is not None:
                for data in engine_taps:
                    update = Update.de_json(
                        {
                            "update_id": 1,
                            "callback_query": {
                                "id": "1",
                                "from": {"id": 42, "is_bot": False, "first_name": "A"},
                                "chat_instance": "x",
                                "data": data,
                            },
                        },
                        chat.application.bot,
                    )
                    assert not handler.check_update(update), (handler.callback, data)
        # and a real tap still goes through the engine
        await chat.send("/book")
        await chat.press("Haircut · 30 min · €25.00")
        assert "Who would you like to see?" in chat.text
