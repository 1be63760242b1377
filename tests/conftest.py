"""Shared fixtures. Tests never reach the network: any connection to a non-loopback address
fails loudly (see ``_no_network``)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import AppConfig, load_config

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and not (
        host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")
    ):
        raise RuntimeError(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    yield


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bookbot.db'}"


@pytest.fixture
def sample_config(database_url: str) -> AppConfig:
    config = load_config(env={})
    return config.model_copy(update={"database_url": database_url})


@pytest.fixture
async def services(sample_config: AppConfig) -> AsyncIterator[Any]:
    from bot.services import build_services

    built = await build_services(sample_config, env={})
    yield built
    await built.aclose()
