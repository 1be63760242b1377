"""A Qmatic business for conversation tests: the fake platform, the real adapter built by
:func:`bot.services.build_services`, one clock shared by both, and the steps of a booking.

The tenant offers one service at one branch (so those two steps are answered automatically)
with everything issue 4 asks a conversation to go through: a resource the customer must pick,
a screening question whose "no" ends the booking with the platform's own message, and a
required information question. The client id and secret are canaries that tests search for
in the database file, the conversation state and the logs.

Conversations go idle after :data:`IDLE_MINUTES`, fewer than Qmatic's 15-minute hold, so a
test of idle expiry proves that *the bot* released the reservation (the platform would still
be holding it).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.config import AppConfig, BusinessConfig
from bot.services import Services, build_services
from providers.qmatic import QmaticProvider
from tests.bot.harness import ChatDriver
from tests.bot.stored_records import StoredRecords
from tests.contract.targets.qmatic import make_provider
from tests.fakes.qmatic import FakeClock, FakeService, QmaticFake, Reservation

BASE_URL = "https://api.eu.qmatic.io"
SLUG = "brussels-permits"
IDLE_MINUTES = 10
CLIENT_ID = "canary-client-id-7Qm1"
CLIENT_SECRET = "canary-client-secret-Zx9Kq4Lw"
ENV = {"QMATIC_TEST_CLIENT_ID": CLIENT_ID, "QMATIC_TEST_CLIENT_SECRET": CLIENT_SECRET}

SERVICE = "Residence permit"
SCREENING = "Do you live in Brussels?"
DENIED = "Only residents of Brussels can book this appointment online."
INFORMATION = "What is the purpose of your stay?"
RESOURCES = (("r-anna", "Anna"), ("r-bob", "Bob"))

FIRST_NAME, LAST_NAME, EMAIL = "Ada", "Lovelace", "ada@example.org"
PURPOSE = "Studies at the university"
TIME = re.compile(r"^\d{1,2}:\d{2}")


def permit_service() -> FakeService:
    """The tenant's one service: resource required, one screening and one information question."""
    return FakeService(
        "svc-permit",
        {"en_US": SERVICE, "fr_FR": "Titre de séjour"},
        30,
        ("b-city",),
        resources=RESOURCES,
        screening=(
            {
                "yesRequiredAnswer": True,
                "questionText": SCREENING,
                "clarificationText": "",
                "answerDeniedMessage": DENIED,
            },
        ),
        information=({"required": True, "questionText": INFORMATION, "clarificationText": ""},),
    )


def app_config(database_url: str) -> AppConfig:
    """One business on Qmatic, configured as an operator would (secrets named, not given)."""
    business = BusinessConfig(
        slug=SLUG,
        name="Brussels City Permits",
        provider="qmatic",
        timezone="Europe/Brussels",
        settings={
            "base_url": BASE_URL,
            "account": "brusselscity",
            "tenant_id": "tenant-0001",
            "client_id_env": "QMATIC_TEST_CLIENT_ID",
            "client_secret_env": "QMATIC_TEST_CLIENT_SECRET",
            "supported_languages": ["en_US", "fr_FR"],
        },
    )
    return AppConfig(
        database_url=database_url,
        conversation_idle_minutes=IDLE_MINUTES,
        businesses=[business],
    )


class LossyTransport(httpx.AsyncBaseTransport):
    """The fake's transport, able to lose an answer *after* the platform acted on the request
    (what a timeout on a slow network looks like to the bot)."""

    def __init__(self, fake: QmaticFake) -> None:
        self._inner = fake.transport()
        self.lose: list[tuple[str, str]] = []

    def lose_next_answer(self, method: str, path_part: str) -> None:
        self.lose.append((method, path_part))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        for wanted in self.lose:
            if request.method == wanted[0] and wanted[1] in request.url.path:
                self.lose.remove(wanted)
                raise httpx.ReadTimeout("answer lost after the platform acted", request=request)
        return response


