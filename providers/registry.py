"""Maps a provider kind (as written in the business configuration) to its adapter class.

Adapters are imported lazily so a deployment that only uses ``local`` never imports zeep.
"""

from __future__ import annotations

import importlib

from providers.base import BookingProvider

PROVIDER_CLASSES: dict[str, str] = {
    "local": "providers.local:LocalProvider",
    "bookingtime": "providers.bookingtime:BookingtimeProvider",
    "qmatic": "providers.qmatic:QmaticProvider",
    "clicrdv": "providers.clicrdv:ClicrdvProvider",
    "clickbook": "providers.clickbook:ClickbookProvider",
}


def known_kinds() -> list[str]:
    return sorted(PROVIDER_CLASSES)


def provider_class(kind: str) -> type[BookingProvider]:
    """The adapter class for ``kind``; ``KeyError`` for an unknown kind, ``ImportError`` when
    the adapter is not available in this build."""
    module_name, _, class_name = PROVIDER_CLASSES[kind].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, BookingProvider)):
        raise TypeError(f"{PROVIDER_CLASSES[kind]} is not a BookingProvider")
    return cls
