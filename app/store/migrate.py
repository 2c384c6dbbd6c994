"""`alembic upgrade head` on a connection of the store, at start-up (every process runs it; the
first one migrates, the others find the schema current).

A fresh database gets the whole schema; a SQLite file made before the store had migrations is
brought up to it with its rows (and its weights files read in: revision 0002).
"""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, func, select

__all__ = ["MIGRATIONS", "upgrade"]

MIGRATIONS = Path(__file__).with_name("migrations")
# PostgreSQL: an advisory lock (its number is arbitrary) makes processes that start together
# migrate one after the other; SQLite's BEGIN IMMEDIATE does the same.
LOCK_KEY = 0x524E4E45


def upgrade(connection: Connection, data_dir: Path) -> None:
    """Bring the database up to the newest revision, inside the transaction of `connection`."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    if connection.dialect.name == "sqlite":  # the files of the data directory are its own
        config.attributes["data_dir"] = data_dir
    command.upgrade(config, "head")
