"""Subscriber kinds and their attribute definitions (configuration, `customers.config.edit`).

An industry adapts kefu by configuration: a water utility defines a "water meter" kind with a meter
number and caliber, a satellite operator a "terminal" kind with IMSI, ICCID and fax number. Values are
checked by `values.clean_value` against these definitions whenever a subscriber is saved.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from kefu.audit import service as audit
from kefu.core import patterns
from kefu.core.errors import Conflict, FieldError, FieldErrors, NotFound, PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.customers.models import (
    AttributeDefinition,
    AttributeType,
    NumberFormat,
    Subscriber,
    SubscriberAttribute,
    SubscriberKind,
)
from kefu.customers.values import text
from kefu.org.config import dictionary

FUNCTION = "customers.config"
EDIT = "customers.config.edit"
CODE_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
BAD_CODE = lazy("Enter a code of lowercase letters, digits and underscores that starts with a letter")
CODE_TAKEN = lazy("This code is already in use")
KIND_IN_USE = lazy("Subscribers of this kind exist: disable it instead")
ATTRIBUTE_IN_USE = lazy("Subscribers have values of this attribute: disable it instead")
NO_DICTIONARY = lazy("Choose an existing dictionary for a choice attribute")
UNKNOWN_CHECK = lazy("Unknown check")
UNKNOWN_VALUE = lazy("Unknown value")
KIND_FIELDS = ("code", "name", "number_label", "number_format", "number_pattern", "enabled", "sort")
ATTRIBUTE_FIELDS = (
    "code",
    "label",
    "type",
    "pattern",
    "check",
    "dictionary",
    "required",
    "searchable",
    "help_text",
    "sort",
    "enabled",
)
CHECKS = ("", "luhn")


def _require(actor: Actor) -> None:
    if not actor.can(EDIT):
        raise PermissionDenied()


def list_kinds(session: Session, *, enabled_only: bool = False) -> list[SubscriberKind]:
    stmt = select(SubscriberKind).options(selectinload(SubscriberKind.attributes))
    if enabled_only:
        stmt = stmt.where(SubscriberKind.enabled.is_(True))
    return list(session.scalars(stmt.order_by(SubscriberKind.sort, SubscriberKind.id)))


def get_kind(session: Session, code: str) -> SubscriberKind:
    kind = session.scalar(select(SubscriberKind).where(SubscriberKind.code == code))
    if kind is None:
        raise NotFound()
    return kind


def _pattern(field: str, value: Any) -> str:
    pattern = text(field, value, max_len=200)
    problem = patterns.pattern_problem(pattern) if pattern else None
    if problem is not None:
        raise FieldError(field, problem[0], **problem[1])
    return pattern


def _enum_value(field: str, cls: Any, value: Any) -> Any:
    try:
        return cls(value)
    except ValueError:
        raise FieldError(field, UNKNOWN_VALUE) from None


def _collect(errors: list[FieldError], fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except FieldError as exc:
        errors.append(exc)
        return None


def _kind_values(session: Session, data: dict[str, Any], kind: SubscriberKind | None) -> dict[str, Any]:
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    if "code" in data:
        code = _collect(errors, text, "code", data["code"], max_len=40, required=True)
        if code is not None and not CODE_RE.fullmatch(code):
            errors.append(FieldError("code", BAD_CODE))
        elif code is not None:
            taken = session.scalar(select(SubscriberKind.id).where(SubscriberKind.code == code))
            if taken is not None and (kind is None or taken != kind.id):
                errors.append(FieldError("code", CODE_TAKEN))
            out["code"] = code
    if "name" in data:
        out["name"] = _collect(errors, text, "name", data["name"], max_len=100, required=True)
    if "number_label" in data:
        out["number_label"] = _collect(errors, text, "number_label", data["number_label"], max_len=60)
    if "number_format" in data:
        out["number_format"] = _collect(
            errors, _enum_value, "number_format", NumberFormat, data["number_format"]
        )
    if "number_pattern" in data:
        out["number_pattern"] = _collect(errors, _pattern, "number_pattern", data["number_pattern"])
    for key in ("enabled", "sort"):
        if key in data and data[key] is not None:
            out[key] = data[key]
    if errors:
        raise FieldErrors(errors)
    return out


def create_kind(session: Session, *, actor: Actor, **data: Any) -> SubscriberKind:
    """A new subscriber kind (code, name, number_label, number_format, number_pattern, sort)."""
    _require(actor)
    data.setdefault("code", "")
    data.setdefault("name", "")
    kind = SubscriberKind(**_kind_values(session, data, None))
    session.add(kind)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="customers.kind.create",
        function=FUNCTION,
        target=kind,
        after=audit.snapshot(kind, KIND_FIELDS),
    )
    return kind


def update_kind(session: Session, *, actor: Actor, kind: SubscriberKind, **data: Any) -> SubscriberKind:
    _require(actor)
    before = audit.snapshot(kind, KIND_FIELDS)
    for key, value in _kind_values(session, data, kind).items():
        setattr(kind, key, value)
    session.flush()
    old, new = audit.diff(before, audit.snapshot(kind, KIND_FIELDS))
    audit.record(
        session,
        actor=actor,
        action="customers.kind.update",
        function=FUNCTION,
        target=kind,
        before=old,
        after=new,
    )
    return kind


def delete_kind(session: Session, *, actor: Actor, kind: SubscriberKind) -> None:
    _require(actor)
    if session.scalar(select(exists().where(Subscriber.kind_id == kind.id))):
        raise Conflict(KIND_IN_USE)
    audit.record(
        session,
        actor=actor,
        action="customers.kind.delete",
        function=FUNCTION,
        target=kind,
        before=audit.snapshot(kind, KIND_FIELDS),
    )
    session.delete(kind)
    session.flush()


def _attribute_values(
    session: Session, kind: SubscriberKind, data: dict[str, Any], definition: AttributeDefinition | None
) -> dict[str, Any]:
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    if "code" in data:
        code = _collect(errors, text, "code", data["code"], max_len=40, required=True)
        if code is not None and not CODE_RE.fullmatch(code):
            errors.append(FieldError("code", BAD_CODE))
        elif code is not None:
            clash = [d for d in kind.attributes if d.code == code and d is not definition]
            if clash:
                errors.append(FieldError("code", CODE_TAKEN))
            out["code"] = code
    if "label" in data:
        out["label"] = _collect(errors, text, "label", data["label"], max_len=100, required=True)
    if "type" in data:
        out["type"] = _collect(errors, _enum_value, "type", AttributeType, data["type"])
    if "pattern" in data:
        out["pattern"] = _collect(errors, _pattern, "pattern", data["pattern"])
    if "check" in data:
        check = data["check"] or ""
        if check not in CHECKS:
            errors.append(FieldError("check", UNKNOWN_CHECK))
        out["check"] = check
    if "dictionary" in data:
        out["dictionary"] = (data["dictionary"] or "").strip() or None
    if "help_text" in data:
        out["help_text"] = _collect(errors, text, "help_text", data["help_text"], max_len=200)
    for key in ("required", "searchable", "sort", "enabled"):
        if key in data and data[key] is not None:
            out[key] = data[key]
    kind_type = out.get("type", definition.type if definition else AttributeType.TEXT)
    chosen = out.get("dictionary", definition.dictionary if definition else None)
    if kind_type is AttributeType.CHOICE:
        try:
            dictionary.items(session, chosen or "")
        except NotFound:
            errors.append(FieldError("dictionary", NO_DICTIONARY))
    if errors:
        raise FieldErrors(errors)
    return out


def add_attribute(
    session: Session, *, actor: Actor, kind: SubscriberKind, **data: Any
) -> AttributeDefinition:
    """A new attribute definition of `kind` (code, label, type, pattern, check, dictionary, required,
    searchable, help_text, sort)."""
    _require(actor)
    data.setdefault("code", "")
    data.setdefault("label", "")
    definition = AttributeDefinition(**_attribute_values(session, kind, data, None))
    kind.attributes.append(definition)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="customers.attribute.create",
        function=FUNCTION,
        target=definition,
        target_label=f"{kind.code}.{definition.code}",
        after=audit.snapshot(definition, ATTRIBUTE_FIELDS),
    )
    return definition


def get_attribute(kind: SubscriberKind, attribute_id: int) -> AttributeDefinition:
    for definition in kind.attributes:
        if definition.id == attribute_id:
            return definition
    raise NotFound()


def update_attribute(
    session: Session, *, actor: Actor, definition: AttributeDefinition, **data: Any
) -> AttributeDefinition:
    """Change a definition. Values already stored stay as they are; they are checked again the next
    time their subscriber is saved."""
    _require(actor)
    before = audit.snapshot(definition, ATTRIBUTE_FIELDS)
    for key, value in _attribute_values(session, definition.kind, data, definition).items():
        setattr(definition, key, value)
    session.flush()
    old, new = audit.diff(before, audit.snapshot(definition, ATTRIBUTE_FIELDS))
    audit.record(
        session,
        actor=actor,
        action="customers.attribute.update",
        function=FUNCTION,
        target=definition,
        target_label=f"{definition.kind.code}.{definition.code}",
        before=old,
        after=new,
    )
    return definition


def delete_attribute(session: Session, *, actor: Actor, definition: AttributeDefinition) -> None:
    _require(actor)
    if session.scalar(select(exists().where(SubscriberAttribute.definition_id == definition.id))):
        raise Conflict(ATTRIBUTE_IN_USE)
    audit.record(
        session,
        actor=actor,
        action="customers.attribute.delete",
        function=FUNCTION,
        target=definition,
        target_label=f"{definition.kind.code}.{definition.code}",
        before=audit.snapshot(definition, ATTRIBUTE_FIELDS),
    )
    definition.kind.attributes.remove(definition)
    session.flush()
