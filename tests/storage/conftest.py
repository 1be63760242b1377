"""Storage fixtures: ``postgres_url`` (a fresh PostgreSQL database per test) and
``empty_database_url`` (SQLite, then PostgreSQL); see :mod:`tests.storage.postgres`."""

from tests.storage.postgres import empty_database_url, postgres_url

__all__ = ["empty_database_url", "postgres_url"]
