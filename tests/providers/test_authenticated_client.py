"""The one authenticated client every REST adapter sends through: credentials on every request,
one renewal and one resend after a 401 when the strategy can renew, never otherwise."""

from __future__ import annotations

import httpx

from providers.http import AuthenticatedClient, BearerToken, QueryKey, SingleFlightToken


def _recording(statuses: list[int]) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(statuses[min(len(seen), len(statuses)) - 1])

    return httpx.AsyncClient(transport=httpx.MockTransport(answer)), seen


async def test_a_refused_bearer_token_is_renewed_once_and_the_request_sent_again() -> None:
    issued: list[str] = []

    async def fetch() -> tuple[str, float]:
        issued.append(f"token-{len(issued) + 1}")
        return issued[-1], 3600.0

    http, seen = _recording([401, 401, 200])
    async with http:
        client = AuthenticatedClient(http, BearerToken(SingleFlightToken(fetch)))
        first = await client.request("POST", "https://p.test/book", idempotent=False)
        assert first.status_code == 401  # a second refusal is the adapter's to map
    assert [r.headers["authorization"] for r in seen] == ["Bearer token-1", "Bearer token-2"]
    assert "token" not in repr(client)


async def test_a_refused_api_key_is_not_sent_again_and_rides_first_in_the_query() -> None:
    http, seen = _recording([401])
    async with http:
        client = AuthenticatedClient(http, QueryKey("apikey", "k-123"))
        answer = await client.request(
            "GET", "https://p.test/groups", idempotent=True, params=[("page", "2")]
        )
    assert answer.status_code == 401
    assert [str(r.url) for r in seen] == ["https://p.test/groups?apikey=k-123&page=2"]
    assert "k-123" not in repr(client)
