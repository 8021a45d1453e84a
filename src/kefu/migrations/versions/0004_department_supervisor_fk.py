"""department.supervisor_id references app_user on every database

Revision 0001 declared this foreign key with `use_alter` (department and app_user reference each
other), and Alembic's create_table skips such constraints on PostgreSQL. SQLite got it inline.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NAME = "fk_department_supervisor_id_app_user"


def _exists() -> bool:
    inspector = sa.inspect(op.get_bind())
    return any(fk.get("name") == NAME for fk in inspector.get_foreign_keys("department"))


def upgrade() -> None:
    if op.get_context().dialect.name != "sqlite" and not _exists():
        op.create_foreign_key(NAME, "department", "app_user", ["supervisor_id"], ["id"])


def downgrade() -> None:
    if op.get_context().dialect.name != "sqlite" and _exists():
        op.drop_constraint(NAME, "department", type_="foreignkey")
