"""The data dictionary (数据字典, ORG-7): code tables edited at run time and read by forms of every domain.

Writes go through the functions below: each checks the actor's permission, writes an audit row with
before/after, and publishes `dictionary.changed` (data ``{"type": code}``) when the transaction commits.
Forms read through `items()` and `label()` (re-exported from `dictionary_cache`, which explains how the
per-process cache stays correct across app processes; `invalidate()` clears it).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core.errors import Conflict, FieldError, NotFound, PermissionDenied
from kefu.org.config.dictionary_cache import (
    CACHE_TTL,
    DICTIONARY_CHANGED,
    DictItemView,
    follow_changes,
    invalidate,
    items,
    label,
    mark_changed,
    on_event,
)
from kefu.org.config.dictionary_seed import DEFAULTS
from kefu.org.config.models import DictItem, DictType

if TYPE_CHECKING:
    from kefu.core.permissions import Actor

__all__ = [
    "CACHE_TTL",
    "DICTIONARY_CHANGED",
    "FUNCTION",
    "DictItemView",
    "add_item",
    "create_type",
    "delete_item",
    "delete_type",
    "follow_changes",
    "get_item",
    "get_type",
    "invalidate",
    "item_counts",
    "items",
    "label",
    "list_types",
    "mark_changed",
    "on_event",
    "reorder_items",
    "seed_defaults",
    "update_item",
    "update_type",
]

FUNCTION = "admin.dictionary"
CODE_MAX, NAME_MAX, LABEL_MAX, DESCRIPTION_MAX = 60, 100, 100, 1000
SORT_MIN, SORT_MAX = -1_000_000, 1_000_000
TYPE_CODE_RE = re.compile(r"[a-z][a-z0-9_]*")
ITEM_CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
TYPE_FIELDS = ("code", "name", "description", "is_system")
ITEM_FIELDS = ("code", "label", "label_en", "sort", "enabled")


def _require(actor: Actor, operation: str) -> None:
    if not actor.can(f"{FUNCTION}.{operation}"):
        raise PermissionDenied()


def _text(field: str, value: str | None, *, max_len: int, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise FieldError(field, "This field is required")
    if len(text) > max_len:
        raise FieldError(field, "Enter at most %(n)s characters", n=max_len)
    return text


def _type_code(value: str | None) -> str:
    code = _text("code", value, max_len=CODE_MAX, required=True)
    if not TYPE_CODE_RE.fullmatch(code):
        raise FieldError("code", "Use lowercase letters, digits and underscores, starting with a letter")
    return code


def _item_code(value: str | None) -> str:
    code = _text("code", value, max_len=CODE_MAX, required=True)
    if not ITEM_CODE_RE.fullmatch(code):
        raise FieldError("code", "Use letters, digits, underscores, dots and hyphens")
    return code


def _sort(value: int) -> int:
    if not SORT_MIN <= value <= SORT_MAX:
        raise FieldError("sort", "Must be between %(lo)s and %(hi)s", lo=SORT_MIN, hi=SORT_MAX)
    return value


def list_types(session: Session) -> list[DictType]:
    """Every dictionary type, system types first, then by code."""
    return list(session.scalars(select(DictType).order_by(DictType.is_system.desc(), DictType.code)))


def item_counts(session: Session) -> dict[int, int]:
    """Type id → number of items (for lists)."""
    stmt = select(DictItem.type_id, func.count()).group_by(DictItem.type_id)
    return {type_id: count for type_id, count in session.execute(stmt).tuples()}


def get_type(session: Session, code: str) -> DictType:
    dict_type = session.scalar(select(DictType).where(DictType.code == code))
    if dict_type is None:
        raise NotFound("No such dictionary: %(code)s", code=code)
    return dict_type


def get_item(session: Session, dict_type: DictType, item_id: int) -> DictItem:
    item = session.get(DictItem, item_id)
    if item is None or item.type_id != dict_type.id:
        raise NotFound()
    return item


def create_type(session: Session, *, actor: Actor, code: str, name: str, description: str = "") -> DictType:
    """Add a (non-system) dictionary type. FieldError on a bad or taken code, or an empty name."""
    _require(actor, "create")
    code = _type_code(code)
    name = _text("name", name, max_len=NAME_MAX, required=True)
    description = _text("description", description, max_len=DESCRIPTION_MAX, required=False)
    if session.scalar(select(DictType.id).where(DictType.code == code)) is not None:
        raise FieldError("code", "This code is already in use")
    dict_type = DictType(code=code, name=name, description=description, is_system=False)
    session.add(dict_type)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="dictionary.type.create",
        function=FUNCTION,
        target=dict_type,
        after=audit.snapshot(dict_type, TYPE_FIELDS),
    )
    mark_changed(session, code)
    return dict_type


def update_type(
    session: Session,
    *,
    actor: Actor,
    dict_type: DictType,
    code: str | None = None,
    name: str | None = None,
    description: str | None = None,
) -> DictType:
    """Change a type's code, name or description (None: leave as is). A system type keeps its code."""
    _require(actor, "edit")
    before = audit.snapshot(dict_type, TYPE_FIELDS)
    old_code = dict_type.code
    if code is not None:
        code = _type_code(code)
        if code != old_code:
            if dict_type.is_system:
                raise FieldError("code", "The code of a system dictionary cannot be changed")
            if session.scalar(select(DictType.id).where(DictType.code == code)) is not None:
                raise FieldError("code", "This code is already in use")
            dict_type.code = code
    if name is not None:
        dict_type.name = _text("name", name, max_len=NAME_MAX, required=True)
    if description is not None:
        dict_type.description = _text("description", description, max_len=DESCRIPTION_MAX, required=False)
    old, new = audit.diff(before, audit.snapshot(dict_type, TYPE_FIELDS))
    if new:
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="dictionary.type.update",
            function=FUNCTION,
            target=dict_type,
            before=old,
            after=new,
        )
        mark_changed(session, *dict.fromkeys((old_code, dict_type.code)))
    return dict_type


