"""A large request body is parsed off the event loop: the worker keeps answering meanwhile."""

import json
import threading
import time

import httpx2
import numpy as np

from tests.servers import OWNER, LiveServer


def test_health_answers_while_a_large_body_is_parsed(tmp_path) -> None:
    # Its own process, as deployed: a server thread in the test process would share the GIL and the
    # collector with pytest's heap, and measure them instead of the server.
    # ~8 MB: above an array route's default bound, so that bound is raised for this test
    with LiveServer(tmp_path / "data", max_array_request_bytes=16 * 2**20) as server:
        config = {"input_size": 8, "hidden_size": 20, "output_size": 1}
        url = server.base_url
        model_id = OWNER.post(f"{url}/api/v1/models", json={"config": config}).json()["id"]
        inputs = np.random.default_rng(0).normal(size=(100, 1000, 8)).round(6).tolist()
        body = json.dumps({"inputs": inputs}).encode()  # ~8 MB, above max_elements once parsed
        answers: list[httpx2.Response] = []

        def post_large_body() -> None:
            answers.append(
                OWNER.post(
                    f"{server.base_url}/api/v1/models/{model_id}/forward",
                    content=body,
                    headers={"content-type": "application/json"},
                    timeout=120,
                )
            )

        worker = threading.Thread(target=post_large_body)
        started = time.perf_counter()
        worker.start()
        slowest = 0.0
        with httpx2.Client(timeout=120, cookies=OWNER.cookies) as client:
            while not answers:
                sent = time.perf_counter()
                assert client.get(f"{server.base_url}/api/v1/health").status_code == 200
                slowest = max(slowest, time.perf_counter() - sent)
                time.sleep(0.005)
        worker.join()
        took = time.perf_counter() - started
    assert answers[0].status_code == 422
    assert answers[0].json()["limit"]["setting"] == "max_elements"
    # Parsed on the event loop, one health check would wait for the whole parse.
    assert slowest < took / 3, (slowest, took)
