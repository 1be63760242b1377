"""Configuration: a TOML file of businesses plus a few environment variables.

Secrets never live in the file: a provider setting whose key ends in ``_env`` names the
environment variable that holds the secret, and :func:`resolve_secrets` reads it at start-up.
Each business's ``settings`` are validated against its provider's settings model (named in
:mod:`providers.registry`). ``bookbot check-config`` and start-up both run :func:`load_config`,
which reports every problem with the key that has it.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from providers.registry import known_kinds, settings_model
from providers.settings import SECRET_SUFFIX, ProviderSettings, settings_problems
from storage.db import DEFAULT_DATABASE_URL

#: a bot token (``123456:ABC...``) in a path segment, ``/bot123456:ABC`` or ``/123456:ABC``
_TOKEN_IN_PATH = re.compile(r"/(?:bot)?[0-9]+:[^/]*")
SAMPLE_CONFIG = Path(__file__).resolve().parent / "sample_config.toml"
SUPPORTED_LANGUAGES = ("en", "fr")
#: The database drivers we run on, all asyncio ones: any other (``postgresql://`` means
#: psycopg2, ``mysql://`` MySQLdb) would fail at start-up with the driver's own traceback
ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def _supported_language(value: str) -> str:
    if value not in SUPPORTED_LANGUAGES:
        raise ValueError(f"unsupported language {value!r}; one of {SUPPORTED_LANGUAGES}")
    return value


def usable_database_url(value: str) -> str:
    """``value`` if it is a URL of a database and asyncio driver we run on, else a
    ``ValueError`` naming the driver to use (never the URL: it may hold a password).

    A relative SQLite path is taken from the working directory, as SQLite would: it is made
    absolute here, once, so every part of the process opens the same file, and
    ``check-config`` shows which."""
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError(
            "not a database URL (sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db)"
        ) from None
    backend = url.get_backend_name()
    wanted = ASYNC_DRIVERS.get(backend)
    if wanted is None:
        raise ValueError(
            f"the {backend!r} database is not supported; use SQLite (sqlite+aiosqlite://) "
            "or PostgreSQL (postgresql+asyncpg://)"
        )
    if url.drivername != wanted:
        raise ValueError(
            f"{url.drivername!r} is not an asyncio driver: the URL must start {wanted}://"
        )
    path = url.database
    if backend == "sqlite" and path and path != ":memory:" and not url.query:
        if not Path(path).is_absolute():
            return url.set(database=str(Path.cwd() / path)).render_as_string(hide_password=False)
    return value


class BusinessConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    provider: str
    timezone: str
    #: the business's country (ISO 3166 alpha-2, "FR"), where phone numbers typed the national
    #: way are read; unset: the country of ``timezone`` (none for "UTC")
    country: str | None = None
    language: str = "en"
    admins: list[int] = Field(default_factory=list)
    #: reminder offsets before the appointment, in minutes (a reminder after it is no reminder)
    reminder_offsets_minutes: list[PositiveInt] = Field(default_factory=lambda: [24 * 60, 120])
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        if value not in known_kinds():
            raise ValueError(f"unknown provider {value!r}; one of {', '.join(known_kinds())}")
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if len(code) != 2 or code not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown country {value!r}; an ISO 3166 alpha-2 code such as FR")
        return code

    _language = field_validator("language")(classmethod(lambda cls, v: _supported_language(v)))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def provider_settings(self) -> ProviderSettings:
        """The settings, validated by the provider's model (``ValidationError`` when invalid;
        ``ImportError`` when the adapter is not in this build)."""
        return settings_model(self.provider).model_validate(self.settings)

    def secret_names(self) -> list[str]:
        """Names of the environment variables this business's settings refer to: by the
        provider's model (defaults included), or, while the settings are invalid, the ``*_env``
        keys written in them (so one check-config run still reports the missing variables)."""
        try:
            return self.provider_settings().secret_names()
        except (ValidationError, ImportError):
            written = ((k, v) for k, v in self.settings.items() if k.endswith(SECRET_SUFFIX))
            return [v for _, v in written if isinstance(v, str) and v]


class AppConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database_url: str = Field(default=DEFAULT_DATABASE_URL, validate_default=True)
    #: Telegram user ids allowed every admin command for every business
    owners: list[int] = Field(default_factory=list)
    default_language: str = "en"
    conversation_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    businesses: list[BusinessConfig] = Field(min_length=1)

    _language = field_validator("default_language")(
        classmethod(lambda cls, v: _supported_language(v))
    )

    _database = field_validator("database_url")(classmethod(lambda cls, v: usable_database_url(v)))

    @field_validator("businesses")
    @classmethod
    def _unique_slugs(cls, value: list[BusinessConfig]) -> list[BusinessConfig]:
        slugs = [b.slug for b in value]
        duplicates = sorted({s for s in slugs if slugs.count(s) > 1})
        if duplicates:
            raise ValueError(f"duplicate business slug(s): {', '.join(duplicates)}")
        return value

    def business(self, slug: str) -> BusinessConfig | None:
        return next((b for b in self.businesses if b.slug == slug), None)


#: What start-up prints, alone, when the Bot API refuses the token (never the exception: its
#: text quotes the token).
REFUSED_AT_START_UP = (
    "the Bot API refused TELEGRAM_BOT_TOKEN: check the token (and TELEGRAM_API_BASE_URL)"
)


@dataclass(frozen=True)
class TelegramSettings:
    """Telegram settings from the environment (never from the file: the token is a secret)."""

    token: str | None
    api_base_url: str | None
    webhook_url: str | None
    webhook_listen: str
    webhook_port: int
    webhook_secret: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> TelegramSettings:
        """The settings; :class:`ConfigError` when ``TELEGRAM_API_BASE_URL`` is not one."""
        api_base_url = env.get("TELEGRAM_API_BASE_URL") or None
        if api_base_url is not None:
            try:
                bot_api_urls(api_base_url)
            except ValueError as problem:
                raise ConfigError("the environment", [str(problem)]) from None
        return cls(
            token=env.get("TELEGRAM_BOT_TOKEN") or None,
            api_base_url=api_base_url,
            webhook_url=env.get("BOOKBOT_WEBHOOK_URL") or None,
            webhook_listen=env.get("BOOKBOT_WEBHOOK_LISTEN", "127.0.0.1"),
            webhook_port=int(env.get("BOOKBOT_WEBHOOK_PORT", "8443")),
            webhook_secret=env.get("BOOKBOT_WEBHOOK_SECRET") or None,
        )


def bot_api_urls(base_url: str) -> tuple[str, str]:
    """python-telegram-bot's ``base_url`` and ``base_file_url`` for a self-hosted Bot API
    server (``TELEGRAM_API_BASE_URL``): its address (``https://host``), with or without the
    ``/bot`` that python-telegram-bot's own default ends in (the token follows it). A
    ``ValueError`` saying what is wrong otherwise; it never repeats the URL, which may hold
    the token."""
    root = base_url.strip().rstrip("/").removesuffix("/bot").rstrip("/")
    name = "TELEGRAM_API_BASE_URL"
    parts = urlsplit(root)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name}: not an http(s) address such as https://api.telegram.org")
    if parts.query or parts.fragment:
        raise ValueError(f"{name}: the server's address takes no query (?) nor fragment (#)")
    if _TOKEN_IN_PATH.search(parts.path):
        raise ValueError(
            f"{name}: give the server's address without the bot token (the bot adds it), "
            "such as https://api.telegram.org"
        )
    return f"{root}/bot", f"{root}/file/bot"


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` lists ``key: what is wrong`` lines."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration in {source}:\n{lines}")


def config_path(env: Mapping[str, str] = os.environ) -> Path:
    return Path(env.get("BOOKBOT_CONFIG") or SAMPLE_CONFIG)


def _location(loc: tuple[int | str, ...], data: Mapping[str, Any]) -> str:
    """``businesses[0].timezone`` -> ``businesses[sample-salon].timezone`` for readability."""
    parts: list[str] = []
    node: Any = data
    for item in loc:
        if isinstance(item, int):
            slug = (
                node[item].get("slug")
                if isinstance(node, list) and item < len(node) and isinstance(node[item], dict)
                else None
            )
            parts[-1] += f"[{slug or item}]"
            node = node[item] if isinstance(node, list) and item < len(node) else None
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts)


def load_config(
    path: Path | None = None, env: Mapping[str, str] = os.environ, *, check_secrets: bool = True
) -> AppConfig:
    """Read, validate and return the configuration, or raise :class:`ConfigError` listing
    every problem found (file, schema, provider settings and missing secrets)."""
    path = path or config_path(env)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"not valid TOML: {exc}"]) from None
    if env.get("BOOKBOT_DATABASE_URL"):
        data["database_url"] = env["BOOKBOT_DATABASE_URL"]
    problems: list[str] = []
    config: AppConfig | None = None
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{_location(e['loc'], data) or '(top level)'}: {e['msg']}" for e in exc.errors()
        ]
    # Check every business that is valid on its own too, so one run reports every problem.
    for business in _valid_businesses(data):
        problems.extend(_provider_problems(business))
        if check_secrets:
            for name in business.secret_names():
                if not env.get(name):  # name the variable; its value is never printed
                    problems.append(
                        f"businesses[{business.slug}].settings: "
                        f"environment variable {name} is not set"
                    )
    if problems or config is None:
        raise ConfigError(str(path), problems)
    return config


def _valid_businesses(data: Mapping[str, Any]) -> list[BusinessConfig]:
    found = []
    raw = data.get("businesses")
    for item in raw if isinstance(raw, list) else []:
        try:
            found.append(BusinessConfig.model_validate(item))
        except ValidationError:
            continue
    return found


def _provider_problems(business: BusinessConfig) -> list[str]:
    try:
        model = settings_model(business.provider)
    except ImportError as exc:
        return [f"businesses[{business.slug}].provider: adapter not available ({exc})"]
    where = f"businesses[{business.slug}].settings"
    return [
        f"{where}{'.' + key if key else ''}: {message}"
        for key, message in settings_problems(model, business.settings)
    ]


def resolve_secrets(
    business: BusinessConfig, env: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """The secret values this business needs, by environment variable name (memory only)."""
    return {name: env[name] for name in business.secret_names() if name in env}
