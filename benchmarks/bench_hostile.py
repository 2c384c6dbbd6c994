"""A hostile mix against a real server: no answer of 500 or more, and /health answers throughout.

A real `python -m app` (one worker; rate limits raised so that every hostile request reaches
the checks instead of a 429) on a fresh data directory. For `--seconds`, `--clients` threads send,
over and over:

- the hostile requests reproduced when the service was hardened: `hidden_size: 100000000000`, a
  task sample with a 400-digit batch size, a char_lm corpus holding a lone surrogate, a body
  nested 5,000 deep, and on the WebSocket a `sample` of length 10^400;
- a fuzzer's: every field of every operation's JSON body (the OpenAPI document's schemas) set in
  turn to a list nested 3,000 deep, a 400-digit integer, 1e400 and a lone surrogate
  (tests/web/test_hostile_fields.py builds the same requests).

Meanwhile a client asks /health every 10 ms. The report: the answers by status class (none may be
≥ 500), the WebSocket's error frames (none may say "internal"), and /health's p50, p99 and worst
latency against the same client's idle baseline.

    python -m benchmarks.bench_hostile                 # writes the section of SERVICE_RESULTS.md
    python -m benchmarks.bench_hostile --no-write --seconds 10
"""

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
from websockets.sync.client import connect

from tests.servers import LiveServer
from tests.web.test_examples import placed_examples, request_examples
from tests.web.test_hostile_fields import HOSTILE, body_fields, with_hostile

RESULTS = Path(__file__).with_name("SERVICE_RESULTS.md")
SECTION = "## A hostile mix"

REPRODUCED = [
    ("post", "/api/v1/models", '{"config": {"input_size": 1, "hidden_size": 100000000000}}'),
    ("post", "/api/v1/tasks/sine/sample", '{"batch_size": 1' + "0" * 400 + "}"),
    ("post", "/api/v1/models/{model_id}/forward", '{"inputs": ' + "[" * 5000 + "]" * 5000 + "}"),
]
WS_MESSAGES = [
    '{"type": "run", "sample": {"task": "sine", "params": {"length": 1' + "0" * 400 + "}}}",
    '{"type": "run", "sample": {"task": "char_lm", "params": {"text": "a\\ud800b"}}}',
    '{"type": "run", "inputs": ' + "[" * 5000 + "1" + "]" * 5000 + "}",
]


def fuzzer_requests(http: httpx2.Client) -> list[tuple[str, str, bytes]]:
    """(method, url, body) for the reproduced requests and every field × hostile kind."""
    document = http.get("/openapi.json").json()
    accepted, refused = placed_examples(http, request_examples(document))
    assert not refused, refused
    model_id = next(url.split("/")[4] for _, path, url, _ in accepted if "{model_id}" in path)
    requests = [(m, p.replace("{model_id}", model_id), body.encode()) for m, p, body in REPRODUCED]
    corpus = '{"params": {"text": "a\\ud800b"}}'
    requests.append(("post", "/api/v1/tasks/char_lm/sample", corpus.encode()))
    for method, path, url, example in accepted:
        for field in body_fields(document, method, path):
            for hostile in HOSTILE.values():
                requests.append((method, url, with_hostile(example, field, hostile)))
    return requests


def attack(
    url: str,
    cookies: Any,
    requests: list[tuple[str, str, bytes]],
    model_id: str,
    until: float,
    statuses: Counter[int],
    frames: Counter[str],
    seed: int,
) -> None:
    """One hostile client: the requests in a shuffled order, and every tenth a WebSocket round."""
    order = np.random.default_rng(seed).permutation(len(requests))
    headers = {"content-type": "application/json"}
    ws_url = url.replace("http", "ws", 1) + f"/api/v1/models/{model_id}/stream"
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    with httpx2.Client(base_url=url, cookies=cookies, timeout=60) as http:
        k = 0
        while time.monotonic() < until:
            method, path, body = requests[order[k % len(order)]]
            statuses[
                http.request(method.upper(), path, content=body, headers=headers).status_code
            ] += 1
            if k % 10 == 0:
                with connect(ws_url, additional_headers={"Cookie": cookie}) as ws:
                    for message in WS_MESSAGES:
                        ws.send(message)
                        frame = json.loads(ws.recv(timeout=60))
                        internal = "internal" in str(frame.get("detail", "")).lower()
                        frames["internal error" if internal else frame["type"]] += 1
            k += 1


