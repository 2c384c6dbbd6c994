"""A classroom on loopback: N simulated students step through forward and backward passes.

Each student owns a model (sine-wave size: D=1, H=100, Q=1, T=50), opens a WebSocket and, over and
over, asks for a run in manual mode on a freshly sampled sequence and steps through it frame by
frame — T forward frames, then T backward frames — pausing `--think` seconds between key presses
like a person holding the arrow key. Every `--train-every`-th student trains a model instead (binary
addition, REST start, following the session's metric frames on the socket) and starts again when
the session ends or is refused for the session bound.

For each N the server (the app under uvicorn with `--workers`, as the Docker image runs it) is
started fresh, and the script reports steps per second over all students, the latency of a step
(send `step` → its frame arrives) at p50 and p99, the latency of a run (send `run` → start frame),
errors (any error frame, refused socket or HTTP failure; must be 0) and the server's resident
memory (all processes). A soak then holds the largest N whose p99 step latency stayed under the
target for `--soak` seconds and samples memory over time, to show it does not grow.

With `--instances K` (K > 1) the classroom runs on K app instances (each `--workers` workers, a
data directory of its own, as on K hosts) on one PostgreSQL database (started for the run as the
tests start theirs: tests/postgres.py); student i talks to instance i mod K only, and the steps
per second of each instance's students are reported next to the total. With `--ray-nodes M` the
sessions train as Ray actors on a cluster of M worker nodes on loopback, started afresh for each N.

    python -m benchmarks.bench_load                       # N = 5, 10, 20, 40, 80; 2-minute soak
    python -m benchmarks.bench_load --students 10 --duration 10 --soak 0   # a quick look
    python -m benchmarks.bench_load --instances 2 --students 10,30,60 --duration 20 --soak 0
    python -m benchmarks.bench_load --instances 2 --workers 1 --ray-nodes 2 --students 10,30,60 \
        --duration 20 --soak 0
"""

import argparse
import asyncio
import json
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import websockets

ROOT = Path(__file__).resolve().parents[1]
MODEL = {"input_size": 1, "hidden_size": 100, "output_size": 1, "cell": "rnn", "seed": 0}
T = 50


@dataclass
class Tally:
    steps: int = 0
    runs: int = 0
    metric_frames: int = 0
    sessions: int = 0
    refused_sessions: int = 0
    # training steps the followed sessions made between their first and last metric frame seen,
    # and the seconds that took, summed over sessions
    trained_steps: int = 0
    training_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    step_latency: list[float] = field(default_factory=list)
    run_latency: list[float] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def process_tree_rss_mb(pid: int) -> float:
    """Resident memory of `pid` and all its descendants (the uvicorn workers, their trainer
    processes and the fork server), in MiB."""
    total = 0
    pids, pending = [], [pid]
    while pending:
        each = pending.pop()
        pids.append(each)
        children = Path(f"/proc/{each}/task/{each}/children")
        try:
            pending += [int(p) for p in children.read_text().split()]
        except OSError:
            continue
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total / 1024


class Server:
    def __init__(
        self, workers: int, data_dir: Path, database_url: str = "", ray_address: str = ""
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "RNN_EXPLORER_DATA_DIR": str(data_dir),
            "RNN_EXPLORER_WORKERS": str(workers),
            "RNN_EXPLORER_MAX_STREAMS": "1000",
            "RNN_EXPLORER_DATABASE_URL": database_url,
        }
        if ray_address:
            env["RNN_EXPLORER_RAY_ADDRESS"] = ray_address
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log = (data_dir.parent / f"server-{self.port}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "--port", str(self.port), "--workers", str(workers)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx2.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx2.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def rss_mb(self) -> float:
        return process_tree_rss_mb(self.process.pid)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def cookie_header(client: httpx2.AsyncClient) -> dict[str, str]:
    """The student's owner cookie for its WebSocket (a browser sends it with the upgrade)."""
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in client.cookies.items())}


