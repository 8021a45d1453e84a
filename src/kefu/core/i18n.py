"""Translations. Message ids are English; zh_CN is the default language of the UI.

Catalogs are the `.po` files under `kefu/locale/`, read once at start-up (no compile step, so a
plain `pip install` carries them). The request's language lives in a context variable.
"""

from __future__ import annotations

import gettext as _gettext
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = {"zh_CN": "简体中文", "en": "English"}
DEFAULT_LOCALE = "zh_CN"
_LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"

_current: ContextVar[str] = ContextVar("kefu_locale", default=DEFAULT_LOCALE)


def catalog_files(locale: str) -> list[Path]:
    """Every `.po` file of a locale: one per area (`shell.po`, `org.po`, …), merged at load."""
    return sorted((_LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po"))


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    if locale == "en":
        return _gettext.NullTranslations()
    merged: dict[str, str] = {}
    for po in catalog_files(locale):
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        for m in catalog:
            # Singular messages only: the UI has no plural forms in Chinese.
            if isinstance(m.id, str) and isinstance(m.string, str) and m.id and m.string and not m.fuzzy:
                merged[m.id] = m.string
    t = Translations()
    t._catalog = merged  # type: ignore[assignment]
    t.plural = lambda n: 0  # type: ignore[attr-defined]  # Chinese has one plural form
    return t


def normalize(locale: str | None) -> str | None:
    if not locale:
        return None
    locale = locale.replace("-", "_")
    if locale in LOCALES:
        return locale
    if locale.lower().startswith("zh"):
        return "zh_CN"
    if locale.lower().startswith("en"):
        return "en"
    return None


def set_locale(locale: str) -> object:
    return _current.set(normalize(locale) or DEFAULT_LOCALE)


def get_locale() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


_ = gettext


def lazy(message: str) -> str:
    """Mark a string for extraction without translating it now (it is translated where shown)."""
    return message
