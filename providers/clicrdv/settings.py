"""The ``settings`` table of a ``clicrdv`` business in the TOML configuration."""

from __future__ import annotations

from pydantic import ConfigDict, Field, model_validator

from providers.clicrdv import api, guesses
from providers.settings import ProviderSettings


class ClicrdvSettings(ProviderSettings):
    """One ClicRDV group. ``environment`` (``production`` or ``sandbox``) or ``base_url`` says
    which API it lives on."""

    # group_id is a number in ClicRDV's URLs, and naturally written as one in TOML.
    model_config = ConfigDict(coerce_numbers_to_str=True)

    group_id: str = Field(min_length=1)
    environment: str = "production"
    base_url: str | None = Field(default=None, min_length=1)
    #: NAME of the environment variable holding the API key.
    api_key_env: str = Field(default="CLICRDV_API_KEY", min_length=1)
    #: Group settings, categories, services, calendars; default: the deployment's catalog TTL.
    catalog_ttl_seconds: float | None = Field(default=None, ge=0)
    currency: str = guesses.DEFAULT_CURRENCY

    @model_validator(mode="after")
    def _known_environment(self) -> ClicrdvSettings:
        if not self.base_url and self.environment not in api.BASE_URLS:
            known = ", ".join(sorted(api.BASE_URLS))
            raise ValueError(f"unknown environment {self.environment!r}; one of {known}")
        return self

    def root_url(self) -> str:
        """The API's base URL."""
        return self.base_url or api.BASE_URLS[self.environment]
