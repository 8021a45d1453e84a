"""IP access rules (按接入计算机 IP 限制访问, ORG-4): allow-lists globally, per role and per user."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import context
from kefu.core.errors import FieldError
from kefu.core.permissions import Actor
from kefu.org import auth_service
from kefu.org.models import IpRule, IpRuleScope, Role, User


def _cidr(value: str) -> str:
    text = (value or "").strip()
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        raise FieldError("cidr", "Enter an IP address or a network such as 10.1.0.0/16") from None


def _ip_snapshot(rule: IpRule) -> dict[str, Any]:
    return audit.snapshot(rule, ("scope", "role_id", "user_id", "cidr", "note", "enabled"))


def _guard_self_lockout(session: Session, actor: Actor) -> None:
    """Refuse a rule change that would shut out the administrator making it."""
    session.flush()
    session.expire(actor.user, ["roles"])
    ip = context.current().client_ip
    if ip and not auth_service.ip_allowed(session, user=actor.user, ip=ip):
        raise FieldError(
            "cidr", "This change would lock you out: your address %(ip)s would no longer be allowed", ip=ip
        )


def create_ip_rule(
    session: Session,
    *,
    actor: Actor,
    scope: IpRuleScope,
    cidr: str,
    role_id: int | None = None,
    user_id: int | None = None,
    note: str = "",
    enabled: bool = True,
) -> IpRule:
    scope = IpRuleScope(scope)
    if scope is IpRuleScope.ROLE:
        if role_id is None or session.get(Role, role_id) is None:
            raise FieldError("role_id", "Choose a role")
        user_id = None
    elif scope is IpRuleScope.USER:
        if user_id is None or session.get(User, user_id) is None:
            raise FieldError("user_id", "Choose a user")
        role_id = None
    else:
        role_id = user_id = None
    rule = IpRule(
        scope=scope,
        cidr=_cidr(cidr),
        role_id=role_id,
        user_id=user_id,
        note=note.strip()[:200],
        enabled=enabled,
    )
    session.add(rule)
    _guard_self_lockout(session, actor)
    audit.record(
        session,
        actor=actor,
        action="ip_rule.create",
        function="admin.ip_rules",
        target=rule,
        target_label=rule.cidr,
        after=_ip_snapshot(rule),
    )
    return rule


def update_ip_rule(session: Session, *, actor: Actor, rule: IpRule, **changes: Any) -> IpRule:
    before = _ip_snapshot(rule)
    if "cidr" in changes:
        rule.cidr = _cidr(changes["cidr"])
    if "note" in changes:
        rule.note = (changes["note"] or "").strip()[:200]
    if "enabled" in changes:
        rule.enabled = bool(changes["enabled"])
    _guard_self_lockout(session, actor)
    b, a = audit.diff(before, _ip_snapshot(rule))
    if a:
        audit.record(
            session,
            actor=actor,
            action="ip_rule.update",
            function="admin.ip_rules",
            target=rule,
            target_label=rule.cidr,
            before=b,
            after=a,
        )
    return rule


def delete_ip_rule(session: Session, *, actor: Actor, rule: IpRule) -> None:
    audit.record(
        session,
        actor=actor,
        action="ip_rule.delete",
        function="admin.ip_rules",
        target=rule,
        target_label=rule.cidr,
        before=_ip_snapshot(rule),
    )
    session.delete(rule)
    _guard_self_lockout(session, actor)
