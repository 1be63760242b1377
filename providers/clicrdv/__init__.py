"""ClicRDV (REST API v1) adapter: the group's settings decide the booking flow.

Modules: :mod:`.settings` (the business's settings model), :mod:`.api` (documented paths and
shapes), :mod:`.guesses` (everything undocumented, in one place), :mod:`.errors` (the error
table), :mod:`.client` (the API key and the users' sessions, bound to the shared
:class:`~providers.http.AuthenticatedClient`),
:mod:`.catalog` (the group's cached settings, categories, services and calendars),
:mod:`.redact` (keeps credentials out of the HTTP libraries' logs), :mod:`.adapter` (the
:class:`~providers.base.BookingProvider`).
"""

from providers.clicrdv.adapter import ClicrdvProvider

__all__ = ["ClicrdvProvider"]
