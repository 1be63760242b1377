"""What every adapter's settings model shares, and the one check ``bookbot check-config`` runs.

Each platform package declares a pydantic model in its ``settings`` module (named by its entry
in :mod:`providers.registry`). The model forbids unknown keys, so a misspelled key is reported
with its name by ``check-config`` instead of surfacing at start-up. A field whose name ends in
``_env`` holds the NAME of an environment variable that holds a secret: the configuration check
verifies the variable is set (never printing its value), and the adapter reads the value from
``ProviderDeps.secrets`` with :func:`secret`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

#: Settings keys with this suffix name an environment variable holding a secret.
SECRET_SUFFIX = "_env"  # noqa: S105 - a key suffix, not a secret


class ProviderSettings(BaseModel):
    """Base of the adapters' settings models: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    def secret_names(self) -> list[str]:
        """The environment variables named by this business's ``*_env`` settings (defaults
        included: a default name must be set as much as an explicit one)."""
        return [
            value
            for name, value in self
            if name.endswith(SECRET_SUFFIX) and isinstance(value, str) and value
        ]

    def local_problems(self) -> list[tuple[str, str]]:
        """Problems shown by what these settings name on this machine (a file, a cache), as
        ``(key, message)`` pairs; never read from the network. Default: none."""
        return []


def settings_problems(
    model: type[ProviderSettings], settings: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """Every problem ``model`` finds in ``settings``, as ``(key, message)`` pairs; the key is
    dotted (``staff.0.hours``), empty for a problem of the settings as a whole."""
    try:
        parsed = model.model_validate(settings)
    except ValidationError as exc:
        return [
            (".".join(str(p) for p in e["loc"]), _inline_secret(model, e) or e["msg"])
            for e in exc.errors()
        ]
    return parsed.local_problems()


#: Words in a key that say its value is a secret (``api_key``, ``client_secret``, ``password``)
_SECRET_WORDS = ("secret", "password", "passwd", "token", "api_key", "apikey", "credential")


def _inline_secret(model: type[ProviderSettings], error: ErrorDetails) -> str | None:
    """The message for a secret written in the file itself (an unknown key such as
    ``client_secret`` or ``api_key``): it names the ``*_env`` key to use instead, and never the
    value."""
    if error["type"] != "extra_forbidden" or len(error["loc"]) != 1:
        return None
    key = str(error["loc"][0])
    env_key = key + SECRET_SUFFIX
    if env_key not in model.model_fields and not any(w in key.lower() for w in _SECRET_WORDS):
        return None
    named = (
        f'{env_key} = "VARIABLE_NAME"'
        if env_key in model.model_fields
        else f"a *{SECRET_SUFFIX} key"
    )
    return (
        "secrets are never written in the configuration: remove it, put the value in an "
        f"environment variable and name that variable with {named}"
    )


def secret(secrets: Mapping[str, str], env_name: str, kind: str) -> str:
    """The value of the environment variable ``env_name`` from ``secrets``.

    ``ValueError`` naming the variable (never a value) when it is not set; ``check-config``
    reports this before start-up, so only code that builds an adapter by hand meets it."""
    value = secrets.get(env_name)
    if not value:
        raise ValueError(f"{kind}: the environment variable {env_name} is not set")
    return value
