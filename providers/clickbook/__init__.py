"""ClickBook (SOAP Web Services 1.3) adapter.

Modules: :mod:`.settings` (the business's settings model), :mod:`.mapping` (every guessed
operation, element and code name, in one place), :mod:`.wsdl` (the WSDLs: read once, cached on
disk, checked for the mapped operations), :mod:`.client` (the JSON sign-in, each user's cookie
jar and the SOAP calls on zeep), :mod:`.errors` (faults, HTTP errors and codes as domain
errors), :mod:`.api` (the answers' items as domain values), :mod:`.registration` (new accounts
and client files), :mod:`.lookups` (the user's bookings, looked up), :mod:`.adapter` (the
:class:`~providers.base.BookingProvider`).
"""

from providers.clickbook.adapter import ClickbookProvider

__all__ = ["ClickbookProvider"]
