"""Qmatic adapter: the declared flow, the options of each step, the catalog cache and the
``Accept-Language`` mapping."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import pytest

from providers.base import ANY_OPTION, CustomerField, Option, Selection
from providers.qmatic import QmaticProvider
from providers.qmatic.api import ALL_LANGUAGES, accept_language
from tests.contract.targets.qmatic import make_provider
from tests.fakes.qmatic import QmaticFake
from tests.providers import qmatic_setup

PASSPORT = {
    "service_group": ("g-docs",),
    "service": ("svc-passport",),
    "branch": ("b-city",),
    "resource": (ANY_OPTION,),
    "party_size": ("1",),
}
BUILDING = {
    "service_group": ("g-build",),
    "service": ("svc-building",),
    "branch": ("b-city",),
}


# the shared fixtures: the fake, a provider on it
fake = qmatic_setup.fake
provider = qmatic_setup.provider


def ids(options: Sequence[Option]) -> list[str]:
    return [o.id for o in options]


async def test_flow_declares_group_resource_party_and_questions_steps(
    provider: QmaticProvider,
) -> None:
    steps = await provider.flow(Selection())
    assert [s.key for s in steps] == [
        "service_group",
        "service",
        "branch",
        "resource",
        "party_size",
        "date",
        "slot",
        "questions",
        "customer",
        "confirm",
    ]


async def test_flow_without_service_groups_has_no_group_step() -> None:
    fake = QmaticFake(groups_enabled=False)
    provider = make_provider(fake)
    steps = await provider.flow(Selection())
    assert [s.key for s in steps][:2] == ["service", "branch"]
    # Without groups every bookable service is offered at once.
    assert ids(await provider.options("service", Selection())) == [
        "svc-passport",
        "svc-idcard",
        "svc-building",
        "svc-parking",
    ]


async def test_flow_without_resources_or_party_sizes_skips_those_steps() -> None:
    fake = QmaticFake(groups_enabled=False)
    for sid in ("svc-building", "svc-passport"):
        del fake.services[sid]
    steps = await make_provider(fake).flow(Selection())
    keys = [s.key for s in steps]
    assert "resource" not in keys and "party_size" not in keys and "questions" not in keys


async def test_services_exclude_not_online_bookable_and_follow_the_group(
    provider: QmaticProvider,
) -> None:
    groups = await provider.options("service_group", Selection())
    # "Parking permit" is in no group: it stays reachable through "all services".
    assert ids(groups) == ["g-docs", "g-build", ANY_OPTION]
    building = await provider.options("service", Selection({"service_group": ("g-build",)}))
    assert ids(building) == ["svc-building"]  # svc-internal is not onlineBookable
    every = await provider.options("service", Selection({"service_group": (ANY_OPTION,)}))
    assert "svc-parking" in ids(every) and "svc-internal" not in ids(every)
    docs = await provider.options("service", Selection({"service_group": ("g-docs",)}))
    assert docs[0].description == "New or renewed passports"


async def test_branches_are_those_offering_the_chosen_service(provider: QmaticProvider) -> None:
    branches = await provider.options("branch", Selection({"service": ("svc-passport",)}))
    assert ids(branches) == ["b-city", "b-north"]
    assert branches[0].description == "Grand Place 1, 1000 Brussels"
    only_city = await provider.options("branch", Selection({"service": ("svc-idcard",)}))
    assert ids(only_city) == ["b-city"]


async def test_resource_step_lists_resources_only_when_the_service_requires_one(
    provider: QmaticProvider,
) -> None:
    assert ids(await provider.options("resource", Selection(BUILDING))) == ["r-anna", "r-bob"]
    assert ids(await provider.options("resource", Selection(PASSPORT))) == [ANY_OPTION]


async def test_party_size_goes_up_to_max_number_of_reservations(
    provider: QmaticProvider,
) -> None:
    assert ids(await provider.options("party_size", Selection(PASSPORT))) == ["1", "2", "3"]
    assert ids(await provider.options("party_size", Selection(BUILDING))) == ["1"]


async def test_party_size_is_sent_as_number_of_reservations_and_lengthens_slots(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    selection = Selection({**PASSPORT, "party_size": ("2",)})
    slots = await provider.slots(selection, fake.today())
    assert fake.api_requests("GET", "/timeslots")[-1].query["numberOfReservations"] == "2"
    assert all(s.end - s.start == timedelta(minutes=60) for s in slots)


async def test_chosen_resource_is_requested_and_named_on_the_slot(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    selection = Selection({**BUILDING, "resource": ("r-bob",)})
    slots = await provider.slots(selection, fake.today())
    assert fake.api_requests("GET", "/timeslots")[-1].query["requestedResourceId"] == "r-bob"
    assert slots and {(s.resource_id, s.resource_name) for s in slots} == {("r-bob", "Bob")}


async def test_available_days_of_a_month_cost_one_request(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    await provider.flow(Selection(PASSPORT))  # warm the catalog
    before = len(fake.api_requests())
    first = fake.today()
    days = await provider.available_days(Selection(PASSPORT), first, first + timedelta(days=30))
    assert len(fake.api_requests()) == before + 1
    assert min(days) == first and all(d.weekday() < 5 for d in days)
    assert date(2025, 3, 8) not in days  # a Saturday


async def test_catalog_is_cached_until_its_ttl_runs_out(fake: QmaticFake) -> None:
    provider = make_provider(fake, catalog_ttl_seconds=600)
    await provider.flow(Selection())
    await provider.options("service", Selection(PASSPORT))
    await provider.options("branch", Selection(PASSPORT))
    assert len(fake.api_requests("GET", "/services")) == 2  # services and groups, once
    fake.clock.advance(minutes=11)
    await provider.options("service", Selection(PASSPORT))
    assert len(fake.api_requests("GET", "/services")) == 4


async def test_questions_map_screening_and_information_fields(provider: QmaticProvider) -> None:
    screening, information = await provider.questions(Selection(PASSPORT))
    assert screening.kind == "screening"
    assert screening.text == "Do you have your old passport with you?"
    assert screening.required_answer is True
    assert screening.denied_message == "Please bring your old passport and book again."
    assert screening.clarification == "We keep the old one."
    assert information.kind == "information" and information.required
    assert information.max_length == 2048
    # yesRequiredAnswer: false accepts any answer.
    (first_time,) = await provider.questions(Selection({**BUILDING, "resource": ("r-anna",)}))
    assert first_time.required_answer is None


async def test_customer_form_asks_birth_date_only_when_required_and_never_an_identifier(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    form = await provider.customer_form(Selection(PASSPORT))
    assert form.fields() == [
        CustomerField.FIRST_NAME,
        CustomerField.LAST_NAME,
        CustomerField.PHONE,
        CustomerField.EMAIL,
    ]
    assert CustomerField.PHONE in form.optional
    strict = make_provider(fake, birth_date_required=True)
    assert CustomerField.BIRTH_DATE in (await strict.customer_form(Selection())).required


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "en_US"),
        ("en-GB", "en_UK"),
        ("fr", "fr_FR"),
        ("fr-BE", "fr_FR"),
        ("nl", "nl_NL"),
        ("de", "de_DE"),
        ("it", "it_IT"),
        ("es", "ES_es"),
        ("pt", "en_US"),  # unknown: the tenant's first language
    ],
)
def test_accept_language_maps_engine_languages(language: str, expected: str) -> None:
    assert accept_language(language, ALL_LANGUAGES) == expected


def test_accept_language_falls_back_to_the_tenants_first_supported_language() -> None:
    assert accept_language("de", ("fr_FR", "nl_NL")) == "fr_FR"
    assert accept_language("en", ("en_UK", "fr_FR")) == "en_UK"


async def test_service_names_come_in_the_users_language(
    fake: QmaticFake, provider: QmaticProvider
) -> None:
    french = await provider.options("service", Selection({"service_group": ("g-docs",)}, "fr"))
    assert french[0].label == "Passeport"
    assert fake.api_requests("GET", "/services")[-1].headers["accept-language"] == "fr_FR"
    english = await provider.options("service", Selection({"service_group": ("g-docs",)}, "en"))
    assert english[0].label == "Passport"


async def test_unsupported_language_uses_the_configured_fallback(fake: QmaticFake) -> None:
    provider = make_provider(fake, supported_languages=["nl_NL", "fr_FR"])
    options = await provider.options("service", Selection({"service_group": ("g-docs",)}, "de"))
    assert options[0].label == "Paspoort"
    assert {r.headers["accept-language"] for r in fake.api_requests()} == {"nl_NL"}
