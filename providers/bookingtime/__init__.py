"""bookingtime (Module API v3): booking templates are the services.

``settings`` is the business's settings model; ``client`` binds the token chain to the shared
:class:`~providers.http.AuthenticatedClient`; ``errors`` maps every answer to the domain errors
in one place; ``api`` isolates paths, shapes and the guesses about the API; ``adapter`` is the
:class:`~providers.base.BookingProvider`.
"""

from providers.bookingtime.adapter import BookingtimeProvider

__all__ = ["BookingtimeProvider"]
