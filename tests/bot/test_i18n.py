"""Every text the bot shows is translated: the catalogs are complete, and a French user books in
French, with French dates and prices; ``/language`` overrides Telegram's language for good."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from sqlalchemy import select, update

from bot.config import AppConfig
from bot.i18n import LANGUAGES, gettext, ngettext
from bot.i18n_catalog import catalog_path, check, main
from bot.i18n_extract import dynamic_message_ids, extract
from bot.services import Services, build_services
from providers.local.adapter import LocalProvider
from storage.models import Booking, LocalService, User
from tests.bot.harness import running_bot

#: Monday 23 November 2026, 08:00 in Paris: the sample salon's first free time is 09:00 today.
MONDAY_MORNING = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def plain(text: str) -> str:
    """``text`` with French typography's no-break spaces (U+00A0, U+202F) as plain spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.fixture
async def monday_services(sample_config: AppConfig) -> AsyncIterator[Services]:
    built = await build_services(sample_config, env={}, clock=lambda: MONDAY_MORNING)
    yield built
    await built.aclose()


# -- the catalogs ------------------------------------------------------------------------------
def test_every_extracted_message_has_a_french_translation_with_the_same_placeholders() -> None:
    problems = check()
    assert problems == [], "\n".join(str(p) for p in problems)
    assert main(["check"]) == 0


def test_extraction_finds_every_way_the_code_names_a_message() -> None:
    ids = {str(m.id) for m in extract() if isinstance(m.id, str) and m.id}
    expected = {
        "Try again in a moment.",  # turn.t("...")
        "That message is too long.",  # turn.notice("...")
        "This cannot be booked online at the moment.",  # turn.notice(refused.message or "...")
        "The booking was refused.",  # turn.notice(TABLE.get(...) or x.message or "...")
        "Please choose:",  # turn.t(await f() or "...")
        "📱 Share my phone number",  # gettext(language, "...")
        "Make an appointment",  # N_("...") in a table
        "Please type a name.",  # InvalidInput("...")
        "Free times on {day}:",  # with a placeholder
        # N_((...)) with extra parentheses, which Babel alone does not see
        "Please share your phone number with the button below, or type it, for example {example}.",
        "Reminder: {service} at {business}, {day} at {time}.",  # bot.delivery.texts.MSGIDS
        "This service is no longer offered.",  # providers.base.N_ in an adapter
        "This email address does not exist.",  # N_ in an adapter's table (ClicRDV's codes)
    }
    assert expected <= ids, sorted(expected - ids)
    assert len(ids) > 100


def test_extractor_reads_each_pattern_and_skips_texts_already_translated(tmp_path: Path) -> None:
    (tmp_path / "bot").mkdir()
    (tmp_path / "providers").mkdir()
    (tmp_path / "bot" / "flow.py").write_text(
        "def handle(turn, refused, TABLE, key, language, name):\n"
        '    turn.show(turn.t("Direct"))\n'
        '    turn.notice(refused.message or "Fallback")\n'
        '    turn.t(TABLE.get(key, "Table default"))\n'
        '    turn.t("Yes" if key else "No")\n'
        '    gettext(language, "Second argument")\n'
        '    texts._(language, "Delivery text")\n'
        '    raise InvalidInput("Invalid {limit}", limit=3)\n'
        'PROMPT = N_(("Wrapped " "in parentheses"))\n'
        'turn.show("Already translated text")\n'
        'turn.notice(f"Hello {name}")\n',
        encoding="utf-8",
    )
    ids = {str(m.id) for m in extract(tmp_path) if m.id}
    assert ids == {
        "Direct",
        "Fallback",
        "Table default",
        "Yes",
        "No",
        "Second argument",
        "Delivery text",
        "Invalid {limit}",
        "Wrapped in parentheses",
    }
    assert [(path, line) for path, line, _ in dynamic_message_ids(tmp_path)] == [
        ("bot/flow.py", 11)
    ]


def test_check_refuses_our_own_text_marked_as_the_platforms(tmp_path: Path) -> None:
    # platform_text() shows a text as it is: a literal of ours there would reach a French user
    # in English. Our sentences are marked with N_ (extracted, translated) instead.
    (tmp_path / "bot").mkdir()
    (tmp_path / "providers").mkdir()
    (tmp_path / "providers" / "adapter.py").write_text(
        "def fail(body, text):\n"
        '    raise NotFound(N_("Ours, translated"))\n'
        "    raise BookingRefused('x', platform_text(text))\n"
        '    raise BookingRefused("y", platform_text(text or "Our fallback"))\n'
        '    raise NotFound(PlatformText("Ours again"))\n'
        '    raise NotFound("a diagnostic, never shown")\n',
        encoding="utf-8",
    )
    template = extract(tmp_path)
    assert {str(m.id) for m in template if m.id} == {"Ours, translated"}

    problems = check(template, tmp_path, tmp_path)

    refused = {(p.msgid, p.locations) for p in problems if p.language == "*"}
    assert refused == {
        ("Our fallback", (("providers/adapter.py", 4),)),
        ("Ours again", (("providers/adapter.py", 5),)),
    }


