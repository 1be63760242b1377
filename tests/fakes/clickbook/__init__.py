"""A fake ClickBook (SOAP Web Services 1.3): WSDL fixtures, an ASGI app answering real SOAP
envelopes, and a stateful world. ``make_provider(fake, tmp_path)`` wires the adapter to it.

Hosts: SOAP on ``http://clickbook.test/wsapi/latest``, the sign-in on
``https://www.clickbook.test`` (the session cookie is set for ``.clickbook.test``, so it reaches
the SOAP host, as on clickbook.net).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from providers.base import ProviderDeps
from providers.clickbook import ClickbookProvider
from providers.http import RetryPolicy
from tests.fakes.clickbook.app import FakeClickbook
from tests.fakes.clickbook.state import API_KEY, TIMEZONE, World

SOAP_BASE = "http://clickbook.test/wsapi/latest"
LOGIN_BASE = "https://www.clickbook.test"
KEY_ENV = "CLICKBOOK_TEST_KEY"


def settings_for(cache: Path, **extra: Any) -> dict[str, Any]:
    """A business's settings pointing at the fake, the WSDL cache in ``cache``."""
    return {
        "provider_id": "P100",
        "api_key_env": KEY_ENV,
        "soap_base_url": SOAP_BASE,
        "login_base_url": LOGIN_BASE,
        "wsdl_cache_path": str(cache / "zeep-wsdl.sqlite"),
        "catalog_ttl_seconds": 300,
        **extra,
    }


def make_provider(
    fake: FakeClickbook,
    cache: Path,
    *,
    settings: Mapping[str, Any] | None = None,
    fast_retries: bool = True,
    secrets: Mapping[str, str] | None = None,
) -> ClickbookProvider:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), timeout=5.0)
    deps = ProviderDeps(
        business_slug="studio-zen",
        timezone=TIMEZONE,
        settings=settings_for(cache, **(settings or {})),
        secrets={KEY_ENV: API_KEY, **(secrets or {})},
        http=http,
    )
    retry = RetryPolicy(attempts=3, first_delay=0.001) if fast_retries else None
    return ClickbookProvider(deps, retry=retry)


__all__ = [
    "API_KEY",
    "KEY_ENV",
    "LOGIN_BASE",
    "SOAP_BASE",
    "TIMEZONE",
    "FakeClickbook",
    "World",
    "make_provider",
    "settings_for",
]
