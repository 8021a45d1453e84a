"""Logging in and out, browser sessions, API tokens, lockout and IP restriction (ORG-3, ORG-4)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from kefu.audit import service as audit
from kefu.core import clock, security
from kefu.core.errors import FieldError, NotAuthenticated, PermissionDenied
from kefu.core.permissions import Actor, build_actor
from kefu.db import keep_on_error
from kefu.org.config import parameters as params
from kefu.org.models import ApiToken, IpRule, IpRuleScope, Role, User, UserRole, UserSession


class LoginFailed(NotAuthenticated):
    """Wrong account or password — deliberately not saying which."""


class AccountLocked(NotAuthenticated):
    def __init__(self, until: datetime) -> None:
        super().__init__("Account locked after repeated failed logins")
        self.until = until


class IpRefused(PermissionDenied):
    def __init__(self, ip: str) -> None:
        super().__init__("Access from %(ip)s is not allowed", ip=ip)
        self.ip = ip


def load_user(session: Session, user_id: int) -> User | None:
    stmt = (
        select(User)
        .where(User.id == user_id)
        .options(selectinload(User.roles).joinedload(Role.group), joinedload(User.department))
    )
    return session.scalars(stmt).first()


# --- IP restriction -------------------------------------------------------------------------------


def _matches(ip: str, cidrs: list[str]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if addr.version == 6 and addr.ipv4_mapped is not None:  # type: ignore[union-attr]
        addr = addr.ipv4_mapped  # type: ignore[union-attr]
    for cidr in cidrs:
        try:
            if addr in ipaddress.ip_network(cidr, strict=False):
                return True
        except ValueError:
            continue
    return False


def ip_allowed(session: Session, *, user: User | None, ip: str) -> bool:
    """Each level that has enabled rules (global, the user's roles, the user) must admit the IP."""
    role_ids = [r.id for r in user.roles] if user is not None else []
    conditions = [IpRule.scope == IpRuleScope.GLOBAL]
    if user is not None:
        conditions.append(IpRule.user_id == user.id)
        if role_ids:
            conditions.append(IpRule.role_id.in_(role_ids))
    rules = session.scalars(select(IpRule).where(IpRule.enabled.is_(True), or_(*conditions))).all()
    by_level: dict[str, list[str]] = {}
    for rule in rules:
        by_level.setdefault(rule.scope, []).append(rule.cidr)
    return all(_matches(ip, cidrs) for cidrs in by_level.values())


def check_ip(session: Session, *, user: User | None, ip: str) -> None:
    if not ip_allowed(session, user=user, ip=ip):
        raise IpRefused(ip)


def audit_ip_refusal(session: Session, *, user: User | None, ip: str, path: str) -> None:
    """Record a refusal; it is kept although the request fails (see `keep_on_error`)."""
    keep_on_error(session)
    audit.record(
        session,
        actor=None,
        action="access.ip_refused",
        function="admin.ip_rules",
        target_type="app_user" if user else "",
        target_id=user.id if user else "",
        target_label=user.username if user else "",
        summary=f"Refused {ip} on {path}",
    )


# --- Login ----------------------------------------------------------------------------------------


@dataclass
class LoginResult:
    user: User
    session_token: str
    session: UserSession


def login(session: Session, *, username: str, password: str, ip: str, user_agent: str) -> LoginResult:
    """Check credentials, lockout and IP rules; open a browser session.

    Failed attempts are counted in their own unit of work so that they stick even though the
    request that made them fails.
    """
    username = username.strip()
    user = session.scalars(select(User).where(User.username == username)).first()
    now = clock.now()
    # Always pay for one hash check, so timing does not tell which accounts exist.
    password_ok = security.verify_password(user.password_hash if user else "", password)
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise AccountLocked(user.locked_until)
    if user is None or not user.is_active or not password_ok:
        if user is not None:
            _count_failure(session, user, ip)
        raise LoginFailed("Wrong account or password")
    user = load_user(session, user.id)
    assert user is not None
    if not ip_allowed(session, user=user, ip=ip):
        audit_ip_refusal(session, user=user, ip=ip, path="login")
        raise IpRefused(ip)
    if security.needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    token, user_session = open_session(session, user=user, ip=ip, user_agent=user_agent)
    actor = build_actor(session, user)
    audit.record(
        session, actor=actor, action="auth.login", function="", target=user, summary=f"Login from {ip}"
    )
    return LoginResult(user=user, session_token=token, session=user_session)


def _count_failure(session: Session, user: User, ip: str) -> None:
    """Count a failed attempt (kept although the login fails) and lock the account at the threshold."""
    keep_on_error(session)
    threshold = params.get(session, params.LOCKOUT_THRESHOLD)
    minutes = params.get(session, params.LOCKOUT_MINUTES)
    # An atomic increment: parallel guesses cannot slip past the threshold.
    session.execute(update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1))
    session.refresh(user)
    audit.record(
        session, actor=None, action="auth.login_failed", target=user, summary=f"Failed login from {ip}"
    )
    if user.failed_logins >= threshold:
        user.locked_until = clock.now() + timedelta(minutes=minutes)
        user.failed_logins = 0
        audit.record(
            session,
            actor=None,
            action="auth.locked",
            target=user,
            summary=f"Locked for {minutes} minutes after {threshold} failed logins",
        )


