"""Booking platforms behind one async interface (see :mod:`providers.base`)."""
