"""API shapes of the organisation."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from kefu.org.models import DataScope, IpRuleScope


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class DepartmentCreate(BaseModel):
    code: str = Field(max_length=40)
    name: str = Field(max_length=100)
    parent_id: int | None = None
    supervisor_id: int | None = None
    sort: int = 0


class DepartmentUpdate(BaseModel):
    code: str | None = Field(default=None, max_length=40)
    name: str | None = Field(default=None, max_length=100)
    parent_id: int | None = None
    supervisor_id: int | None = None
    sort: int | None = None
    enabled: bool | None = None


class DepartmentRead(_Read):
    id: int
    code: str
    name: str
    parent_id: int | None
    path: str
    supervisor_id: int | None
    sort: int
    enabled: bool


class GroupCreate(BaseModel):
    code: str = Field(max_length=40)
    name: str = Field(max_length=100)
    description: str = ""
    functions: list[str] = []


class GroupUpdate(BaseModel):
    code: str | None = Field(default=None, max_length=40)
    name: str | None = Field(default=None, max_length=100)
    description: str | None = None
    functions: list[str] | None = None


class GroupRead(_Read):
    id: int
    code: str
    name: str
    description: str
    functions: list[str]


class RoleCreate(BaseModel):
    group_id: int
    code: str = Field(max_length=40)
    name: str = Field(max_length=100)
    description: str = ""
    permissions: list[str] = []
    data_scope: DataScope = DataScope.OWN


class RoleUpdate(BaseModel):
    code: str | None = Field(default=None, max_length=40)
    name: str | None = Field(default=None, max_length=100)
    description: str | None = None
    permissions: list[str] | None = None
    data_scope: DataScope | None = None


class RoleRead(_Read):
    id: int
    group_id: int
    code: str
    name: str
    description: str
    permissions: list[str]
    all_permissions: bool
    data_scope: DataScope


class FunctionRead(BaseModel):
    code: str
    label: str
    area: str
    scoped: bool
    permissions: list[str]


class UserCreate(BaseModel):
    username: str = Field(max_length=60)
    name: str = Field(max_length=100)
    department_id: int | None = None
    role_ids: list[int] = []
    password: str | None = Field(default=None, description="Omit to generate a temporary password.")
    email: str = ""
    mobile: str = ""
    phone_ext: str = ""
    agent_no: str = ""
    skills: list[str] = []
    is_active: bool = True


class UserUpdate(BaseModel):
    username: str | None = Field(default=None, max_length=60)
    name: str | None = Field(default=None, max_length=100)
    department_id: int | None = None
    role_ids: list[int] | None = None
    email: str | None = None
    mobile: str | None = None
    phone_ext: str | None = None
    agent_no: str | None = None
    skills: list[str] | None = None
    is_active: bool | None = None


class UserRead(_Read):
    id: int
    username: str
    name: str
    department_id: int | None
    role_ids: list[int]
    email: str
    mobile: str
    phone_ext: str
    agent_no: str
    skills: list[str]
    is_active: bool
    locked_until: datetime | None
    must_change_password: bool
    last_login_at: datetime | None


class UserCreated(UserRead):
    temporary_password: str | None = None


class PasswordReset(BaseModel):
    temporary_password: str


class IpRuleCreate(BaseModel):
    scope: IpRuleScope
    cidr: str
    role_id: int | None = None
    user_id: int | None = None
    note: str = ""
    enabled: bool = True


class IpRuleUpdate(BaseModel):
    cidr: str | None = None
    note: str | None = None
    enabled: bool | None = None


class IpRuleRead(_Read):
    id: int
    scope: IpRuleScope
    cidr: str
    role_id: int | None
    user_id: int | None
    note: str
    enabled: bool


class TokenCreate(BaseModel):
    user_id: int
    name: str = Field(max_length=100)
    expires_at: datetime | None = None


class TokenRead(_Read):
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="The bearer token. Shown only this once.")