def test_check_lists_missing_fuzzy_and_mismatched_translations(tmp_path: Path) -> None:
    template = Catalog()
    for msgid in ("Hello {name}", "Missing", "Fuzzy", "Fine {count}"):
        template.add(msgid, locations=[("bot/x.py", 1)])
    french = Catalog(locale="fr")
    french.add("Hello {name}", "Bonjour {nom}")
    french.add("Fuzzy", "Flou", flags=["fuzzy"])
    french.add("Fine {count}", "Bien {count}")
    path = catalog_path("fr", tmp_path)
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        write_po(handle, french)
    (tmp_path / "bot").mkdir()
    (tmp_path / "providers").mkdir()

    problems = {(p.language, p.msgid): p.reason for p in check(template, tmp_path, tmp_path)}

    assert set(LANGUAGES) == {"en", "fr"}  # update this test when a language joins
    assert problems == {
        ("fr", "Hello {name}"): "placeholders differ (message id ['name'], translation ['nom'])",
        ("fr", "Missing"): "no translation",
        ("fr", "Fuzzy"): "fuzzy translation (not used)",
    }


def test_french_translations_keep_the_emoji_and_arrows_of_their_message_ids() -> None:
    # Button markers (✅ ✖ ↻ ⚡ 📱 ➕ ‹ ›); guillemets are left out: French quotes with them.
    emoji = re.compile("[\u2190-\u2bff\U0001f000-\U0001faff‹›]")
    for message in extract():
        if not message.id:
            continue
        if isinstance(message.id, tuple):  # a plural: its forms, for a count of 1 and of 2
            pairs = [
                (message.id[0], ngettext("fr", *message.id, 1)),
                (message.id[1], ngettext("fr", *message.id, 2)),
            ]
        else:
            pairs = [(str(message.id), gettext("fr", str(message.id)))]
        for msgid, translated in pairs:
            assert translated != msgid or msgid in {"{minutes} min"}, msgid
            assert emoji.findall(msgid) == emoji.findall(translated), (msgid, translated)


# -- a French user -----------------------------------------------------------------------------
async def test_french_user_books_in_french_with_french_dates_and_prices(
    monday_services: Services,
) -> None:
    async with running_bot(monday_services, language="fr") as chat:
        await chat.send("/book")
        assert plain(chat.text).startswith("Quelle prestation souhaitez-vous ?")
        assert "Haircut · 30 min · 25,00 €" in [plain(label) for label in chat.labels]
        assert "✖ Annuler" in chat.labels

        await chat.press(re.compile(r"^Haircut"))
        assert plain(chat.text) == "Avec qui souhaitez-vous prendre rendez-vous ?"
        await chat.press("Anna")

        assert plain(chat.text).startswith("Choisissez un jour.")
        assert "novembre 2026" in chat.labels
        assert chat.labels[3:10] == ["L", "M", "M", "J", "V", "S", "D"]
        assert {"⚡ Premier créneau disponible", "« Retour"} <= set(chat.labels)
        await chat.press("23")

        assert plain(chat.text) == "Créneaux libres le lundi 23 novembre 2026 :"
        assert "09:00" in chat.labels
        await chat.press("09:00")

        assert "Veuillez saisir le prénom" in chat.text
        await chat.send("Anna")
        await chat.send("Martin")
        assert "Veuillez partager votre numéro de téléphone" in chat.text
        contact_request: Any = next(
            call.params
            for call in chat.calls("sendMessage")
            if "keyboard" in (call.params.get("reply_markup") or {})
        )
        assert contact_request["text"].startswith("Appuyez sur le bouton ci-dessous")
        assert contact_request["reply_markup"]["keyboard"][0][0]["text"] == "📱 Partager mon numéro"
        await chat.share_contact("33612345678")
        await chat.send("anna@@example")
        assert "Cela ne ressemble pas à une adresse e-mail" in chat.text
        await chat.send("anna@example.org")

        summary = plain(chat.text)
        assert summary.startswith("Veuillez vérifier votre réservation :")
        assert "Établissement : Salon Belle Rue" in summary
        assert "Prestation : Haircut" in summary
        assert "Date : lundi 23 novembre 2026 à 09:00" in summary
        assert "Prix : 25,00 €" in summary
        await chat.press("✅ Confirmer")

        confirmation = plain(chat.text)
        assert confirmation.startswith("✅ C’est réservé ! À bientôt.")
        assert "lundi 23 novembre 2026 à 09:00" in confirmation
        assert "Pour l’annuler ou le déplacer, envoyez /mybookings." in confirmation

        await chat.send("/mybookings")
        assert plain(chat.text).startswith("Vos prochains rendez-vous :")
        assert "lundi 23 novembre 2026 à 09:00 — Haircut, Salon Belle Rue" in chat.text
        # the button's date is Babel's too, in French, not "23/11 09:00"
        assert "✖ Annuler le lun. 23 nov. 09:00" in chat.labels
    async with monday_services.sessions() as session:
        booking = (await session.scalars(select(Booking))).one()
        assert booking.start_at.astimezone(UTC) == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def test_french_user_sees_an_adapters_refusal_in_french(monday_services: Services) -> None:
    # The service goes away between choosing it and the next step: the local adapter refuses
    # with a sentence of ours (NotFound), which a French user must read in French.
    async with running_bot(monday_services, language="fr") as chat:
        await chat.send("/book")
        await chat.press(re.compile(r"^Haircut"))
        async with monday_services.sessions() as session, session.begin():
            await session.execute(
                update(LocalService).where(LocalService.name == "Haircut").values(active=False)
            )
        provider = monday_services.providers["sample-salon"]
        assert isinstance(provider, LocalProvider)
        provider.invalidate_catalog()

        await chat.press("Anna")

        assert plain(chat.text) == (
            "Cette prestation n’est plus proposée.\n\nEnvoyez /book pour recommencer."
        )


