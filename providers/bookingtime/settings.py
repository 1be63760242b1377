"""The ``settings`` table of a ``bookingtime`` business in the TOML configuration."""

from __future__ import annotations

from pydantic import Field

from providers.bookingtime import api
from providers.settings import ProviderSettings


class BookingtimeSettings(ProviderSettings):
    """One bookingtime organization. The Module API needs no client secret, only a client id."""

    #: 32 alphanumerics in the platform's URLs; anything else never reaches a URL path.
    organization_id: str = Field(pattern=r"^[A-Za-z0-9]{1,64}$")
    #: NAME of the environment variable holding the module's client id.
    client_id_env: str = Field(min_length=1)
    auth_url: str = Field(default=api.DEFAULT_AUTH_URL, min_length=1)
    api_url: str = Field(default=api.DEFAULT_API_URL, min_length=1)
    #: How long templates are cached; default: the deployment's catalog TTL.
    catalog_ttl_seconds: float | None = Field(default=None, ge=0)
    #: The platform's own emails to the customer when an appointment is made, starts and ends
    #: (the ``sendAppointment*EventEmail`` flags of ``appointment/add``, as the SDK sends them).
    send_appointment_add_event_email: bool = True
    send_appointment_start_event_email: bool = True
    send_appointment_end_event_email: bool = True

    def email_flags(self) -> api.EmailFlags:
        return api.EmailFlags(
            add=self.send_appointment_add_event_email,
            start=self.send_appointment_start_event_email,
            end=self.send_appointment_end_event_email,
        )