async def student(
    url: str,
    client: httpx2.AsyncClient,
    model_id: str,
    seed: int,
    until: float,
    think: float,
    tally: Tally,
):
    """Step through runs on one socket until `until`; the first run warms the worker up and is
    not counted."""
    ws_url = url.replace("http", "ws", 1) + f"/api/v1/models/{model_id}/stream"
    rng = random.Random(seed)
    warm = False
    try:
        headers = cookie_header(client)
        async with websockets.connect(ws_url, max_size=2**24, additional_headers=headers) as ws:
            while time.monotonic() < until:
                phase = rng.uniform(0, 2 * math.pi)
                xs = [[0.5 * (1 + math.sin(phase + 0.3 * t))] for t in range(T + 1)]
                command = {"type": "run", "inputs": xs[:-1], "targets": xs[1:], "manual": True}
                sent = time.perf_counter()
                await ws.send(json.dumps(command))
                start = json.loads(await ws.recv())
                if start.get("type") != "start":
                    tally.errors.append(f"run answered {start.get('type')}: {start}")
                    return
                if warm:
                    tally.run_latency.append(time.perf_counter() - sent)
                    tally.runs += 1
                for _ in range(2 * T):
                    if time.monotonic() >= until:
                        break
                    sent = time.perf_counter()
                    await ws.send('{"type": "step"}')
                    frame = json.loads(await ws.recv())
                    if frame.get("type") not in ("forward", "backward"):
                        tally.errors.append(f"step answered {frame.get('type')}: {frame}")
                        return
                    if warm:
                        tally.step_latency.append(time.perf_counter() - sent)
                        tally.steps += 1
                    await asyncio.sleep(think if warm else 0)
                else:
                    summary = json.loads(await ws.recv())
                    if summary.get("type") != "summary":
                        tally.errors.append(f"expected a summary, got {summary.get('type')}")
                        return
                    warm = True
                    continue
                await ws.send('{"type": "stop"}')
                break
    except (OSError, websockets.WebSocketException) as error:
        tally.errors.append(f"student socket: {error!r}")


async def trainer(url: str, client: httpx2.AsyncClient, model_id: str, until: float, tally: Tally):
    """Train binary addition over and over, following each session's metric frames."""
    ws_url = url.replace("http", "ws", 1) + f"/api/v1/models/{model_id}/stream"
    body = {
        "task": "binary_addition",
        "steps": 2000,
        "report_every": 20,
        "seed": 1,
        "early_stop": None,
    }
    while time.monotonic() < until:
        reply = await client.post(f"{url}/api/v1/models/{model_id}/train", json=body)
        if reply.status_code in (409, 429):
            tally.refused_sessions += 1  # the session bound: expected under load, not an error
            await asyncio.sleep(1.0)
            continue
        if reply.status_code != 202:
            tally.errors.append(f"train answered {reply.status_code}: {reply.text[:200]}")
            return
        session = reply.json()["id"]
        tally.sessions += 1
        last: tuple[int, float] | None = None  # the step and time of the last metric frame
        try:
            headers = cookie_header(client)
            async with websockets.connect(ws_url, max_size=2**24, additional_headers=headers) as ws:
                await ws.send(json.dumps({"type": "follow", "session": session}))
                while time.monotonic() < until:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "metrics":
                        tally.metric_frames += 1
                        now = time.monotonic()
                        if last is not None:
                            tally.trained_steps += frame["step"] - last[0]
                            tally.training_seconds += now - last[1]
                        last = (frame["step"], now)
                    elif frame["type"] == "end":
                        break
                    else:
                        tally.errors.append(f"follow answered {frame['type']}: {frame}")
                        return
        except (OSError, websockets.WebSocketException) as error:
            tally.errors.append(f"trainer socket: {error!r}")
            return
        await client.post(f"{url}/api/v1/training/{session}/stop")


def merged(tallies: list[Tally]) -> Tally:
    """The tallies of every instance's students as one."""
    total = Tally()
    for tally in tallies:
        counts = ("steps", "runs", "metric_frames", "sessions", "refused_sessions")
        for name in (*counts, "trained_steps", "training_seconds"):
            setattr(total, name, getattr(total, name) + getattr(tally, name))
        total.errors += tally.errors
        total.step_latency += tally.step_latency
        total.run_latency += tally.run_latency
    return total


