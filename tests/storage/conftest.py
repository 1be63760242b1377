"""Storage fixtures: ``postgres_url`` (a fresh PostgreSQL database per test; see
:mod:`tests.storage.postgres`)."""

from tests.storage.postgres import postgres_url

__all__ = ["postgres_url"]
