"""The store the settings name, opened by a process: the web workers and every trainer."""

from app.settings import Settings
from app.store import SQLStore, Store

__all__ = ["open_store"]


def open_store(settings: Settings) -> Store:
    """The database of `RNN_EXPLORER_DATABASE_URL`, or the embedded SQLite file of the data
    directory when it is empty."""
    return SQLStore(settings.data_dir, settings.database_url.get_secret_value())
