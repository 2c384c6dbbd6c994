"""The store, directly, on both its databases (the embedded SQLite file and a real PostgreSQL
server): models and their weights, blobs, sessions, controls, history, waiting for changes."""

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import (
    ModelRecord,
    NotFoundError,
    SessionRecord,
    SQLStore,
    atomic_write,
    new_id,
    snapshot_key,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """ "" (the SQLite file of the data directory) or a fresh PostgreSQL database's URL."""
    if request.param == "sqlite":
        return ""
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(tmp_path: Path, database_url: str) -> Iterator[SQLStore]:
    opened = SQLStore(tmp_path / "data", database_url)
    assert opened.dialect == (database_url.split(":")[0] if database_url else "sqlite")
    yield opened
    opened.close()


def _model(name: str = "m") -> ModelRecord:
    now = time.time()
    config = {"input_size": 1, "hidden_size": 2, "output_size": 1}
    return ModelRecord(id=new_id(), name=name, config=config, created_at=now, updated_at=now)


def _session(model_id: str, status: str = "running", **fields: object) -> SessionRecord:
    now = time.time()
    values = {"owner": "host:1:a", "created_at": now, "updated_at": now, **fields}
    return SessionRecord(
        id=new_id(), model_id=model_id, status=status, config={"steps": 5}, **values
    )


def test_a_model_is_stored_read_listed_and_deleted_with_its_weights(store: SQLStore) -> None:
    first, second = _model("first"), _model("second")
    store.create_model(first, b"weights-1")
    store.create_model(second, b"weights-2")
    assert store.get_model(first.id) == first
    assert [m.id for m in store.list_models()] == [first.id, second.id]
    assert store.count_models() == 2
    assert store.read_weights(second.id) == b"weights-2"
    store.delete_model(first.id)
    with pytest.raises(NotFoundError, match=first.id):
        store.get_model(first.id)
    with pytest.raises(NotFoundError, match=first.id):
        store.read_weights(first.id)
    with pytest.raises(NotFoundError):
        store.delete_model(first.id)
    assert store.count_models() == 1


def test_writing_weights_bumps_the_version_and_replaces_them(store: SQLStore) -> None:
    record = _model()
    store.create_model(record, b"old")
    assert store.write_weights(record.id, b"new") == 2
    assert store.write_weights(record.id, b"newer") == 3
    assert store.get_model(record.id).weights_version == 3
    assert store.read_weights(record.id) == b"newer"
    with pytest.raises(NotFoundError):
        store.write_weights("nope", b"x")


def test_deleting_a_model_stops_its_sessions_and_drops_their_snapshots(store: SQLStore) -> None:
    record = _model()
    store.create_model(record, b"w")
    session = _session(record.id)
    assert store.create_session_if_room(session, 10, 0.0) == 0
    store.write_blob(snapshot_key(session.id), b"snapshot")
    store.delete_model(record.id)
    assert store.read_blob(snapshot_key(session.id)) is None
    assert store.get_session(session.id).control == "stop"


def test_blob_keys_are_checked_and_a_missing_blob_is_none(store: SQLStore) -> None:
    store.write_blob("a-key_1", b"data")
    assert store.read_blob("a-key_1") == b"data"
    assert store.read_blob("absent") is None
    for bad in ("", "../escape", "a/b", "dot.dot"):
        with pytest.raises(ValueError, match="invalid blob key"):
            store.write_blob(bad, b"x")


def test_a_session_is_created_only_while_there_is_room(store: SQLStore) -> None:
    record = _model()
    store.create_model(record, b"w")
    kept = [_session(record.id) for _ in range(2)]
    assert [store.create_session_if_room(s, 2, 0.0) for s in kept] == [0, 1]
    refused = _session(record.id)
    assert store.create_session_if_room(refused, 2, 0.0) == 2
    with pytest.raises(NotFoundError):
        store.get_session(refused.id)
    # A session silent since before `alive_after` no longer takes a place.
    assert store.count_active_sessions(alive_after=time.time() + 1) == 0
    assert store.create_session_if_room(refused, 2, time.time() + 1) == 0


def test_of_two_workers_claiming_an_interrupted_session_one_wins(store: SQLStore) -> None:
    record = _model()
    store.create_model(record, b"w")
    session = _session(record.id, status="interrupted")
    store.create_session_if_room(session, 10, 0.0)
    wins: list[bool] = []
    barrier = threading.Barrier(2)

    def claim(owner: str) -> None:
        barrier.wait()
        wins.append(store.claim_session(session.id, owner, ("interrupted",), "run"))

    threads = [threading.Thread(target=claim, args=(f"host:{k}:x",)) for k in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False, True]
    claimed = store.get_session(session.id)
    assert claimed.status == "running" and claimed.owner in ("host:1:x", "host:2:x")


def test_a_step_control_is_consumed_as_it_is_read(store: SQLStore) -> None:
    record = _model()
    store.create_model(record, b"w")
    session = _session(record.id)
    store.create_session_if_room(session, 10, 0.0)
    assert store.take_control(session.id) == "run"
    store.set_control(session.id, "step")
    assert store.take_control(session.id) == "step"
    assert store.take_control(session.id) == "pause"
    with pytest.raises(NotFoundError):
        store.set_control("nope", "run")


def test_only_a_silent_active_session_is_marked_interrupted(store: SQLStore) -> None:
    record = _model()
    store.create_model(record, b"w")
    session = _session(record.id)
    store.create_session_if_room(session, 10, 0.0)
    assert not store.mark_interrupted_if_silent(session.id, alive_after=0.0)
    assert store.mark_interrupted_if_silent(session.id, alive_after=time.time() + 1)
    assert store.get_session(session.id).status == "interrupted"
    assert not store.mark_interrupted_if_silent(session.id, alive_after=time.time() + 1)


def test_updates_renew_the_heartbeat_and_refuse_unknown_fields(store: SQLStore) -> None:
    record = _model()
    store.create_model(record, b"w")
    session = _session(record.id, updated_at=0.0)
    store.create_session_if_room(session, 10, -1.0)
    store.update_session(session.id, step=3, latest={"step": 3, "loss": 0.5})
    updated = store.get_session(session.id)
    assert updated.step == 3 and updated.latest == {"step": 3, "loss": 0.5}
    assert updated.updated_at > 0.0
    with pytest.raises(ValueError, match="unknown session field"):
        store.update_session(session.id, colour="red")
    with pytest.raises(NotFoundError):
        store.update_session("nope", step=1)


def test_history_pages_by_step_and_is_cut_back_on_resume(store: SQLStore) -> None:
    record = _model()
    store.create_model(record, b"w")
    session = _session(record.id)
    store.create_session_if_room(session, 10, 0.0)
    store.append_history(session.id, [{"step": s, "loss": 1.0 / s} for s in range(1, 11)])
    assert [r["step"] for r in store.history(session.id, after_step=3, limit=4)] == [4, 5, 6, 7]
    store.truncate_history(session.id, after_step=6)
    assert [r["step"] for r in store.history(session.id)] == [1, 2, 3, 4, 5, 6]
    store.append_history(session.id, [{"step": 6, "loss": 9.0}])  # a replayed step replaces
    assert store.history(session.id, after_step=5) == [{"step": 6, "loss": 9.0}]


def test_two_stores_on_one_database_see_each_others_writes(
    tmp_path: Path, database_url: str
) -> None:
    # The workers are processes with a store each, over the same data folder or server (for
    # PostgreSQL: on other hosts, with data folders of their own).
    first = SQLStore(tmp_path / "one", database_url)
    second = SQLStore(tmp_path / ("one" if not database_url else "two"), database_url)
    try:
        record = _model()
        first.create_model(record, b"w")
        assert second.get_model(record.id) == record
        second.write_weights(record.id, b"w2")
        assert first.get_model(record.id).weights_version == 2
        assert first.read_weights(record.id) == b"w2"
        assert first.owner_usage("") == (1, 2)
        second.write_blob(snapshot_key("s1"), b"snap")
        assert first.read_blob(snapshot_key("s1")) == b"snap"
    finally:
        first.close()
        second.close()


def test_an_atomic_write_leaves_the_old_file_whole_when_it_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "file.bin"
    atomic_write(path, b"old")

    class InterruptedWriteError(Exception):
        pass

    def failing_fsync(fd: int) -> None:
        raise InterruptedWriteError

    with monkeypatch.context() as patched:
        patched.setattr(os, "fsync", failing_fsync)
        with pytest.raises(InterruptedWriteError):
            atomic_write(path, b"new, half written")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]  # no temporary file left
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"