async def classroom(
    servers: list[Server], n: int, train_every: int, duration: float, think: float
) -> tuple[list[Tally], list[tuple[float, float]]]:
    """Student i on servers[i mod K]: one tally per server, the memory of all of them."""
    tallies = [Tally() for _ in servers]
    memory: list[tuple[float, float]] = []
    # each student is a visitor of its own (an owner cookie of its own, as a browser has)
    clients = [httpx2.AsyncClient(timeout=60) for _ in range(n)]
    try:
        model_ids = []
        config = {"cell": "rnn", "input_size": 2, "hidden_size": 16, "output_size": 1}
        for i, client in enumerate(clients):
            trains = train_every > 0 and i % train_every == train_every - 1
            body = (
                {"config": {**config, "head": "sigmoid", "loss": "bce"}}
                if trains
                else {"config": MODEL}
            )
            server = servers[i % len(servers)]
            reply = await client.post(f"{server.url}/api/v1/models", json=body)
            reply.raise_for_status()
            model_ids.append((reply.json()["id"], trains))
        started = time.monotonic()
        until = started + duration

        async def sample_memory() -> None:
            while time.monotonic() < until:
                rss = sum(server.rss_mb() for server in servers)
                memory.append((time.monotonic() - started, rss))
                await asyncio.sleep(1.0)

        jobs = [
            trainer(
                servers[i % len(servers)].url, client, model_id, until, tallies[i % len(servers)]
            )
            if trains
            else student(
                servers[i % len(servers)].url,
                client,
                model_id,
                i,
                until,
                think,
                tallies[i % len(servers)],
            )
            for i, (client, (model_id, trains)) in enumerate(zip(clients, model_ids, strict=True))
        ]
        await asyncio.gather(sample_memory(), *jobs)
    finally:
        for client in clients:
            await client.aclose()
    return tallies, memory


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(
    n: int, tallies: list[Tally], memory: list[tuple[float, float]], duration: float
) -> dict[str, Any]:
    tally = merged(tallies)
    return {
        "students": n,
        "steps_per_s_per_instance": [each.steps / duration for each in tallies],
        "steps_per_s": tally.steps / duration,
        "step_p50_ms": 1e3 * percentile(tally.step_latency, 0.50),
        "step_p99_ms": 1e3 * percentile(tally.step_latency, 0.99),
        "run_p50_ms": 1e3 * percentile(tally.run_latency, 0.50),
        "run_p99_ms": 1e3 * percentile(tally.run_latency, 0.99),
        "sessions": tally.sessions,
        "refused_sessions": tally.refused_sessions,
        "metric_frames": tally.metric_frames,
        "training_steps_per_s": tally.trained_steps / duration,
        "training_steps_per_s_per_trainer": (
            tally.trained_steps / tally.training_seconds if tally.training_seconds else 0.0
        ),
        "errors": len(tally.errors),
        "rss_start_mb": memory[0][1] if memory else float("nan"),
        "rss_max_mb": max(m for _, m in memory) if memory else float("nan"),
        "rss_end_mb": memory[-1][1] if memory else float("nan"),
        "first_errors": tally.errors[:3],
    }


def print_row(result: dict[str, Any]) -> None:
    print(
        f"| {result['students']:>4} | {result['steps_per_s']:8.0f} | {result['step_p50_ms']:7.1f} "
        f"| {result['step_p99_ms']:7.1f} | {result['run_p50_ms']:7.1f} "
        f"| {result['run_p99_ms']:7.1f} "
        f"| {result['sessions']:>4} ({result['refused_sessions']} refused) "
        f"| {result['metric_frames']:>6} | {result['training_steps_per_s']:6.0f} "
        f"| {result['training_steps_per_s_per_trainer']:6.0f} | {result['errors']:>3} "
        f"| {result['rss_start_mb']:6.0f} → {result['rss_max_mb']:6.0f} |"
        + (
            " " + " + ".join(f"{v:.0f}" for v in result["steps_per_s_per_instance"]) + " |"
            if len(result["steps_per_s_per_instance"]) > 1
            else ""
        ),
        flush=True,
    )
    for error in result["first_errors"]:
        print(f"    error: {error}", flush=True)


