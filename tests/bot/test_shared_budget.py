"""One send budget per token across processes (bot/shared_budget.py, in Redis): two limiters,
as two processes would have, sending through python-telegram-bot's ExtBot to the fake Bot API
over HTTP. Redis at 127.0.0.1:6379 (``BOOKBOT_TEST_REDIS_URL``); skipped when none answers,
except under ``CI=true``."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from telegram.error import RetryAfter
from telegram.ext import ExtBot

from bot.rate_limiter import Priority, TelegramRateLimiter
from bot.shared_budget import RedisBudget
from tests.fakes.bot_api import TOKEN, FakeBotApi

REDIS_URL = os.environ.get("BOOKBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
RATE = 30.0


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisError, OSError) as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"no Redis at {REDIS_URL} ({error!r}); CI=true requires one")
        pytest.skip(f"no Redis at {REDIS_URL} ({error!r})")
    finally:
        await client.aclose()
    yield REDIS_URL


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(limit=RATE) as fake:
        yield fake


def two_processes(
    api: FakeBotApi, redis_url: str, *, shared: bool = True
) -> list[ExtBot[TelegramRateLimiter]]:
    """Two bots for one token, each with its own limiter, as two processes have; a fresh bot
    id (key prefix) per test."""
    bot_id = uuid.uuid4().hex
    bots = []
    for _ in range(2):
        budget = RedisBudget(Redis.from_url(redis_url), bot_id, RATE) if shared else None
        limiter = TelegramRateLimiter(RATE, shared=budget)
        bots.append(
            ExtBot(TOKEN, base_url=api.base_url, rate_limiter=limiter)  # type: ignore[arg-type]
        )
    return bots


async def send_for(
    bot: ExtBot[TelegramRateLimiter],
    seconds: float,
    first_chat: int,
    priority: Priority | None = None,
) -> int:
    """Send as fast as the limiter allows for ``seconds``, each message to a new chat."""
    sent = 0
    deadline = time.monotonic() + seconds

    async def sender(n: int) -> None:
        nonlocal sent
        chat = first_chat + n * 10_000
        while time.monotonic() < deadline:
            chat += 1
            await bot.send_message(chat, "hello", rate_limit_args=priority)
            sent += 1

    await asyncio.gather(*(sender(n) for n in range(40)))
    return sent


async def test_two_processes_together_keep_to_the_tokens_budget(
    api: FakeBotApi, redis_url: str
) -> None:
    bots = two_processes(api, redis_url)
    async with bots[0], bots[1]:
        started = time.monotonic()
        counts = await asyncio.gather(
            send_for(bots[0], 3.0, 1, Priority.BROADCAST),
            send_for(bots[1], 3.0, 5_000_000, Priority.BROADCAST),
        )
        elapsed = time.monotonic() - started
    assert api.state.rejected_429 == 0, api.state.stats()
    rate = sum(counts) / elapsed
    assert 0.8 * RATE <= rate <= RATE, rate
    assert min(counts) > 0.3 * sum(counts)  # both got a fair part


async def test_without_the_shared_budget_two_processes_exceed_it(api: FakeBotApi) -> None:
    """The check above can fail: two limiters on their own send twice the budget."""
    bots = two_processes(api, "", shared=False)
    async with bots[0], bots[1]:
        with pytest.raises(RetryAfter):
            await asyncio.gather(
                send_for(bots[0], 2.0, 1, Priority.BROADCAST),
                send_for(bots[1], 2.0, 5_000_000, Priority.BROADCAST),
            )
    assert api.state.rejected_global > 0


async def test_a_429_seen_by_one_process_pauses_the_other(api: FakeBotApi, redis_url: str) -> None:
    bots = two_processes(api, redis_url)
    async with bots[0], bots[1]:
        api.state.force_429(1, retry_after=2)
        with pytest.raises(RetryAfter):
            await bots[0].send_message(1, "first", rate_limit_args=Priority.BROADCAST)
        started = time.monotonic()
        await bots[1].send_message(2, "second", rate_limit_args=Priority.BROADCAST)
        waited = time.monotonic() - started
    assert waited >= 1.8, waited
    assert api.state.pause_violations == 0


async def test_a_reply_in_one_process_goes_before_broadcasts_of_another(
    redis_url: str,
) -> None:
    """Answers take 300 ms, so the window (a message counts until a second after its answer)
    is what holds the broadcasts back: always full. A reply then takes the next room in it."""
    with FakeBotApi(limit=RATE, latency=0.3) as slow_api:
        bots = two_processes(slow_api, redis_url)
        async with bots[0], bots[1]:
            flood = asyncio.create_task(send_for(bots[0], 4.0, 1, Priority.BROADCAST))
            await asyncio.sleep(1.5)  # the window is full of broadcasts
            latencies = []
            for n in range(5):
                started = time.monotonic()
                await bots[1].send_message(9_000_000 + n, "your answer")
                latencies.append(time.monotonic() - started - 0.3)
                await asyncio.sleep(0.1)
            await flood
        assert slow_api.state.rejected_429 == 0
    # room comes about every 40 ms; a reply waits for one (without priority: ~0.4 s, often)
    assert sorted(latencies)[-2] < 0.15, latencies  # one outlier allowed (a loaded machine)


async def test_deliveries_to_one_chat_keep_a_second_apart_across_processes(
    api: FakeBotApi, redis_url: str
) -> None:
    bots = two_processes(api, redis_url)
    async with bots[0], bots[1]:
        await asyncio.gather(
            *(
                bot.send_message(77, f"reminder {n}", rate_limit_args=Priority.REMINDER)
                for n in range(3)
                for bot in bots
            )
        )
    assert api.state.rejected_chat == 0
    times = sorted(e.at for e in api.state.events if e.chat_id == 77)
    assert len(times) == 6
    assert all(b - a >= 0.95 for a, b in itertools.pairwise(times)), times


async def test_answering_a_tap_takes_no_slot(api: FakeBotApi, redis_url: str) -> None:
    budget = RedisBudget(Redis.from_url(redis_url), uuid.uuid4().hex, RATE)
    limiter = TelegramRateLimiter(RATE, shared=budget)
    bot = ExtBot(TOKEN, base_url=api.base_url, rate_limiter=limiter)  # type: ignore[arg-type]
    async with bot:
        for n in range(50):
            await bot.answer_callback_query(str(n))
        tat = await budget.redis.get(budget.prefix + "tat")
    assert tat is None  # no slot was ever taken
    assert api.state.methods["answerCallbackQuery"] == 50
