"""The store on its two databases: how long a follower waits for a record another process's store
has just written (PostgreSQL's LISTEN/NOTIFY against SQLite's poll), and the cost of the writes a
training session makes (a progress record and its heartbeat).

Two stores per database (the writer's and the follower's, as two app instances would have), in
one process on threads; the PostgreSQL server is a throwaway one started as in the tests
(tests/postgres.py, Debian's package, as the postgres user, fsync off). Medians and p95 over
`--rounds`; the results file gives the ratios.

    python -m benchmarks.bench_store            # writes benchmarks/STORE_RESULTS.md
    python -m benchmarks.bench_store --no-write
"""

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from app.store import ModelRecord, SessionRecord, SQLStore, new_id

OUT = Path(__file__).with_name("STORE_RESULTS.md")


def _session(store: SQLStore) -> str:
    now = time.time()
    model = ModelRecord(new_id(), "bench", {"hidden_size": 2}, now, now)
    store.create_model(model, b"w")
    session = SessionRecord(new_id(), model.id, "running", {}, created_at=now, updated_at=now)
    store.create_session_if_room(session, 100, 0.0)
    return session.id


def follow_latency(writer: SQLStore, follower: SQLStore, rounds: int) -> list[float]:
    """Seconds from `writer`'s call to write a record (its commit included) to `follower`'s
    wait returning it."""
    session_id = _session(writer)
    latencies = []
    for step in range(1, rounds + 1):
        stamp: list[float] = []

        def write(step: int, stamp: list[float]) -> None:
            time.sleep(0.02)  # the follower is waiting by now
            stamp.append(time.perf_counter())
            writer.append_history(session_id, [{"step": step}])

        thread = threading.Thread(target=write, args=(step, stamp))
        thread.start()
        got = follower.wait_for_history(session_id, step - 1, timeout=10)
        returned = time.perf_counter()
        thread.join()
        assert got and got[0]["step"] == step, got
        latencies.append(returned - stamp[0])
    return latencies


def write_cost(store: SQLStore, rounds: int) -> list[float]:
    """Seconds for one progress record: append_history + update_session (as the runner)."""
    session_id = _session(store)
    costs = []
    for step in range(1, rounds + 1):
        began = time.perf_counter()
        store.append_history(session_id, [{"step": step, "loss": 0.5}])
        store.update_session(session_id, step=step, latest={"step": step, "loss": 0.5})
        costs.append(time.perf_counter() - began)
    return costs


def p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    from tests.postgres import remove, start_postgres

    server = start_postgres()
    results: dict[str, dict[str, list[float]]] = {}
    try:
        name = server.create_database()
        with tempfile.TemporaryDirectory() as folder:
            for dialect, url in (("sqlite", ""), ("postgresql", server.url(name))):
                writer = SQLStore(Path(folder) / "a", url)
                follower = SQLStore(Path(folder) / ("a" if not url else "b"), url)
                try:
                    follower.wait_for_history(_session(writer), 0, timeout=0.1)  # its listener
                    results[dialect] = {
                        "follow": follow_latency(writer, follower, args.rounds),
                        "write": write_cost(writer, args.rounds),
                    }
                finally:
                    writer.close()
                    follower.close()
    finally:
        remove(server)
    rows = []
    for dialect, measured in results.items():
        follow, write = measured["follow"], measured["write"]
        rows.append(
            f"| {dialect} | {statistics.median(follow) * 1e3:.2f} | {p95(follow) * 1e3:.2f} | "
            f"{statistics.median(write) * 1e3:.2f} | {p95(write) * 1e3:.2f} |"
        )
    ratio_follow = statistics.median(results["sqlite"]["follow"]) / statistics.median(
        results["postgresql"]["follow"]
    )
    ratio_write = statistics.median(results["postgresql"]["write"]) / statistics.median(
        results["sqlite"]["write"]
    )
    text = "\n".join(
        [
            "# The store: follow latency and the writes of a progress record",
            "",
            f"`python -m benchmarks.bench_store --rounds {args.rounds}` (2 shared cores; the",
            "PostgreSQL server local, on loopback, fsync off as in the tests).",
            "",
            "| database | write → follower median (ms) | write → follower p95 (ms) | "
            "record write median (ms) | record write p95 (ms) |",
            "|---|---:|---:|---:|---:|",
            *rows,
            "",
            f"- A follower hears a record {ratio_follow:.1f}× sooner on PostgreSQL (pushed by "
            "LISTEN/NOTIFY) than on SQLite (its 50 ms poll).",
            f"- A progress record (history row + heartbeat, two transactions) costs "
            f"{ratio_write:.1f}× as much on PostgreSQL as on the embedded SQLite file.",
            "",
        ]
    )
    print(text)
    if not args.no_write:
        OUT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
