"""The ``settings`` table of a ``qmatic`` business in the TOML configuration."""

from __future__ import annotations

from pydantic import Field, model_validator

from providers.qmatic import api
from providers.settings import ProviderSettings


class QmaticSettings(ProviderSettings):
    """One Qmatic tenant. ``region_host`` (``eu`` or a host name) or ``base_url`` (scheme and
    host) says where it lives."""

    region_host: str | None = Field(default=None, min_length=1)
    base_url: str | None = Field(default=None, min_length=1)
    #: ``X-ACCOUNT``: lower case, no spaces.
    account: str = Field(min_length=1)
    #: ``X-TENANT-ID``.
    tenant_id: str = Field(min_length=1)
    #: NAMES of the environment variables holding the API client's credentials.
    client_id_env: str = Field(min_length=1)
    client_secret_env: str = Field(min_length=1)
    catalog_ttl_seconds: float | None = Field(default=None, ge=0)
    #: The tenant's ``Accept-Language`` values; the first is the fallback. Default: all.
    supported_languages: list[str] | None = None
    #: Qmatic's API does not say whether the tenant wants a date of birth.
    birth_date_required: bool = False

    @model_validator(mode="after")
    def _located(self) -> QmaticSettings:
        if not self.base_url and not self.region_host:
            raise ValueError("region_host or base_url is required")
        return self

    def root_url(self) -> str:
        """Scheme and host of the tenant's API."""
        if self.base_url:
            return self.base_url
        region = self.region_host or ""
        host = region if "." in region else api.REGION_HOST_TEMPLATE.format(region=region)
        return f"https://{host}"

    def languages(self) -> tuple[str, ...]:
        return tuple(self.supported_languages or api.ALL_LANGUAGES)
