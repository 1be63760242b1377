"""Maps a provider kind (as written in the business configuration) to its adapter class and its
settings model.

Both are imported lazily, each on its own: a deployment that only uses ``local`` never imports
zeep, and ``bookbot check-config`` validates settings without importing any adapter.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import cast

from providers.base import BookingProvider
from providers.settings import ProviderSettings


@dataclass(frozen=True)
class ProviderEntry:
    """Where a kind's adapter class and settings model live (``"module:Name"`` each)."""

    adapter: str
    settings: str


PROVIDERS: dict[str, ProviderEntry] = {
    "local": ProviderEntry(
        "providers.local:LocalProvider", "providers.local.settings:LocalSettings"
    ),
    "bookingtime": ProviderEntry(
        "providers.bookingtime:BookingtimeProvider",
        "providers.bookingtime.settings:BookingtimeSettings",
    ),
    "qmatic": ProviderEntry(
        "providers.qmatic:QmaticProvider", "providers.qmatic.settings:QmaticSettings"
    ),
    "clicrdv": ProviderEntry(
        "providers.clicrdv:ClicrdvProvider", "providers.clicrdv.settings:ClicrdvSettings"
    ),
    "clickbook": ProviderEntry(
        "providers.clickbook:ClickbookProvider", "providers.clickbook.settings:ClickbookSettings"
    ),
}


def known_kinds() -> list[str]:
    return sorted(PROVIDERS)


def _load(target: str, base: type) -> type:
    """The class ``target`` names, checked to be a subclass of ``base``."""
    module_name, _, name = target.partition(":")
    loaded = getattr(importlib.import_module(module_name), name)
    if not (isinstance(loaded, type) and issubclass(loaded, base)):
        raise TypeError(f"{target} is not a {base.__name__}")
    return loaded


def provider_class(kind: str) -> type[BookingProvider]:
    """The adapter class for ``kind``; ``KeyError`` for an unknown kind, ``ImportError`` when
    the adapter is not available in this build."""
    return cast("type[BookingProvider]", _load(PROVIDERS[kind].adapter, BookingProvider))


def settings_model(kind: str) -> type[ProviderSettings]:
    """The settings model of ``kind``; ``KeyError`` for an unknown kind, ``ImportError`` when
    the adapter is not available in this build."""
    return cast("type[ProviderSettings]", _load(PROVIDERS[kind].settings, ProviderSettings))
