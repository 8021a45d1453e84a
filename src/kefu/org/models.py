"""Tables of the organisation: departments, user groups, roles, users, sessions, tokens, IP rules."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu.core import clock
from kefu.db import Base


class DataScope(StrEnum):
    """How far a role's permissions reach (数据范围). Ordered from narrowest to widest."""

    OWN = "own"
    DEPARTMENT = "department"
    SUBTREE = "subtree"
    ALL = "all"

    @property
    def rank(self) -> int:
        return _SCOPE_RANK[self]


_SCOPE_RANK = {DataScope.OWN: 0, DataScope.DEPARTMENT: 1, DataScope.SUBTREE: 2, DataScope.ALL: 3}


class Department(Base):
    """A node of the department tree (部门). `path` is the materialised id path, e.g. "/1/4/9/"."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), default="", index=True)
    supervisor_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", use_alter=True, name="fk_department_supervisor_id_app_user")
    )
    sort: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    parent: Mapped[Department | None] = relationship(remote_side=[id])
    supervisor: Mapped[User | None] = relationship(foreign_keys=[supervisor_id], post_update=True)


class UserGroup(Base):
    """A user group (用户组群): grants a set of functions that its roles may hand out."""

    __tablename__ = "user_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    functions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    roles: Mapped[list[Role]] = relationship(back_populates="group", order_by="Role.id")


class Role(Base):
    """A role (岗位角色) inside a group: permissions (function.operation) and a data scope."""

    __tablename__ = "role"
    __table_args__ = (UniqueConstraint("group_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("user_group.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A built-in administrator role holds every permission of the catalogue, present and future.
    all_permissions: Mapped[bool] = mapped_column(Boolean, default=False)
    data_scope: Mapped[DataScope] = mapped_column(String(20), default=DataScope.OWN)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    group: Mapped[UserGroup] = relationship(back_populates="roles")


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"), primary_key=True)


class User(Base):
    """A member of staff (操作人员). Named app_user: `user` is reserved in PostgreSQL."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[str] = mapped_column(String(200), default="")
    mobile: Mapped[str] = mapped_column(String(40), default="")
    phone_ext: Mapped[str] = mapped_column(String(20), default="")
    agent_no: Mapped[str] = mapped_column(String(20), default="")
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    locale: Mapped[str] = mapped_column(String(10), default="")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    password_changed_at: Mapped[datetime | None] = mapped_column()
    last_login_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    department: Mapped[Department | None] = relationship(foreign_keys=[department_id])
    roles: Mapped[list[Role]] = relationship(secondary="user_role", order_by="Role.id")

    @property
    def role_ids(self) -> list[int]:
        return [r.id for r in self.roles]


class UserSession(Base):
    """A browser login. The cookie carries a signed random token; only its hash is stored."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_seen_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class ApiToken(Base):
    """A bearer token for integrations, acting as its user. Only the hash is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()


class IpRuleScope(StrEnum):
    GLOBAL = "global"
    ROLE = "role"
    USER = "user"


class IpRule(Base):
    """An allow-list entry (CIDR). Where a level has enabled rules, the client IP must match one of them."""

    __tablename__ = "ip_rule"
    __table_args__ = (
        CheckConstraint(
            "(scope = 'global' AND role_id IS NULL AND user_id IS NULL) OR "
            "(scope = 'role' AND role_id IS NOT NULL AND user_id IS NULL) OR "
            "(scope = 'user' AND user_id IS NOT NULL AND role_id IS NULL)",
            name="target",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[IpRuleScope] = mapped_column(String(10))
    role_id: Mapped[int | None] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    cidr: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(200), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