async def test_canadian_french_telegram_language_gets_the_french_catalog(
    services: Services,
) -> None:
    async with running_bot(services, language="fr-CA") as chat:
        await chat.send("/help")
        assert chat.text.startswith("Je prends vos rendez-vous.")


# -- /language ---------------------------------------------------------------------------------
async def test_language_command_switches_to_french_and_it_persists(services: Services) -> None:
    async with running_bot(services, language="en") as chat:
        await chat.send("/help")
        assert chat.text.startswith("I book appointments for you.")
        await chat.send("/language")
        assert chat.text == "Which language would you like?"
        assert chat.labels == ["English", "Français"]
        await chat.press("Français")
        assert chat.text == "Je vous parlerai en français."

        await chat.send("/help")
        assert chat.text.startswith("Je prends vos rendez-vous.")
        await chat.send("/book")
        assert plain(chat.text).startswith("Quelle prestation souhaitez-vous ?")

    # A new Application on the same database (a restart) still speaks French.
    async with running_bot(services, language="en") as chat:
        await chat.send("/cancel")
        assert chat.text == "Réservation annulée. Envoyez /book pour recommencer."
        await chat.send("/help")
        assert chat.text.startswith("Je prends vos rendez-vous.")
    async with services.sessions() as session:
        user = await session.get(User, 42)
        assert user is not None and user.language == "fr"


async def test_language_command_overrides_a_french_telegram_language(services: Services) -> None:
    async with running_bot(services, language="fr") as chat:
        await chat.send("/language")
        assert plain(chat.text) == "Dans quelle langue souhaitez-vous échanger ?"
        await chat.press("English")
        assert chat.text == "I will speak English with you."
        await chat.send("/book")
        assert chat.text.startswith("Which service would you like?")
        assert "Haircut · 30 min · €25.00" in chat.labels


async def test_switching_language_mid_booking_shows_the_current_step_again_translated(
    services: Services,
) -> None:
    async with running_bot(services, language="en") as chat:
        await chat.send("/book")
        await chat.press("Haircut · 30 min · €25.00")
        assert chat.text == "Who would you like to see?"
        await chat.send("/language")
        await chat.press("Français")
        texts = [plain(t) for t in chat.texts()[-2:]]
        assert texts == [
            "Je vous parlerai en français.",
            "Avec qui souhaitez-vous prendre rendez-vous ?",
        ]
        assert "Anna" in chat.labels and "« Retour" in chat.labels


async def test_language_choice_survives_the_sweep_of_an_idle_conversation(
    sample_config: AppConfig,
) -> None:
    now = [MONDAY_MORNING]
    services = await build_services(sample_config, env={}, clock=lambda: now[0])
    try:
        async with running_bot(services, language="en") as chat:
            await chat.send("/language")
            await chat.press("Français")
            now[0] += services.idle_timeout + timedelta(minutes=1)
            assert await chat.application.bot_data.engine.sweep_expired() == 1

            await chat.send("/help")
            assert chat.text.startswith("Je prends vos rendez-vous.")
    finally:
        await services.aclose()


def test_cached_clock_formatting_reads_the_wall_clock_of_the_moments_own_zone() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.i18n import format_clock

    paris, tokyo = ZoneInfo("Europe/Paris"), ZoneInfo("Asia/Tokyo")
    moment = datetime(2027, 3, 1, 14, 30, tzinfo=paris)
    assert format_clock(moment, "en") == "2:30\u202fPM"  # CLDR: narrow no-break space
    assert format_clock(moment, "fr") == "14:30"
    # The same instant elsewhere is another wall-clock time, not a cache hit of the first.
    assert format_clock(moment.astimezone(tokyo), "fr") == "22:30"
    assert format_clock(datetime(2027, 3, 1, 0, 5, tzinfo=paris), "en") == "12:05\u202fAM"
