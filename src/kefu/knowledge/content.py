"""Checking what an author writes into a version: every field at once (`FieldErrors` naming each bad
one), before anything is changed.

Business types (业务类型) are the ticket business-category tree, so a knowledge article and the
tickets it helps with share one classification; business attributes (业务属性) are the codes of the
`knowledge_attribute` data dictionary.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from kefu.core import clock, richtext
from kefu.core.errors import FieldError, FieldErrors, NotFound
from kefu.knowledge.models import Audience
from kefu.org.config import dictionary_cache
from kefu.tickets.setup import service as ticket_setup

ATTRIBUTE_DICTIONARY = "knowledge_attribute"
TITLE_MAX, SUMMARY_MAX, KEYWORDS_MAX, NOTE_MAX = 200, 1000, 300, 2000
KEYWORD_MAX, KEYWORD_COUNT = 30, 20
_KEYWORD_SPLIT = re.compile(r"[\s,，、;；]+")
# The fields of a version an author writes (and the diff compares).
CONTENT_FIELDS = (
    "title",
    "summary",
    "body_html",
    "keywords",
    "business_category_id",
    "business_attrs",
    "audience",
    "publish_at",
    "expires_at",
    "change_note",
)


@dataclass
class Content:
    """Checked values; only the fields that were given (a partial edit keeps the others)."""

    values: dict[str, Any]
    attachment_ids: list[int] | None


MAX_HTML = 200_000  # characters of an article body as the editor sends it


def text(field: str, value: Any, max_len: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise FieldError(field, "Enter text")
    cleaned = value.strip()
    if required and not cleaned:
        raise FieldError(field, "This field is required")
    if len(cleaned) > max_len:
        raise FieldError(field, "At most %(n)s characters", n=max_len)
    return cleaned


def keywords(value: Any) -> str:
    """Keywords separated by spaces, commas or 、, stored space-separated without repeats."""
    if isinstance(value, list | tuple):
        value = " ".join(str(v) for v in value)
    raw = text("keywords", value, 2000)
    words = list(dict.fromkeys(w for w in _KEYWORD_SPLIT.split(raw) if w))
    if len(words) > KEYWORD_COUNT:
        raise FieldError("keywords", "At most %(n)s keywords", n=KEYWORD_COUNT)
    if any(len(w) > KEYWORD_MAX for w in words):
        raise FieldError("keywords", "A keyword has at most %(n)s characters", n=KEYWORD_MAX)
    joined = " ".join(words)
    if len(joined) > KEYWORDS_MAX:
        raise FieldError("keywords", "At most %(n)s characters", n=KEYWORDS_MAX)
    return joined


def body(value: Any) -> tuple[str, str]:
    """(sanitised HTML, its plain text); a body without text is refused."""
    raw = text("body_html", value, MAX_HTML)
    html = richtext.sanitize(raw)
    plain = richtext.plain_text(html)
    if not plain and "<img" not in html:
        raise FieldError("body_html", "This field is required")
    return html, plain


def business_category(session: Session, value: Any, current: int | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        key = int(value)
        if isinstance(value, bool):
            raise ValueError
        category = ticket_setup.get_category(session, key)
    except (TypeError, ValueError, NotFound):
        raise FieldError("business_category_id", "No such business type") from None
    if not category.enabled and key != current:
        raise FieldError("business_category_id", "This business type is disabled")
    return key


def attribute_codes(session: Session) -> list[tuple[str, str]]:
    """(code, label) of the business attributes offered, in dictionary order."""
    from kefu.core import i18n

    try:
        return [
            (i.code, i.text(i18n.get_locale())) for i in dictionary_cache.items(session, ATTRIBUTE_DICTIONARY)
        ]
    except NotFound:
        return []


def business_attrs(session: Session, value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise FieldError("business_attrs", "Give a list of codes")
    allowed = {code for code, _label in attribute_codes(session)}
    codes = list(dict.fromkeys(v.strip() for v in value if v.strip()))
    unknown = [c for c in codes if c not in allowed]
    if unknown:
        raise FieldError("business_attrs", "Unknown business attribute: %(codes)s", codes=", ".join(unknown))
    return codes


def audience(value: Any) -> Audience:
    try:
        return Audience(value)
    except ValueError:
        raise FieldError("audience", "Choose one of the offered values") from None


def moment(field: str, value: Any) -> datetime | None:
    """An aware datetime; a time without a zone is the deployment's local time."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise FieldError(field, "Enter a date and time") from None
    if not isinstance(value, datetime):
        raise FieldError(field, "Enter a date and time")
    if value.tzinfo is None:
        value = value.replace(tzinfo=clock.local_tz())
    return value.astimezone(clock.UTC)


def attachment_list(value: Any) -> list[int] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise FieldError("attachment_ids", "Give a list of file ids")
    return list(dict.fromkeys(value))


def check(
    session: Session,
    given: Mapping[str, Any],
    *,
    base: Mapping[str, Any],
    require_all: bool,
) -> Content:
    """Check the given content fields against the version they change (`base`: its current values).

    `require_all`: a new article needs its title and body. Times: a publish time must lie ahead and
    an expiry after both now and the publish time.
    """
    errors: list[FieldError] = []
    values: dict[str, Any] = {}

    def run(field: str, fn: Any) -> None:
        if field not in given and not (require_all and field in ("title", "body_html")):
            return
        try:
            result = fn(given.get(field))
        except FieldError as exc:
            errors.append(exc)
            return
        if field == "body_html":
            values["body_html"], values["body_text"] = result
        else:
            values[field] = result

    run("title", lambda v: text("title", v, TITLE_MAX, required=True))
    run("summary", lambda v: text("summary", v, SUMMARY_MAX))
    run("body_html", body)
    run("keywords", keywords)
    run("business_category_id", lambda v: business_category(session, v, base.get("business_category_id")))
    run("business_attrs", lambda v: business_attrs(session, v))
    run("audience", audience)
    run("publish_at", lambda v: moment("publish_at", v))
    run("expires_at", lambda v: moment("expires_at", v))
    run("change_note", lambda v: text("change_note", v, NOTE_MAX))
    attachments = None
    try:
        attachments = attachment_list(given.get("attachment_ids"))
    except FieldError as exc:
        errors.append(exc)
    now = clock.now()
    publish_at = values.get("publish_at", base.get("publish_at"))
    expires_at = values.get("expires_at", base.get("expires_at"))
    if "publish_at" in values and publish_at is not None and publish_at <= now:
        errors.append(FieldError("publish_at", "Choose a time in the future"))
    if "expires_at" in values and expires_at is not None:
        if expires_at <= now:
            errors.append(FieldError("expires_at", "Choose a time in the future"))
        elif publish_at is not None and expires_at <= publish_at:
            errors.append(FieldError("expires_at", "The expiry must be later than the publish time"))
    if errors:
        raise FieldErrors(errors)
    return Content(values=values, attachment_ids=attachments)