def unlock(session: Session, *, user: User, actor: Actor) -> None:
    user.locked_until = None
    user.failed_logins = 0
    audit.record(session, actor=actor, action="user.unlock", function="admin.users", target=user)


def open_session(session: Session, *, user: User, ip: str, user_agent: str) -> tuple[str, UserSession]:
    token = security.new_token()
    max_hours = params.get(session, params.SESSION_MAX_HOURS)
    row = UserSession(
        token_hash=security.token_hash(token),
        user_id=user.id,
        csrf_token=security.new_token(24),
        client_ip=ip,
        user_agent=user_agent[:300],
        expires_at=clock.now() + timedelta(hours=max_hours),
    )
    session.add(row)
    session.flush()
    return token, row


def resolve_session(session: Session, token: str) -> UserSession | None:
    """The live session for a cookie token; touches its idle clock. Expired or revoked: None."""
    row = session.scalars(
        select(UserSession).where(UserSession.token_hash == security.token_hash(token))
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    now = clock.now()
    idle = timedelta(minutes=params.get(session, params.SESSION_IDLE_MINUTES))
    if row.expires_at <= now or row.last_seen_at + idle <= now:
        return None
    # Write the idle clock at most once a minute to spare the database.
    if now - row.last_seen_at > timedelta(seconds=60):
        row.last_seen_at = now
    return row


def logout(session: Session, *, user_session: UserSession, actor: Actor) -> None:
    user_session.revoked_at = clock.now()
    audit.record(session, actor=actor, action="auth.logout", target=actor.user)


def revoke_user_sessions(session: Session, user_id: int, *, keep: int | None = None) -> None:
    stmt = update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep)
    session.execute(stmt.values(revoked_at=clock.now()))


# --- Passwords ------------------------------------------------------------------------------------


def validate_new_password(
    session: Session, *, user: User, password: str, field: str = "new_password"
) -> None:
    min_length = params.get(session, params.PASSWORD_MIN_LENGTH)
    problems = security.password_problems(password, username=user.username, min_length=min_length)
    if problems:
        message, values = problems[0]
        raise FieldError(field, message, **values)


def change_password(
    session: Session, *, actor: Actor, current_password: str, new_password: str, keep_session: int | None
) -> None:
    user = actor.user
    if not security.verify_password(user.password_hash, current_password):
        raise FieldError("current_password", "Current password is wrong")
    if current_password == new_password:
        raise FieldError("new_password", "New password must differ from the current one")
    validate_new_password(session, user=user, password=new_password)
    user.password_hash = security.hash_password(new_password)
    user.password_changed_at = clock.now()
    user.must_change_password = False
    revoke_user_sessions(session, user.id, keep=keep_session)
    audit.record(session, actor=actor, action="auth.password_change", target=user)


def password_expired(session: Session, user: User) -> bool:
    if user.must_change_password:
        return True
    max_age = params.get(session, params.PASSWORD_MAX_AGE_DAYS)
    if not max_age or user.password_changed_at is None:
        return False
    return user.password_changed_at + timedelta(days=max_age) <= clock.now()


def set_language(session: Session, *, actor: Actor, locale: str) -> None:
    """The language the user's screens and messages use (zh_CN or en)."""
    from kefu.core import i18n

    normalized = i18n.normalize(locale)
    if normalized is None:
        raise FieldError("locale", "Choose one of: %(choices)s", choices=", ".join(i18n.LOCALES))
    if actor.user.locale != normalized:
        before = actor.user.locale
        actor.user.locale = normalized
        audit.record(
            session,
            actor=actor,
            action="user.language",
            target=actor.user,
            before={"locale": before},
            after={"locale": normalized},
        )


# --- API tokens -----------------------------------------------------------------------------------


def create_token(
    session: Session, *, user: User, name: str, expires_at: datetime | None, actor: Actor
) -> tuple[str, ApiToken]:
    """A new bearer token; the plain value is returned once and never stored."""
    if not name.strip():
        raise FieldError("name", "Give the token a name")
    if expires_at is not None and expires_at <= clock.now():
        raise FieldError("expires_at", "Expiry must be in the future")
    plain = "kefu_" + security.new_token()
    row = ApiToken(
        user_id=user.id,
        name=name.strip(),
        prefix=plain[:12],
        token_hash=security.token_hash(plain),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="token.create",
        function="admin.tokens",
        target=row,
        summary=f"Token {row.prefix}… for {user.username}",
    )
    return plain, row


def revoke_token(session: Session, *, token: ApiToken, actor: Actor) -> None:
    token.revoked_at = clock.now()
    audit.record(session, actor=actor, action="token.revoke", function="admin.tokens", target=token)


def resolve_token(session: Session, plain: str) -> User | None:
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == security.token_hash(plain))).first()
    now = clock.now()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = now
    user = load_user(session, row.user_id)
    return user if user is not None and user.is_active else None


def user_ids_with_role(session: Session, role_id: int) -> list[int]:
    return list(session.scalars(select(UserRole.user_id).where(UserRole.role_id == role_id)))
