"""The store's tables, as SQLAlchemy Core `Table`s: one schema for SQLite and PostgreSQL.

Times are seconds since the epoch (float); JSON fields are JSON text; arrays (a model's weights,
a session's snapshot, optimiser state) are safetensors bytes in `LargeBinary` columns (BLOB in
SQLite, bytea in PostgreSQL). The Alembic revisions in `migrations/versions` create exactly this.
"""

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = ["blobs", "history", "metadata", "models", "sessions", "tokens", "weights"]

metadata = MetaData()

models = Table(
    "models",
    metadata,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("config", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("weights_version", Integer, nullable=False, server_default="1"),
    # who may see and manage it; "" (rows older than owners) is nobody but the instructor's
    Column("owner_id", String, nullable=False, server_default=""),
    Index("models_owner", "owner_id"),
)

# A model's weights, one row per model (apart from `models` so that listing reads no arrays).
weights = Table(
    "weights",
    metadata,
    Column("model_id", String, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

# Snapshots and optimiser state by key (records.snapshot_key).
blobs = Table(
    "blobs",
    metadata,
    Column("key", String, primary_key=True),
    Column("data", LargeBinary, nullable=False),
    Column("updated_at", Float, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String, primary_key=True),
    Column("model_id", String, nullable=False),
    Column("status", String, nullable=False),
    Column("config", Text, nullable=False),
    Column("step", Integer, nullable=False, server_default="0"),
    Column("total_steps", Integer, nullable=False, server_default="0"),
    Column("control", String, nullable=False, server_default="run"),
    Column("owner", String, nullable=False, server_default=""),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("latest", Text),
    Column("error", Text),
    Column("owner_id", String, nullable=False, server_default=""),
    Index("sessions_model", "model_id"),
)

history = Table(
    "history",
    metadata,
    Column("session_id", String, primary_key=True),
    Column("step", Integer, primary_key=True),
    Column("record", Text, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("token_hash", String, primary_key=True),
    Column("owner_id", String, nullable=False),
    Column("created_at", Float, nullable=False),
)
