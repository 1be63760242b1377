"""The built-in calendar: services, staff, opening hours and bookings in our own database."""

from providers.local.adapter import LocalProvider
from providers.local.settings import LocalSettings

__all__ = ["LocalProvider", "LocalSettings"]
