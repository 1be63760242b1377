"""Qmatic Cloud Appointments ("external/v1" REST API) as a booking provider.

* :mod:`providers.qmatic.settings`: the business's settings, as ``check-config`` validates them;
* :mod:`providers.qmatic.api`: paths, bodies and every guess about the wire format;
* :mod:`providers.qmatic.client`: the token and the headers, bound to the shared
  :class:`~providers.http.AuthenticatedClient`;
* :mod:`providers.qmatic.errors`: the one place where answers become domain errors;
* :mod:`providers.qmatic.catalog`: services, branches, resources and questions as values;
* :mod:`providers.qmatic.rules`: what Qmatic refuses, checked before anything is sent;
* :mod:`providers.qmatic.reservations`: reserve, confirm, release;
* :mod:`providers.qmatic.adapter`: :class:`QmaticProvider`, the flow, holds and bookings.
"""

from providers.qmatic.adapter import QmaticProvider

__all__ = ["QmaticProvider"]
