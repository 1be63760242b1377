"""Durable delivery of every message the bot owes someone outside a conversation.

- :mod:`.outbox`: the ``deliveries`` table as a queue (enqueue, atomic claim with a lease,
  results written back conditionally on still holding the lease).
- :mod:`.dispatcher`: claims due rows, renders them, sends them through the bot's named methods,
  within the token's one budget (:mod:`bot.rate_limiter`).
- :mod:`.reminders`, :mod:`.broadcasts`, :mod:`.preferences`: what writes rows and who may
  receive them.
- :mod:`.reminder_buttons`, :mod:`.settings`: the reminder's buttons and ``/settings``, run on
  the conversation engine. (The broadcast composer is an admin feature: :mod:`bot.admin`.)
- :mod:`.handlers`: who blocked the bot, and who comes back.

``python -m bot.delivery`` runs a dispatcher process. See ``docs/delivery.md``.
"""
