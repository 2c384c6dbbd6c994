"""The schema of the store before Alembic: models, sessions, history, tokens.

A SQLite file made before the store had migrations has these tables (some without the owner
columns added later) and no alembic_version: this revision creates what is missing and keeps
every row, so upgrading such a file is the same step as creating a fresh database.

Revision ID: 0001
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _owner() -> sa.Column[str]:
    return sa.Column("owner_id", sa.String, nullable=False, server_default="")


def _models() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("weights_version", sa.Integer, nullable=False, server_default="1"),
        _owner(),
    ]


def _sessions() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("model_id", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("step", sa.Integer, nullable=False, server_default="0"),
        sa.Column("total_steps", sa.Integer, nullable=False, server_default="0"),
        sa.Column("control", sa.String, nullable=False, server_default="run"),
        sa.Column("owner", sa.String, nullable=False, server_default=""),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("latest", sa.Text),
        sa.Column("error", sa.Text),
        _owner(),
    ]


def _history() -> list[sa.Column[Any]]:
    return [
        sa.Column("session_id", sa.String, primary_key=True),
        sa.Column("step", sa.Integer, primary_key=True),
        sa.Column("record", sa.Text, nullable=False),
    ]


def _tokens() -> list[sa.Column[Any]]:
    return [
        sa.Column("token_hash", sa.String, primary_key=True),
        sa.Column("owner_id", sa.String, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    ]


TABLES = {"models": _models, "sessions": _sessions, "history": _history, "tokens": _tokens}
INDEXES = {"sessions_model": ("sessions", "model_id"), "models_owner": ("models", "owner_id")}


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    present = set(inspector.get_table_names())
    for name, columns in TABLES.items():
        if name not in present:
            op.create_table(name, *columns())
        elif name in ("models", "sessions") and "owner_id" not in {
            c["name"] for c in inspector.get_columns(name)
        }:
            # rows older than owners belong to "", nobody but the instructor
            op.add_column(name, _owner())
    for index, (table, column) in INDEXES.items():
        if table not in present or index not in {i["name"] for i in inspector.get_indexes(table)}:
            op.create_index(index, table, [column])


def downgrade() -> None:
    for name in TABLES:
        op.drop_table(name)
