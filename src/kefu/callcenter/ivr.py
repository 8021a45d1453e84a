"""IVR menus (语音导航, CC-4): their configuration, checked as a whole before it is saved.

A menu plays its prompt and waits for one key; each key (0-9, *, #) is an option with an action:

- `menu` {menu}: that menu;
- `queue` {queue: a cc_queue code}: handed to the PBX's queue (an agent);
- `query` {kind: fee / installation / ticket, prompt, max_digits, queue}: the caller enters digits
  (account number or ticket serial) and hears the answer; `queue` is offered when the system fails;
- `knowledge` {article_id: a published article open to customers}: its summary (or text) read out;
- `record` {max_seconds: 5-600, prompt}: a voice message (留言), kept as a contact record;
- `back`: the previous menu; `repeat`: this menu again; `hangup` {prompt}: goodbye.

The menu's `fallback` (after `max_retries` wrong or missing keys) is an action of the same shape;
an empty fallback hands the caller to the first queue, or says goodbye when there is none.
Every save is validated whole: a 422 names the field (`options.2.params.queue`) and nothing is
written. Walking the menus is `ivr_engine`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.callcenter.models import CallQueue, IvrMenu, IvrOption, VoicePrompt
from kefu.callcenter.permissions import CONFIG_EDIT
from kefu.core import clock
from kefu.core.errors import Conflict, FieldError, FieldErrors, PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor

FUNCTION = "callcenter.config"
DIGITS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#")
ACTIONS = {
    "menu": lazy("Go to a menu"),
    "queue": lazy("Transfer to a queue"),
    "query": lazy("Self-service query"),
    "knowledge": lazy("Read a knowledge article"),
    "record": lazy("Leave a message"),
    "back": lazy("Previous menu"),
    "repeat": lazy("Repeat the menu"),
    "hangup": lazy("Hang up"),
}
FALLBACK_ACTIONS = ("menu", "queue", "hangup")
QUERY_KINDS = {
    "fee": lazy("Fees and balance"),
    "installation": lazy("Installation progress"),
    "ticket": lazy("Ticket progress"),
}
MAX_OPTIONS = len(DIGITS)
MAX_ENTRY_NUMBERS = 20
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
NUMBER_PATTERN = re.compile(r"\+?[0-9]{3,20}")
FIELDS = (
    "code",
    "name",
    "prompt_code",
    "entry_numbers",
    "timeout_seconds",
    "max_retries",
    "invalid_prompt_code",
    "fallback",
    "enabled",
)

REQUIRED = lazy("This field is required")
MAX_CHARS = lazy("At most %(max)s characters")
BAD_CODE = lazy("Use letters, digits, dots, hyphens and underscores (at most 40)")
CHOOSE_OFFERED = lazy("Choose one of the offered values")
OUT_OF_RANGE = lazy("Must be between %(lo)s and %(hi)s")
MENU_TAKEN = lazy("A menu with this code exists already")
NO_SUCH_MENU = lazy("No such menu: %(code)s")
NO_SUCH_QUEUE = lazy("No such queue: %(code)s")
NO_SUCH_PROMPT = lazy("No such voice prompt: %(code)s")
NO_SUCH_ARTICLE = lazy("No published knowledge article open to customers with this number")
DIGIT_TWICE = lazy("The key %(digit)s is used twice")
BAD_NUMBER = lazy("Enter dialled numbers of 3 to 20 digits")
NUMBER_TAKEN = lazy("The number %(number)s starts the menu %(name)s already")
TOO_MANY = lazy("At most %(max)s entries")
MENU_IN_USE = lazy("The menu %(name)s still leads to this menu")


def _require_edit(actor: Actor) -> None:
    if not actor.can(CONFIG_EDIT):
        raise PermissionDenied()


def _int(errors: list[FieldError], field: str, value: Any, lo: int, hi: int, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or not lo <= number <= hi:
        errors.append(FieldError(field, OUT_OF_RANGE, lo=lo, hi=hi))
        return default
    return number


def _text(errors: list[FieldError], field: str, value: Any, max_len: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.append(FieldError(field, CHOOSE_OFFERED))
        return ""
    value = value.strip()
    if required and not value:
        errors.append(FieldError(field, REQUIRED))
    elif len(value) > max_len:
        errors.append(FieldError(field, MAX_CHARS, max=max_len))
    return value


class _Known:
    """The codes a menu may refer to, loaded once per validation."""

    def __init__(self, session: Session, own_code: str) -> None:
        self.session = session
        self.menus = set(session.scalars(select(IvrMenu.code))) | {own_code}
        self.queues = set(session.scalars(select(CallQueue.code)))
        self.prompts = set(session.scalars(select(VoicePrompt.code)))

    def prompt(self, errors: list[FieldError], field: str, value: Any) -> str:
        code = _text(errors, field, value, 60)
        if code and code not in self.prompts:
            errors.append(FieldError(field, NO_SUCH_PROMPT, code=code))
        return code

    def article(self, errors: list[FieldError], field: str, value: Any) -> int | None:
        from kefu.knowledge.models import Article, ArticleStatus, Audience

        try:
            article_id = int(str(value).strip().upper().removeprefix("KB"))
        except (TypeError, ValueError):
            errors.append(FieldError(field, NO_SUCH_ARTICLE))
            return None
        article = self.session.get(Article, article_id)
        if (
            article is None
            or article.status != ArticleStatus.PUBLISHED
            or article.audience != Audience.PUBLIC
        ):
            errors.append(FieldError(field, NO_SUCH_ARTICLE))
            return None
        return article_id


def clean_action(
    known: _Known, errors: list[FieldError], prefix: str, raw: Any, *, allowed: Sequence[str]
) -> dict[str, Any]:
    """`{"action", "params"}` of an option or a fallback, with the params its action takes."""
    raw = raw if isinstance(raw, dict) else {}
    action = raw.get("action")
    if action not in allowed:
        errors.append(FieldError(f"{prefix}action", CHOOSE_OFFERED))
        return {"action": "", "params": {}}
    given = raw.get("params") if isinstance(raw.get("params"), dict) else {}
    field = f"{prefix}params."
    params: dict[str, Any] = {}
    if action == "menu":
        code = _text(errors, field + "menu", given.get("menu"), 40, required=True)
        if code and code not in known.menus:
            errors.append(FieldError(field + "menu", NO_SUCH_MENU, code=code))
        params["menu"] = code
    elif action == "queue":
        code = _text(errors, field + "queue", given.get("queue"), 40, required=True)
        if code and code not in known.queues:
            errors.append(FieldError(field + "queue", NO_SUCH_QUEUE, code=code))
        params["queue"] = code
    elif action == "query":
        kind = given.get("kind")
        if kind not in QUERY_KINDS:
            errors.append(FieldError(field + "kind", CHOOSE_OFFERED))
        params["kind"] = kind
        params["max_digits"] = _int(errors, field + "max_digits", given.get("max_digits"), 1, 30, 20)
        queue = _text(errors, field + "queue", given.get("queue"), 40)
        if queue and queue not in known.queues:
            errors.append(FieldError(field + "queue", NO_SUCH_QUEUE, code=queue))
        if queue:
            params["queue"] = queue
    elif action == "knowledge":
        params["article_id"] = known.article(errors, field + "article_id", given.get("article_id"))
    elif action == "record":
        params["max_seconds"] = _int(errors, field + "max_seconds", given.get("max_seconds"), 5, 600, 60)
    if action in ("query", "record", "hangup", "knowledge"):
        prompt = known.prompt(errors, field + "prompt", given.get("prompt"))
        if prompt:
            params["prompt"] = prompt
    return {"action": action, "params": params}


def _entry_numbers(session: Session, errors: list[FieldError], value: Any, menu: IvrMenu | None) -> list[str]:
    if value is None:
        return []
    items = re.split(r"[\s,;，、]+", value) if isinstance(value, str) else value
    if not isinstance(items, list):
        errors.append(FieldError("entry_numbers", BAD_NUMBER))
        return []
    numbers = list(dict.fromkeys(str(n).strip() for n in items if str(n).strip()))
    if len(numbers) > MAX_ENTRY_NUMBERS:
        errors.append(FieldError("entry_numbers", TOO_MANY, max=MAX_ENTRY_NUMBERS))
        return []
    if any(not NUMBER_PATTERN.fullmatch(n) for n in numbers):
        errors.append(FieldError("entry_numbers", BAD_NUMBER))
        return []
    for other in session.scalars(select(IvrMenu)):
        if menu is not None and other.id == menu.id:
            continue
        taken = set(numbers) & set(other.entry_numbers or [])
        if taken:
            errors.append(FieldError("entry_numbers", NUMBER_TAKEN, number=sorted(taken)[0], name=other.name))
            break
    return numbers


def clean(session: Session, data: dict[str, Any], menu: IvrMenu | None) -> dict[str, Any]:
    """The whole menu (fields and options) checked; FieldErrors naming every bad field."""
    errors: list[FieldError] = []
    code = _text(errors, "code", data.get("code"), 40, required=True)
    if code and not CODE_PATTERN.fullmatch(code):
        errors.append(FieldError("code", BAD_CODE))
    elif code:
        clash = session.scalar(select(IvrMenu.id).where(IvrMenu.code == code))
        if clash is not None and (menu is None or clash != menu.id):
            errors.append(FieldError("code", MENU_TAKEN))
    known = _Known(session, code)
    cleaned: dict[str, Any] = {
        "code": code,
        "name": _text(errors, "name", data.get("name"), 100, required=True),
        "prompt_code": known.prompt(errors, "prompt_code", data.get("prompt_code")),
        "entry_numbers": _entry_numbers(session, errors, data.get("entry_numbers"), menu),
        "timeout_seconds": _int(errors, "timeout_seconds", data.get("timeout_seconds"), 1, 60, 5),
        "max_retries": _int(errors, "max_retries", data.get("max_retries"), 0, 9, 3),
        "invalid_prompt_code": known.prompt(errors, "invalid_prompt_code", data.get("invalid_prompt_code")),
        "enabled": bool(data.get("enabled", True)),
    }
    fallback = data.get("fallback")
    cleaned["fallback"] = (
        clean_action(known, errors, "fallback.", fallback, allowed=FALLBACK_ACTIONS)
        if isinstance(fallback, dict) and fallback.get("action")
        else {}
    )
    options = data.get("options") or []
    if not isinstance(options, list):
        errors.append(FieldError("options", CHOOSE_OFFERED))
        options = []
    if len(options) > MAX_OPTIONS:
        errors.append(FieldError("options", TOO_MANY, max=MAX_OPTIONS))
        options = []
    seen: set[str] = set()
    cleaned_options = []
    for i, raw in enumerate(options):
        raw = raw if isinstance(raw, dict) else {}
        prefix = f"options.{i}."
        digit = str(raw.get("digit") or "").strip()
        if digit not in DIGITS:
            errors.append(FieldError(prefix + "digit", CHOOSE_OFFERED))
        elif digit in seen:
            errors.append(FieldError(prefix + "digit", DIGIT_TWICE, digit=digit))
        seen.add(digit)
        label = _text(errors, prefix + "label", raw.get("label"), 100)
        action = clean_action(known, errors, prefix, raw, allowed=tuple(ACTIONS))
        cleaned_options.append({"digit": digit, "label": label, **action, "position": i})
    if errors:
        raise FieldErrors(errors)
    cleaned["options"] = cleaned_options
    return cleaned


def _snapshot(menu: IvrMenu, options: Sequence[IvrOption]) -> dict[str, Any]:
    return {
        **audit.snapshot(menu, FIELDS),
        "options": [
            {"digit": o.digit, "label": o.label, "action": o.action, "params": o.params} for o in options
        ],
    }


def options_of(session: Session, menu: IvrMenu) -> list[IvrOption]:
    return list(
        session.scalars(
            select(IvrOption).where(IvrOption.menu_id == menu.id).order_by(IvrOption.position, IvrOption.id)
        )
    )


def options_by_menu(session: Session, menu_ids: Sequence[int]) -> dict[int, list[IvrOption]]:
    found: dict[int, list[IvrOption]] = {}
    if menu_ids:
        stmt = (
            select(IvrOption)
            .where(IvrOption.menu_id.in_(menu_ids))
            .order_by(IvrOption.position, IvrOption.id)
        )
        for option in session.scalars(stmt):
            found.setdefault(option.menu_id, []).append(option)
    return found


def _apply(session: Session, menu: IvrMenu, cleaned: dict[str, Any]) -> list[IvrOption]:
    for key in FIELDS:
        setattr(menu, key, cleaned[key])
    menu.updated_at = clock.now()
    for old in options_of(session, menu):
        session.delete(old)
    session.flush()
    rows = [
        IvrOption(
            menu_id=menu.id,
            digit=o["digit"],
            label=o["label"],
            action=o["action"],
            params=o["params"],
            position=o["position"],
        )
        for o in cleaned["options"]
    ]
    session.add_all(rows)
    session.flush()
    return rows


def create(session: Session, *, actor: Actor, data: dict[str, Any]) -> IvrMenu:
    """A new menu with its options."""
    _require_edit(actor)
    cleaned = clean(session, data, None)
    menu = IvrMenu(code=cleaned["code"], name=cleaned["name"], created_at=clock.now())
    session.add(menu)
    session.flush()
    rows = _apply(session, menu, cleaned)
    audit.record(
        session,
        actor=actor,
        action="callcenter.ivr_menu.create",
        function=FUNCTION,
        target=menu,
        target_label=menu.code,
        after=_snapshot(menu, rows),
    )
    return menu


def update(session: Session, *, actor: Actor, menu: IvrMenu, data: dict[str, Any]) -> IvrMenu:
    """Replace the menu's fields and options with `data` (the whole menu)."""
    _require_edit(actor)
    before = _snapshot(menu, options_of(session, menu))
    cleaned = clean(session, data, menu)
    if cleaned["code"] != menu.code:
        _refuse_if_used(session, menu)
    rows = _apply(session, menu, cleaned)
    old, new = audit.diff(before, _snapshot(menu, rows))
    if new:
        audit.record(
            session,
            actor=actor,
            action="callcenter.ivr_menu.update",
            function=FUNCTION,
            target=menu,
            target_label=menu.code,
            before=old,
            after=new,
        )
    return menu


