"""Supervisors: agents who may also open the supervisors' page of the service's figures.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database the desk took over from create_all (services/desk/migrations) was made from
    # today's models and already has the column.
    columns = sa.inspect(op.get_bind()).get_columns("agents")
    if any(column["name"] == "supervisor" for column in columns):
        return
    with op.batch_alter_table("agents") as agents:
        agents.add_column(
            sa.Column("supervisor", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("agents") as agents:
        agents.drop_column("supervisor")