def measure(
    args: argparse.Namespace, n: int, duration: float
) -> tuple[dict[str, Any], list[tuple[float, float]]]:
    """One classroom of n students for `duration` seconds on a fresh server and data directory:
    its table row, and the server's memory samples (seconds, RSS MiB)."""
    with tempfile.TemporaryDirectory() as tmp:
        database = ""
        if args.instances > 1:
            assert args.postgres is not None
            name = args.postgres.create_database()
            database = args.postgres.url(name)
        servers: list[Server] = []
        # a fresh cluster for each N: no actor of an earlier classroom trains on beside this one
        cluster = ray_cluster(args.ray_nodes) if args.ray_nodes else None
        try:
            for k in range(args.instances):
                data_dir = Path(tmp) / f"instance-{k}" / "data"
                address = cluster.address if cluster is not None else ""
                servers.append(Server(args.workers, data_dir, database, address))
            tallies, memory = asyncio.run(
                classroom(servers, n, args.train_every, duration, args.think)
            )
        finally:
            for server in servers:
                server.stop()
            if cluster is not None:
                cluster.shutdown()
            if database:
                args.postgres.drop_database(name)
    return row(n, tallies, memory, duration), memory


def ray_cluster(nodes: int) -> Any:
    """A Ray cluster on loopback, as tests/services/test_ray_trainers.py starts one: a head that
    places nothing and `nodes` worker nodes, each offering `max_sessions` logical CPUs (a session's
    actor asks for `ray_trainer_cpus`), so that the session bound, not Ray, limits training."""
    from ray.cluster_utils import Cluster

    from app.settings import Settings

    settings = Settings()
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False}
    )
    per_node = math.ceil(settings.max_sessions * settings.ray_trainer_cpus)
    for _ in range(nodes):
        cluster.add_node(num_cpus=per_node)
    cluster.wait_for_nodes()
    return cluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", default="5,10,20,40,80", help="comma-separated N values")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per N")
    parser.add_argument("--soak", type=float, default=120.0, help="soak seconds (0: none)")
    parser.add_argument("--think", type=float, default=0.05, help="seconds between key presses")
    parser.add_argument("--train-every", type=int, default=5, help="every k-th student trains")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per instance")
    parser.add_argument(
        "--instances", type=int, default=1, help="app instances on one PostgreSQL (1: SQLite)"
    )
    parser.add_argument(
        "--ray-nodes",
        type=int,
        default=0,
        help="train on a Ray cluster of this many nodes (0: none)",
    )
    parser.add_argument("--target-ms", type=float, default=100.0, help="p99 step latency bound")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    args.postgres = None
    if args.instances > 1:
        from tests.postgres import remove, start_postgres

        args.postgres = start_postgres()
        try:
            run(args)
        finally:
            remove(args.postgres)
    else:
        run(args)


def run(args: argparse.Namespace) -> None:

    store = "one PostgreSQL" if args.instances > 1 else "SQLite"
    trainers = f"a {args.ray_nodes}-node Ray cluster" if args.ray_nodes else "trainer processes"
    print(
        f"cpus: {os.cpu_count()}, instances: {args.instances} on {store}, workers per "
        f"instance: {args.workers}, training on {trainers}, think: {args.think * 1e3:.0f} ms, "
    )
    print(f"every {args.train_every}th student trains; {args.duration:.0f} s per N\n")
    print(
        "|    N |  steps/s | step p50 ms | step p99 ms | run p50 ms | run p99 ms "
        "| training sessions | metric frames | training steps/s | per trainer | errors "
        "| RSS MiB start → max |" + (" steps/s per instance |" if args.instances > 1 else "")
    )
    print(
        "|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|"
        + ("---|" if args.instances > 1 else "")
    )
    results = []
    best = 0
    for n in (int(v) for v in args.students.split(",")):
        result, _ = measure(args, n, args.duration)
        results.append(result)
        print_row(result)
        if result["errors"] == 0 and result["step_p99_ms"] < args.target_ms:
            best = n
    print(f"\nlargest N with p99 step latency < {args.target_ms:.0f} ms and no errors: {best}")

    soak = None
    if args.soak > 0 and best:
        soak, memory = measure(args, best, args.soak)
        print(f"\nsoak: N = {best} for {args.soak:.0f} s")
        print_row(soak)
        minute = [m for s, m in memory if s >= 60]
        if minute:
            print(
                f"RSS over the soak: start {memory[0][1]:.0f} MiB, after 1 min "
                f"{minute[0]:.0f} MiB, end {memory[-1][1]:.0f} MiB, "
                f"median {statistics.median(m for _, m in memory):.0f} MiB"
            )
    if args.json:
        args.json.write_text(json.dumps({"rows": results, "soak": soak, "best": best}, indent=2))


if __name__ == "__main__":
    main()