def delete_type(session: Session, *, actor: Actor, dict_type: DictType) -> None:
    """Delete a non-system type with its items (Conflict for a system type)."""
    _require(actor, "delete")
    if dict_type.is_system:
        raise Conflict("System dictionaries cannot be deleted")
    before = {**audit.snapshot(dict_type, TYPE_FIELDS), "items": [i.code for i in dict_type.items]}
    audit.record(
        session,
        actor=actor,
        action="dictionary.type.delete",
        function=FUNCTION,
        target=dict_type,
        before=before,
    )
    mark_changed(session, dict_type.code)
    session.delete(dict_type)
    session.flush()


def _code_taken(session: Session, dict_type: DictType, code: str, *, other_than: int | None = None) -> bool:
    stmt = select(DictItem.id).where(DictItem.type_id == dict_type.id, DictItem.code == code)
    if other_than is not None:
        stmt = stmt.where(DictItem.id != other_than)
    return session.scalar(stmt) is not None


def add_item(
    session: Session,
    *,
    actor: Actor,
    dict_type: DictType,
    code: str,
    label: str,
    label_en: str = "",
    sort: int | None = None,
    enabled: bool = True,
) -> DictItem:
    """Add an item to a type (at the end unless `sort` is given). FieldError: bad or taken code, no label."""
    _require(actor, "create")
    code = _item_code(code)
    label = _text("label", label, max_len=LABEL_MAX, required=True)
    label_en = _text("label_en", label_en, max_len=LABEL_MAX, required=False)
    if sort is None:
        last = session.scalar(select(func.max(DictItem.sort)).where(DictItem.type_id == dict_type.id))
        sort = 0 if last is None else min(last + 1, SORT_MAX)
    sort = _sort(sort)
    if _code_taken(session, dict_type, code):
        raise FieldError("code", "This code is already in use")
    item = DictItem(
        type_id=dict_type.id, code=code, label=label, label_en=label_en, sort=sort, enabled=enabled
    )
    session.add(item)
    session.flush()
    session.expire(dict_type, ["items"])
    audit.record(
        session,
        actor=actor,
        action="dictionary.item.create",
        function=FUNCTION,
        target=item,
        summary=f"{dict_type.code}.{code}",
        after=audit.snapshot(item, ITEM_FIELDS),
    )
    mark_changed(session, dict_type.code)
    return item