@dataclass
class QmaticWorld(StoredRecords):
    """The fake platform, the clock it shares with the bot, and the bot's current Services."""

    fake: QmaticFake
    clock: FakeClock
    config: AppConfig
    services: Services
    network: LossyTransport
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def provider(self) -> QmaticProvider:
        provider = self.services.providers[SLUG]
        assert isinstance(provider, QmaticProvider)
        return provider

    async def restart(self) -> Services:
        """Stop this "process" without any clean-up of conversations and start a new one on
        the same database file: new Services, new adapter (new token), new HTTP client."""
        await self.services.aclose()
        self.services = await self._build()
        return self.services

    def other_client(self) -> QmaticProvider:
        """Another client of the same tenant (the business's website, another bot)."""
        provider = make_provider(self.fake)
        assert provider.deps.http is not None
        self.clients.append(provider.deps.http)
        return provider

    def live_holds(self) -> list[Reservation]:
        return self.fake.live_reservations()

    def released_ids(self) -> list[str]:
        """Ids of the reservations the platform was asked to release (DELETE)."""
        return [
            r.path.rsplit("/", 1)[-1] for r in self.fake.api_requests("DELETE", "/reservations/")
        ]

    def confirm_requests(self) -> int:
        """How many confirmations (``PUT /reservations/{id}``) the platform received."""
        return len(self.fake.api_requests("PUT", "/reservations/"))

    async def _build(self) -> Services:
        http = httpx.AsyncClient(transport=self.network, base_url=BASE_URL)
        self.clients.append(http)
        return await build_services(self.config, env=ENV, http=http, clock=self.clock)

    async def aclose(self) -> None:
        await self.services.aclose()
        for client in self.clients:
            await client.aclose()


@asynccontextmanager
async def qmatic_world(database_url: str) -> AsyncIterator[QmaticWorld]:
    """A migrated database, the fake tenant and the bot's Services wired to both."""
    clock = FakeClock()
    fake = QmaticFake(
        clock=clock,
        account="brusselscity",
        tenant_id="tenant-0001",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        services=[permit_service()],
        groups=[],
        supported_languages=("en_US", "fr_FR"),
    )
    network = LossyTransport(fake)
    http = httpx.AsyncClient(transport=network, base_url=BASE_URL)
    config = app_config(database_url)
    services = await build_services(config, env=ENV, http=http, clock=clock)
    world = QmaticWorld(
        fake=fake, clock=clock, config=config, services=services, network=network, clients=[http]
    )
    try:
        yield world
    finally:
        await world.aclose()


def database_files(database_url: str) -> list[Path]:
    """The SQLite file of ``database_url`` and its ``-wal`` / ``-shm`` companions."""
    main = Path(database_url.split("///", 1)[1])
    return [p for p in (main, Path(f"{main}-wal"), Path(f"{main}-shm")) if p.exists()]


# -- the steps of a booking, as the user takes them --------------------------------------------


async def reserve_a_time(chat: ChatDriver, resource: str = "Anna") -> str:
    """From /book to a held slot; returns the label of the time tapped."""
    await chat.send("/book")
    assert "Who would you like to see?" in chat.text, chat.text
    await chat.press(resource)
    await chat.press_first_day()
    label = next(text for text in chat.labels if TIME.match(text))
    await chat.press_first_time()
    return label


async def answer_questions(chat: ChatDriver, purpose: str = PURPOSE) -> None:
    """Yes to the screening question, ``purpose`` to the information question."""
    assert SCREENING in chat.text, chat.text
    await chat.press("Yes")
    assert INFORMATION in chat.text, chat.text
    await chat.send(purpose)


async def enter_details(chat: ChatDriver) -> None:
    """The customer form Qmatic asks for: names, (skipped) phone, email. Never an identifier:
    the adapter generates the external customer identifier itself."""
    await chat.send(FIRST_NAME)
    await chat.send(LAST_NAME)
    assert "phone" in chat.text, chat.text
    await chat.press("Skip")
    await chat.send(EMAIL)
    assert "identifier" not in chat.text, chat.text