def _refuse_if_used(session: Session, menu: IvrMenu) -> None:
    rows = session.execute(
        select(IvrMenu.name, IvrOption.action, IvrOption.params)
        .join(IvrOption, IvrOption.menu_id == IvrMenu.id)
        .where(IvrMenu.id != menu.id)
    )
    for name, action, params in rows:
        if action == "menu" and (params or {}).get("menu") == menu.code:
            raise Conflict(MENU_IN_USE, name=name)
    for other in session.scalars(select(IvrMenu).where(IvrMenu.id != menu.id)):
        fallback = other.fallback or {}
        if fallback.get("action") == "menu" and fallback.get("params", {}).get("menu") == menu.code:
            raise Conflict(MENU_IN_USE, name=other.name)


def delete(session: Session, *, actor: Actor, menu: IvrMenu) -> None:
    """Delete a menu; refused while another menu leads to it."""
    _require_edit(actor)
    _refuse_if_used(session, menu)
    audit.record(
        session,
        actor=actor,
        action="callcenter.ivr_menu.delete",
        function=FUNCTION,
        target=menu,
        target_label=menu.code,
        before=_snapshot(menu, options_of(session, menu)),
    )
    for option in options_of(session, menu):
        session.delete(option)
    session.flush()  # the options first: the menu's row goes after them
    session.delete(menu)
    session.flush()


def entry_menu(session: Session, dialled: str) -> IvrMenu | None:
    """The enabled menu whose entry numbers include `dialled` (spaces and dashes ignored)."""
    number = re.sub(r"[^\d+]", "", dialled or "")
    if not number:
        return None
    for menu in session.scalars(select(IvrMenu).where(IvrMenu.enabled.is_(True)).order_by(IvrMenu.id)):
        if number in (menu.entry_numbers or []):
            return menu
    return None
