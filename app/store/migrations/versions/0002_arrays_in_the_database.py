"""Arrays in the database: a model's weights and the blobs (snapshots, optimiser state) move from
the files `models/<id>.safetensors` and `blobs/<key>.safetensors` of the data directory into the
tables `weights` and `blobs`, so that processes on other hosts share them; `meta` (the schema
version before Alembic) goes.

The files of a data directory made before this revision are read in here (the data directory is
the migration's attribute "data_dir"); the store removes them once they are in the database.

Revision ID: 0002
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import context, op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    weights = op.create_table(
        "weights",
        sa.Column("model_id", sa.String, primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    blobs = op.create_table(
        "blobs",
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    bind = op.get_bind()
    if "meta" in sa.inspect(bind).get_table_names():
        op.drop_table("meta")
    data_dir = context.config.attributes.get("data_dir")
    if data_dir is None:
        return
    models = sa.table("models", sa.column("id", sa.String))
    sessions = sa.table("sessions", sa.column("id", sa.String))
    kept = {row[0] for row in bind.execute(sa.select(models.c.id))}
    folder = Path(data_dir) / "models"
    for model_id in sorted(kept):
        path = folder / f"{model_id}.safetensors"
        if path.is_file():
            bind.execute(sa.insert(weights).values(model_id=model_id, data=path.read_bytes()))
    # a session's snapshot (records.snapshot_key); a file with no session is left to the sweep
    keys = {f"session-{row[0]}-snapshot" for row in bind.execute(sa.select(sessions.c.id))}
    folder = Path(data_dir) / "blobs"
    for key in sorted(keys):
        path = folder / f"{key}.safetensors"
        if path.is_file():
            row = {"key": key, "data": path.read_bytes(), "updated_at": path.stat().st_mtime}
            bind.execute(sa.insert(blobs).values(**row))


def downgrade() -> None:
    op.drop_table("blobs")
    op.drop_table("weights")
