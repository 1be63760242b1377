"""Texts an adapter may show the end user: ours (``N_``, translated) or the platform's own.

What a user reads and what a log reads are different types: only a :class:`UserText` ever
reaches the user (see :class:`providers.errors.ProviderError`); any other string is a diagnostic.
"""

from __future__ import annotations


class UserText(str):
    """A text an adapter marked as fit to show the end user (see :class:`ProviderError`).

    Made only by :func:`N_` (our own sentence, translated where it is shown) and
    :func:`platform_text` (the platform's words, shown as they are); a plain ``str`` is never
    shown."""

    __slots__ = ()


class PlatformText(UserText):
    """Words the platform sent back: the business's own text, in the language the platform
    answered in (a refusal, a screening question's ``denied_message``). Not translated."""

    __slots__ = ()


def N_(message: str) -> UserText:
    """Marks ``message``, a literal English sentence of ours, as fit to show the end user.

    The provider-side twin of ``bot.i18n.N_`` (adapters do not import the bot):
    ``python -m bot.i18n_catalog`` extracts every ``N_("...")`` under ``providers/`` and its
    ``check`` refuses a catalog without a translation, so the engine, which runs every text it
    shows through ``gettext``, shows it in the user's language. The argument must be one literal
    (no f-string, no ``.format``): a message id built at run time has no translation.
    """
    return UserText(message)


def platform_text(text: str | None) -> PlatformText | None:
    """Marks ``text``, as the platform sent it, as fit to show the end user unchanged; ``None``
    when it is missing or blank. Never for a text of ours (``check`` refuses a literal here):
    our sentences go through :func:`N_` so that they get translated."""
    if text is None or not text.strip():
        return None
    return PlatformText(text)
