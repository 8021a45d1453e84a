"""Collect every translatable message of the package (for the catalog-completeness test and tooling).

Besides `_()`/`gettext()`, the first English argument of domain errors, navigation labels, catalogue
functions and parameters are messages too: they are translated where they are shown.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

PACKAGE_DIR = Path(__file__).resolve().parent.parent

KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "lazy": None,
    "FieldError": (2,),
    "KefuError": (1,),
    "NotFound": (1,),
    "Conflict": (1,),
    "PermissionDenied": (1,),
    "NotAuthenticated": (1,),
    "LoginFailed": (1,),
    "NavItem": (2,),
    "register": (2,),
    "declare": (2,),
    "section": (2,),
}

METHOD_MAP = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def messages() -> dict[str, list[str]]:
    """msgid → places it is used (relative file:line)."""
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(PACKAGE_DIR), METHOD_MAP, OPTIONS, keywords=KEYWORDS, strip_comment_tags=True
    ):
        if "/static/" in filename:
            continue
        msgids = message if isinstance(message, tuple) else (message,)
        for msgid in msgids:
            if msgid:
                found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found
