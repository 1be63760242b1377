"""The ``settings`` table of a ``clickbook`` business in the TOML configuration."""

from __future__ import annotations

from pathlib import Path

from pydantic import ConfigDict, Field, field_validator

from providers.clickbook import mapping
from providers.settings import ProviderSettings


class ClickbookSettings(ProviderSettings):
    """One ClickBook service provider (or, without ``provider_id``, the directory's providers).

    ``wsdl`` overrides where an endpoint's WSDL is read (a URL or a file path), by endpoint
    name; by default ``<soap_base_url>/<endpoint>?WSDL``. WSDLs fetched over HTTP are kept in
    zeep's SQLite cache at ``wsdl_cache_path`` for ``wsdl_cache_days``, so a restart fetches none.
    """

    model_config = ConfigDict(coerce_numbers_to_str=True)

    #: The business's ClickBook provider id; empty: the customer picks one from the directory.
    provider_id: str | None = Field(default=None, min_length=1)
    #: NAME of the environment variable holding the API key (without one, ClickBook limits
    #: the API's rate and functions).
    api_key_env: str | None = Field(default=None, min_length=1)
    soap_base_url: str = Field(default=mapping.DEFAULT_SOAP_BASE_URL, min_length=1)
    login_base_url: str = Field(default=mapping.DEFAULT_LOGIN_BASE_URL, min_length=1)
    wsdl: dict[mapping.Endpoint, str] = Field(default_factory=dict)
    wsdl_cache_path: str = Field(default="clickbook-wsdl.sqlite", min_length=1)
    wsdl_cache_days: float = Field(default=30.0, gt=0)
    #: Providers, locations, services and staff; default: the deployment's catalog TTL.
    catalog_ttl_seconds: float | None = Field(default=None, ge=0)
    #: How far ahead the date picker looks for free timeslots.
    horizon_days: int = Field(default=60, ge=1, le=366)
    #: The staff member a check (``bookbot check-provider``) signs in as, and the environment
    #: variable holding their password; both optional.
    check_email: str | None = Field(default=None, min_length=3)
    check_password_env: str | None = Field(default=None, min_length=1)
    currency: str = "EUR"

    @field_validator("soap_base_url", "login_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    def local_problems(self) -> list[tuple[str, str]]:
        """Each WSDL on disk (a file, or zeep's cache) that lacks an operation of the mapping."""
        from providers.clickbook.wsdl import local_problems

        return local_problems(self)

    def endpoint_url(self, endpoint: mapping.Endpoint) -> str:
        """Where ``endpoint``'s operations are posted."""
        return f"{self.soap_base_url}/{endpoint}"

    def wsdl_location(self, endpoint: mapping.Endpoint) -> str:
        """Where ``endpoint``'s WSDL is read: a URL, or an absolute file path."""
        configured = self.wsdl.get(endpoint)
        if configured is None:
            return self.endpoint_url(endpoint) + "?WSDL"
        if configured.startswith(("http://", "https://")):
            return configured
        return str(Path(configured).expanduser().resolve())
