"""Phone numbers are read with ``phonenumbers`` in the business's country and stored in E.164;
email addresses are checked with ``email-validator`` (syntax only, never the network)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from bot.config import AppConfig, BusinessConfig
from bot.engine.validation import (
    InvalidInput,
    clean_email,
    clean_phone,
    clean_shared_phone,
    phone_example,
    phone_region,
)
from bot.services import Services, build_services
from storage.models import Fiche
from tests.bot.harness import running_bot
from tests.bot.test_local_robustness import reach_details


def test_a_business_zone_gives_the_country_numbers_are_read_in() -> None:
    assert phone_region(ZoneInfo("Europe/Paris")) == "FR"
    assert phone_region(ZoneInfo("America/New_York")) == "US"
    assert phone_region(ZoneInfo("UTC")) is None


@pytest.mark.parametrize(
    "typed",
    ["0612345678", "06 12 34 56 78", "06.12.34.56.78", "+33 6 12 34 56 78", "0033612345678"],
)
def test_a_french_number_typed_any_usual_way_is_stored_in_e164(typed: str) -> None:
    assert clean_phone(typed, "FR") == "+33612345678"


@pytest.mark.parametrize("typed", ["061234567", "+3361234567", "06123456789", "12", "hello"])
def test_a_number_a_digit_short_or_long_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput, match="does not look like a phone number"):
        clean_phone(typed, "FR")


def test_a_national_number_without_a_country_to_read_it_in_asks_for_the_code() -> None:
    with pytest.raises(InvalidInput, match="include the country code"):
        clean_phone("0612345678", None)
    assert clean_phone("+1 212 555 0123", None) == "+12125550123"


def test_a_shared_contact_is_international_with_or_without_plus() -> None:
    assert clean_shared_phone("33612345678") == "+33612345678"
    assert clean_shared_phone("+971 50 123 4567") == "+971501234567"


def test_email_syntax_is_checked_and_the_domain_normalised() -> None:
    assert clean_email(" Anna.Martin@EXAMPLE.org ") == "Anna.Martin@example.org"
    for bad in ("anna@", "anna@example", "a..b@example.org", "anna @example.org", "@example.org"):
        with pytest.raises(InvalidInput, match="does not look like an email address"):
            clean_email(bad)


def test_email_check_never_reaches_the_network() -> None:
    # The autouse guard (tests/conftest.py) fails any connection; a domain with no DNS at all
    # is still accepted, since only the syntax is checked.
    assert clean_email("anna@no-such-domain-for-bookbot.example") == (
        "anna@no-such-domain-for-bookbot.example"
    )


async def test_a_french_customer_types_a_national_number_and_it_is_stored_in_e164(
    services: Services,
) -> None:
    async with running_bot(services) as chat:
        await reach_details(chat)
        await chat.send("Anna")
        await chat.send("Martin")
        await chat.send("06 12 34 56 78")
        assert "email" in chat.text
        await chat.send("anna@example.org")
        await chat.press("✅ Confirm")
        assert "Booked!" in chat.text
    async with services.sessions() as session:
        assert (await session.scalars(select(Fiche.phone))).one() == "+33612345678"


async def test_the_phone_prompt_shows_a_number_as_typed_in_the_business_country(
    services: Services,
) -> None:
    async with running_bot(services) as chat:
        await reach_details(chat)
        await chat.send("Anna")
        await chat.send("Martin")
        assert "or type it, for example 06 12 34 56 78." in chat.text
        assert "country code" not in chat.text


@pytest.fixture
async def belgian_services_in_utc(sample_config: AppConfig) -> AsyncIterator[Services]:
    """The sample salon set in UTC (a zone of no one country), with its country configured."""
    salon = sample_config.businesses[0].model_dump()
    business = BusinessConfig.model_validate({**salon, "timezone": "UTC", "country": "be"})
    config = sample_config.model_copy(update={"businesses": [business]})
    built = await build_services(config, env={})
    yield built
    await built.aclose()


def test_the_configured_country_overrides_the_zone_and_is_checked() -> None:
    assert phone_region(ZoneInfo("Europe/Paris"), "BE") == "BE"
    assert phone_example("BE") == "0450 00 12 34"
    assert phone_example(None) == "+33 6 12 34 56 78"
    with pytest.raises(ValidationError, match="unknown country 'XX'; an ISO 3166 alpha-2 code"):
        BusinessConfig(slug="s", name="S", provider="local", timezone="UTC", country="XX")
    with pytest.raises(ValidationError, match="unknown country 'FRA'"):
        BusinessConfig(slug="s", name="S", provider="local", timezone="UTC", country="FRA")


async def test_a_business_with_a_country_reads_national_numbers_there(
    belgian_services_in_utc: Services,
) -> None:
    services = belgian_services_in_utc
    assert services.config.businesses[0].country == "BE"
    async with running_bot(services) as chat:
        await reach_details(chat)
        await chat.send("Anna")
        await chat.send("Martin")
        assert "for example 0450 00 12 34." in chat.text
        await chat.send("0470 12 34 56")
        assert "email" in chat.text
        await chat.send("anna@example.org")
        await chat.press("✅ Confirm")
        assert "Booked!" in chat.text
    async with services.sessions() as session:
        assert (await session.scalars(select(Fiche.phone))).one() == "+32470123456"