def test_a_wait_returns_the_records_another_store_writes_as_they_come(
    tmp_path: Path, database_url: str
) -> None:
    waiter = SQLStore(tmp_path / "data", database_url)
    writer = SQLStore(tmp_path / "data", database_url)
    try:
        record = _model()
        writer.create_model(record, b"w")
        session = _session(record.id)
        writer.create_session_if_room(session, 10, 0.0)
        writer.append_history(session.id, [{"step": 1, "loss": 1.0}])
        # records already there come back at once
        assert waiter.wait_for_history(session.id, 0, timeout=30) == [{"step": 1, "loss": 1.0}]
        # nothing new: the wait ends at its timeout, empty
        assert waiter.wait_for_history(session.id, 1, timeout=0.3) == []

        def write_later() -> None:
            time.sleep(0.3)
            writer.append_history(session.id, [{"step": 2, "loss": 0.5}])

        thread = threading.Thread(target=write_later)
        thread.start()
        began = time.monotonic()
        got = waiter.wait_for_history(session.id, 1, timeout=30)
        waited = time.monotonic() - began
        thread.join()
        assert got == [{"step": 2, "loss": 0.5}]
        assert waited < 10, waited  # woken by the write, not by the timeout

        # a status change ends a wait with no record
        def stop_later() -> None:
            time.sleep(0.3)
            writer.update_session(session.id, status="stopped")

        thread = threading.Thread(target=stop_later)
        thread.start()
        assert waiter.wait_for_history(session.id, 2, timeout=30, status="running") == []
        thread.join()
        assert waiter.get_session(session.id).status == "stopped"
        with pytest.raises(NotFoundError):
            waiter.wait_for_history("nope", 0, timeout=1)
    finally:
        waiter.close()
        writer.close()


def test_a_database_url_other_than_postgresql_is_refused_naming_the_setting_not_its_password() -> (
    None
):
    from pydantic import ValidationError

    from app.settings import Settings

    for url, words in (
        ("mysql://user:hunter2-pw@db/x", "only postgresql://"),
        ("not a url", "not a database URL"),
    ):
        with pytest.raises(ValidationError) as refused:
            Settings(database_url=url)
        assert "database_url" in str(refused.value) and words in str(refused.value)
        assert "hunter2-pw" not in str(refused.value)
    kept = Settings(database_url="postgresql://user:hunter2-pw@db/x")
    assert "hunter2-pw" not in repr(kept)
