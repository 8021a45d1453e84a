"""System parameters (系统参数): typed, declared in code with defaults, changed at run time with history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock
from kefu.core.errors import FieldError, NotFound, PermissionDenied
from kefu.core.i18n import lazy
from kefu.org.config.models import ParameterHistory, SystemParameter
from kefu.org.models import User

if TYPE_CHECKING:
    from kefu.core.permissions import Actor


@dataclass(frozen=True)
class Parameter:
    key: str
    label: str
    kind: type  # int, bool, str
    default: Any
    group: str
    help: str = ""
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    max_length: int = 200  # text parameters only
    allow_blank: bool = False  # text parameters only

    @property
    def kind_name(self) -> str:
        """The value's type (bool, int or str): how the API types it and which form control edits it."""
        return self.kind.__name__

    def coerce(self, raw: Any) -> Any:
        """Turn form or JSON input into the parameter's type, or raise FieldError("value", …)."""
        if self.kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "on", "yes"):
                return True
            if text in ("0", "false", "off", "no", ""):
                return False
            raise FieldError("value", "Enter true or false")
        if self.kind is int:
            if isinstance(raw, float) and raw.is_integer():
                raw = int(raw)
            try:
                value = int(str(raw).strip())
            except ValueError:
                raise FieldError("value", "Enter a whole number") from None
            if self.minimum is not None and value < self.minimum:
                raise FieldError("value", "Must be at least %(n)s", n=self.minimum)
            if self.maximum is not None and value > self.maximum:
                raise FieldError("value", "Must be at most %(n)s", n=self.maximum)
            return value
        if isinstance(raw, bool | dict | list) or raw is None:
            raise FieldError("value", "Enter a text value")
        value = str(raw).strip()
        if self.choices and value not in self.choices:
            raise FieldError("value", "Choose one of: %(choices)s", choices=", ".join(self.choices))
        if not value and not self.allow_blank:
            raise FieldError("value", "This field is required")
        if len(value) > self.max_length:
            raise FieldError("value", "Enter at most %(n)s characters", n=self.max_length)
        return value


REGISTRY: dict[str, Parameter] = {}
# Headings of the parameter groups on the administration page (English msgids; add yours here).
GROUP_LABELS: dict[str, str] = {
    "security": lazy("Security"),
    "site": lazy("Site"),
    "audit": lazy("Audit"),
    "notices": lazy("Messages and announcements"),
}


def declare(key: str, label: str, kind: type, default: Any, *, group: str, **kw: Any) -> Parameter:
    param = Parameter(key=key, label=label, kind=kind, default=default, group=group, **kw)
    REGISTRY[key] = param
    return param


LOCKOUT_THRESHOLD = declare(
    "security.lockout_threshold",
    "Failed logins before lockout",
    int,
    5,
    group="security",
    minimum=1,
    maximum=50,
    help=lazy("An account is locked after this many failed logins in a row."),
)
LOCKOUT_MINUTES = declare(
    "security.lockout_minutes",
    "Lockout duration (minutes)",
    int,
    15,
    group="security",
    minimum=1,
    maximum=1440,
)
PASSWORD_MIN_LENGTH = declare(
    "security.password_min_length", "Minimum password length", int, 8, group="security", minimum=6, maximum=64
)
PASSWORD_MAX_AGE_DAYS = declare(
    "security.password_max_age_days",
    "Password expires after (days, 0 = never)",
    int,
    0,
    group="security",
    minimum=0,
    maximum=3650,
)
SESSION_IDLE_MINUTES = declare(
    "security.session_idle_minutes",
    "Log out after idle (minutes)",
    int,
    120,
    group="security",
    minimum=5,
    maximum=1440,
    help=lazy("A signed-in browser without activity for this long has to sign in again."),
)
SESSION_MAX_HOURS = declare(
    "security.session_max_hours", "Longest session (hours)", int, 12, group="security", minimum=1, maximum=168
)
SITE_NAME = declare("site.name", "Site name", str, "客服中心平台", group="site")
DEFAULT_LOCALE = declare(
    "site.default_locale",
    "Default language",
    str,
    "zh_CN",
    group="site",
    choices=("zh_CN", "en"),
    help=lazy("The language of users who have not chosen one."),
)


def get(session: Session, param: Parameter) -> Any:
    """The parameter's current value (its default until someone sets it)."""
    row = session.get(SystemParameter, param.key)
    return param.default if row is None else row.value


def get_all(session: Session) -> dict[str, Any]:
    rows = {r.key: r.value for r in session.scalars(select(SystemParameter))}
    return {key: rows.get(key, p.default) for key, p in REGISTRY.items()}


def set_value(session: Session, *, key: str, raw: Any, actor: Actor) -> Any:
    """Change a parameter (needs admin.parameters.edit), keeping its history and an audit record.

    NotFound for an undeclared key; FieldError("value", …) when `raw` does not fit the declaration.
    """
    if not actor.can("admin.parameters.edit"):
        raise PermissionDenied()
    param = REGISTRY.get(key)
    if param is None:
        raise NotFound("No such parameter")
    value = param.coerce(raw)
    row = session.get(SystemParameter, key)
    old = param.default if row is None else row.value
    if row is None:
        row = SystemParameter(key=key, value=value)
        session.add(row)
    row.value = value
    row.updated_at = clock.now()
    row.updated_by_id = actor.user.id
    session.add(
        ParameterHistory(
            key=key,
            old_value=old,
            new_value=value,
            changed_by_id=actor.user.id,
            changed_by_name=actor.user.name,
        )
    )
    audit.record(
        session,
        actor=actor,
        action="parameter.change",
        function="admin.parameters",
        target_type="system_parameter",
        target_id=key,
        target_label=param.label,
        before={"value": old},
        after={"value": value},
    )
    return value


def history(session: Session, key: str, *, limit: int = 50) -> list[ParameterHistory]:
    stmt = (
        select(ParameterHistory)
        .where(ParameterHistory.key == key)
        .order_by(ParameterHistory.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class ParameterState:
    """A declared parameter with its current value and who last changed it (for lists and forms)."""

    param: Parameter
    value: Any
    updated_at: datetime | None
    updated_by: str


def describe(session: Session, key: str) -> ParameterState:
    """One parameter's state; NotFound for an undeclared key."""
    param = REGISTRY.get(key)
    if param is None:
        raise NotFound("No such parameter")
    return _state(param, session.get(SystemParameter, key), session)


def describe_all(session: Session) -> list[ParameterState]:
    """Every declared parameter, grouped (groups and members in declaration order), in one query."""
    stmt = select(SystemParameter, User.name).outerjoin(User, User.id == SystemParameter.updated_by_id)
    rows = {row.key: (row, name) for row, name in session.execute(stmt).tuples()}
    groups = list(dict.fromkeys(p.group for p in REGISTRY.values()))
    states = []
    for key, param in sorted(REGISTRY.items(), key=lambda kv: groups.index(kv[1].group)):
        row, name = rows.get(key, (None, None))
        states.append(
            ParameterState(
                param=param,
                value=param.default if row is None else row.value,
                updated_at=None if row is None else row.updated_at,
                updated_by=name or "",
            )
        )
    return states


def _state(param: Parameter, row: SystemParameter | None, session: Session) -> ParameterState:
    if row is None:
        return ParameterState(param=param, value=param.default, updated_at=None, updated_by="")
    user = session.get(User, row.updated_by_id) if row.updated_by_id else None
    return ParameterState(
        param=param, value=row.value, updated_at=row.updated_at, updated_by=user.name if user else ""
    )