def poll_health(url: str, until: threading.Event, into: list[float]) -> None:
    with httpx2.Client(base_url=url, timeout=30) as http:
        while not until.is_set():
            sent = time.perf_counter()
            assert http.get("/api/v1/health").status_code == 200
            into.append((time.perf_counter() - sent) * 1000)
            time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        server = LiveServer(
            Path(folder) / "data",
            rate_limit="1000000/minute",
            rate_limit_per_address="1000000/minute",
        )
        with server, httpx2.Client(base_url=server.base_url, timeout=60) as http:
            requests = fuzzer_requests(http)
            config = {"input_size": 1, "hidden_size": 4, "output_size": 1}
            model_id = http.post("/api/v1/models", json={"config": config}).json()["id"]
            idle: list[float] = []
            done = threading.Event()
            threading.Timer(3.0, done.set).start()
            poll_health(server.base_url, done, idle)

            busy: list[float] = []
            done = threading.Event()
            poller = threading.Thread(target=poll_health, args=(server.base_url, done, busy))
            statuses: Counter[int] = Counter()
            frames: Counter[str] = Counter()
            until = time.monotonic() + args.seconds
            attackers = [
                threading.Thread(
                    target=attack,
                    args=(
                        server.base_url,
                        http.cookies,
                        requests,
                        model_id,
                        until,
                        statuses,
                        frames,
                        seed,
                    ),
                )
                for seed in range(args.clients)
            ]
            poller.start()
            for attacker in attackers:
                attacker.start()
            for attacker in attackers:
                attacker.join()
            done.set()
            poller.join()
            server_log = server.log()
    sent = sum(statuses.values())
    classes = Counter(f"{code // 100}xx" for code in statuses.elements())
    p50, p99 = np.percentile(busy, 50), np.percentile(busy, 99)
    i50, i99 = np.percentile(idle, 50), np.percentile(idle, 99)
    lines = [
        SECTION,
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with "
        f"`python -m benchmarks.bench_hostile --seconds {args.seconds:.0f} --clients "
        f"{args.clients}` on {platform.machine()} with {os.cpu_count()} cores (load average "
        f"{load:.1f} at the start); one `python -m app` worker, rate limits raised so that every "
        f"request reaches the checks. {len(requests)} distinct hostile requests (the reproduced "
        "ones and every body field × 4 hostile kinds), sent in a shuffled loop by each client, a "
        "WebSocket round of 3 hostile commands every tenth request.",
        "",
        '| requests | 2xx | 4xx | ≥ 500 | WebSocket error frames | "internal" | health p50 '
        "(idle) ms | health p99 (idle) ms | health max ms | health calls |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {sent} | {classes['2xx']} | {classes['4xx']} | "
        f"**{sum(n for c, n in statuses.items() if c >= 500)}** | {frames['error']} | "
        f"**{frames['internal error']}** | {p50:.1f} ({i50:.1f}) | **{p99:.1f}** ({i99:.1f}) | "
        f"{max(busy):.1f} | {len(busy)} |",
        "",
        "4xx by status: "
        + ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()) if 400 <= code < 500)
        + f". Tracebacks in the server's log: {server_log.count('Traceback')}. Target: no answer "
        '≥ 500, no "internal" error frame, /health p99 < 100 ms throughout.',
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        results = RESULTS.read_text()
        if SECTION in results:
            start = results.index(SECTION)
            end = results.find("\n## ", start + len(SECTION))
            results = results[:start] + text + (results[end + 1 :] if end != -1 else "")
        else:
            results = results.rstrip("\n") + "\n\n" + text
        RESULTS.write_text(results)


if __name__ == "__main__":
    main()