def update_item(
    session: Session,
    *,
    actor: Actor,
    item: DictItem,
    code: str | None = None,
    label: str | None = None,
    label_en: str | None = None,
    sort: int | None = None,
    enabled: bool | None = None,
) -> DictItem:
    """Change an item (None: leave a field as is). Disabled items leave forms; old records keep the label."""
    _require(actor, "edit")
    dict_type = item.dict_type
    before = audit.snapshot(item, ITEM_FIELDS)
    if code is not None:
        code = _item_code(code)
        if code != item.code and _code_taken(session, dict_type, code, other_than=item.id):
            raise FieldError("code", "This code is already in use")
        item.code = code
    if label is not None:
        item.label = _text("label", label, max_len=LABEL_MAX, required=True)
    if label_en is not None:
        item.label_en = _text("label_en", label_en, max_len=LABEL_MAX, required=False)
    if sort is not None:
        item.sort = _sort(sort)
    if enabled is not None:
        item.enabled = enabled
    old, new = audit.diff(before, audit.snapshot(item, ITEM_FIELDS))
    if new:
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="dictionary.item.update",
            function=FUNCTION,
            target=item,
            summary=f"{dict_type.code}.{item.code}",
            before=old,
            after=new,
        )
        mark_changed(session, dict_type.code)
    return item


def delete_item(session: Session, *, actor: Actor, item: DictItem) -> None:
    """Remove an item. Records that use its code then show the bare code: prefer disabling it."""
    _require(actor, "delete")
    dict_type = item.dict_type
    audit.record(
        session,
        actor=actor,
        action="dictionary.item.delete",
        function=FUNCTION,
        target=item,
        summary=f"{dict_type.code}.{item.code}",
        before=audit.snapshot(item, ITEM_FIELDS),
    )
    mark_changed(session, dict_type.code)
    session.delete(item)
    session.flush()
    session.expire(dict_type, ["items"])


def reorder_items(session: Session, *, actor: Actor, dict_type: DictType, item_ids: list[int]) -> DictType:
    """Put the type's items in the order of `item_ids`, which must name each of its items exactly once."""
    _require(actor, "edit")
    current = list(dict_type.items)
    if len(item_ids) != len(set(item_ids)) or set(item_ids) != {i.id for i in current}:
        raise FieldError("item_ids", "List every item of this dictionary exactly once")
    before = [i.code for i in current]
    by_id = {i.id: i for i in current}
    changed = False
    for position, item_id in enumerate(item_ids):
        changed = changed or by_id[item_id].sort != position
        by_id[item_id].sort = position
    after = [by_id[i].code for i in item_ids]
    session.flush()
    session.expire(dict_type, ["items"])
    if changed:
        audit.record(
            session,
            actor=actor,
            action="dictionary.item.reorder",
            function=FUNCTION,
            target=dict_type,
            before={"order": before},
            after={"order": after},
        )
        mark_changed(session, dict_type.code)
    return dict_type


def seed_defaults(session: Session) -> list[str]:
    """Create the system dictionaries that are missing; returns the codes created (empty: nothing to do).

    Each type is created once, with its items, as a system type (its code is then fixed and it cannot
    be deleted). After that the type belongs to the administrators: running the seed again leaves an
    existing type exactly as it is, never re-creating an item they deleted or overwriting a label they
    changed. The creation is audited as a system action (no acting user).
    """
    wanted = [seed.code for seed in DEFAULTS]
    existing = set(session.scalars(select(DictType.code).where(DictType.code.in_(wanted))))
    created: list[str] = []
    for seed in DEFAULTS:
        if seed.code in existing:
            continue
        dict_type = DictType(code=seed.code, name=seed.name, description=seed.description, is_system=True)
        dict_type.items = [
            DictItem(code=code, label=label, label_en=label_en, sort=position, enabled=True)
            for position, (code, label, label_en) in enumerate(seed.items)
        ]
        session.add(dict_type)
        created.append(seed.code)
    if not created:
        return created
    session.flush()
    audit.record(
        session,
        actor=None,
        action="dictionary.seed",
        function=FUNCTION,
        target_type="dict_type",
        summary="Created default dictionaries: " + ", ".join(created),
        after={seed.code: [item[0] for item in seed.items] for seed in DEFAULTS if seed.code in created},
    )
    mark_changed(session, *created)
    return created
