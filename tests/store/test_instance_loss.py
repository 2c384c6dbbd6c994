"""Two `python -m app` servers on one PostgreSQL database; students follow training sessions
started through the first; the first is killed (SIGKILL) mid-session. The students reconnect to
the second with `after_step` = the last step they saw and miss no history record.

- With local trainer processes (the embedded default), which end with the worker that answered
  for them, the sessions are reported "interrupted" and resume through the second server bit for
  bit: their final weights and records are those of an uninterrupted run of the same seed.
- On a Ray cluster the sessions' actors are no processes of either server: they train on through
  the kill, never interrupted, and end with the same weights and records."""

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.servers import AS_INSTRUCTOR, LiveServer
from tests.store.conftest import http
from tests.waiting import wait_until
from tests.web.routes.test_training import SINE, SINE_MODEL

TRAIN = {**SINE, "steps": 4000, "report_every": 10, "seed": 7}
CONFIG = {**SINE_MODEL, "seed": 3}
SESSIONS, FOLLOWERS = 2, 3


def ws_url(server: LiveServer) -> str:
    return server.base_url.replace("http://", "ws://")


class Follower:
    """A student following one session: on `urls[0]` until its socket breaks, then on the next
    url with `after_step` = the last step it saw; an "interrupted" end means: follow again."""

    def __init__(self, model_id: str, session: str, urls: list[str]) -> None:
        self.model_id, self.session, self.urls = model_id, session, urls
        self.records: list[dict[str, Any]] = []
        self.reconnects = 0
        self.interruptions = 0
        self.ended: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def last_step(self) -> int:
        return int(self.records[-1]["step"]) if self.records else -1

    def _run(self) -> None:
        try:
            self._follow()
        except BaseException as error:  # the test reports it
            self.error = error

    def _follow(self) -> None:
        server = 0
        deadline = time.monotonic() + 240
        while self.ended is None and time.monotonic() < deadline:
            url = f"{self.urls[server]}/api/v1/models/{self.model_id}/stream"
            try:
                with connect(url, additional_headers=AS_INSTRUCTOR, open_timeout=5) as ws:
                    ws.send(json.dumps(self._command()))
                    while True:
                        frame = json.loads(ws.recv(timeout=60))
                        if frame["type"] == "metrics":
                            self.records.append(frame)
                        elif frame["type"] == "end":
                            if frame["status"] == "interrupted":
                                self.interruptions += 1
                                time.sleep(0.2)
                                ws.send(json.dumps(self._command()))
                                continue
                            self.ended = frame
                            return
                        else:
                            raise AssertionError(f"unexpected frame {frame}")
            except (ConnectionClosed, OSError):
                if server + 1 < len(self.urls):
                    server += 1
                    self.reconnects += 1
                else:
                    time.sleep(0.2)  # the same server again

    def _command(self) -> dict[str, Any]:
        return {"type": "follow", "session": self.session, "after_step": self.last_step}


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """A record without what differs between runs of the same seed (time, the frame's envelope,
    and the status at the moment it was written)."""
    skip = {"elapsed", "type", "v", "session", "status"}
    return {key: value for key, value in record.items() if key not in skip}


def start_followed_sessions(
    one: httpx2.Client, first: LiveServer, second: LiveServer
) -> tuple[list[str], list[str], bytes, list[Follower]]:
    """SESSIONS models trained through `one` (the first server), each followed by FOLLOWERS
    students who move to the second server when the first is lost: the model ids, the session
    ids, the models' initial weights and the followers, running."""
    models = [one.post("/api/v1/models", json={"config": CONFIG}) for _ in range(SESSIONS)]
    assert all(m.status_code == 201 for m in models), [m.text for m in models]
    model_ids = [m.json()["id"] for m in models]
    initial = one.get(f"/api/v1/models/{model_ids[0]}/weights").content
    started = [one.post(f"/api/v1/models/{m}/train", json=TRAIN) for m in model_ids]
    assert all(s.status_code == 202 for s in started), [s.text for s in started]
    sessions = [s.json()["id"] for s in started]
    followers = [
        Follower(model_id, session, [ws_url(first), ws_url(second)])
        for model_id, session in zip(model_ids, sessions, strict=True)
        for _ in range(FOLLOWERS)
    ]
    for follower in followers:
        follower.thread.start()
    wait_until(
        lambda: all(f.last_step >= 100 for f in followers), 120, "the followers saw no records"
    )
    return model_ids, sessions, initial, followers


def check_against_an_uninterrupted_run(
    other: httpx2.Client,
    model_ids: list[str],
    sessions: list[str],
    initial: bytes,
    followers: list[Follower],
) -> None:
    """Each session's records (as stored and as every follower saw them) and final weights
    equal those of an uninterrupted run of the same seed, trained through `other`."""
    twin = other.post("/api/v1/models", json={"config": CONFIG}).json()["id"]
    assert other.get(f"/api/v1/models/{twin}/weights").content == initial
    reference = other.post(f"/api/v1/models/{twin}/train", json=TRAIN).json()["id"]

    def finished() -> bool:
        return other.get(f"/api/v1/training/{reference}").json()["status"] == "finished"

    wait_until(finished, 180, "the reference run did not finish")
    expected_weights = other.get(f"/api/v1/models/{twin}/weights").content
    expected = other.get(f"/api/v1/training/{reference}/history?limit=10000").json()

    for model_id, session in zip(model_ids, sessions, strict=True):
        history = other.get(f"/api/v1/training/{session}/history?limit=10000").json()
        steps = [r["step"] for r in history["records"]]
        assert steps == list(range(10, TRAIN["steps"] + 1, 10))
        for follower in (f for f in followers if f.session == session):
            assert [r["step"] for r in follower.records] == steps
            assert [comparable(r) for r in follower.records] == [
                comparable(r) for r in history["records"]
            ]
        assert [comparable(r) for r in history["records"]] == [
            comparable(r) for r in expected["records"]
        ]
        weights = other.get(f"/api/v1/models/{model_id}/weights").content
        assert weights == expected_weights


def test_students_move_to_the_other_server_and_the_sessions_resume_bit_for_bit(
    servers: tuple[LiveServer, LiveServer],
) -> None:
    first, second = servers
    with http(first) as one, http(second) as other:
        model_ids, sessions, initial, followers = start_followed_sessions(one, first, second)
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
        seen_before = [f.last_step for f in followers]
        assert all(step < TRAIN["steps"] for step in seen_before), seen_before

        # the sessions are reported interrupted through the second server, mid-way
        def interrupted() -> bool:
            answers = [other.get(f"/api/v1/training/{s}").json() for s in sessions]
            return all(answer["status"] == "interrupted" for answer in answers)

        wait_until(interrupted, 60, "the sessions of the killed server were not interrupted")
        for session in sessions:
            stopped_at = other.get(f"/api/v1/training/{session}").json()["step"]
            assert 0 < stopped_at < TRAIN["steps"]
            resumed = other.post(f"/api/v1/training/{session}/resume")
            assert resumed.status_code == 200, resumed.text
            assert resumed.json()["status"] in ("running", "finished"), resumed.json()

        for follower in followers:
            follower.thread.join(240)
            assert follower.error is None, follower.error
            assert follower.ended is not None and follower.ended["status"] == "finished"
            assert follower.reconnects == 1  # it moved to the second server once

        check_against_an_uninterrupted_run(other, model_ids, sessions, initial, followers)


@pytest.mark.slow
def test_on_ray_the_sessions_train_on_through_the_loss_of_their_server(
    tmp_path: Path, postgres_url: str, ray_nodes: Any
) -> None:
    first = LiveServer(tmp_path / "a", database_url=postgres_url, ray_address=ray_nodes.address)
    second = LiveServer(tmp_path / "b", database_url=postgres_url, ray_address=ray_nodes.address)
    with first, second, http(first) as one, http(second) as other:
        model_ids, sessions, initial, followers = start_followed_sessions(one, first, second)
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
        seen_before = [f.last_step for f in followers]
        assert all(step < TRAIN["steps"] for step in seen_before), seen_before

        # no one resumes anything: the actors go on, as the second server reports
        for follower in followers:
            follower.thread.join(240)
            assert follower.error is None, follower.error
            assert follower.ended is not None and follower.ended["status"] == "finished"
            assert follower.reconnects == 1  # it moved to the second server once
            assert follower.interruptions == 0
        for session in sessions:
            answer = other.get(f"/api/v1/training/{session}").json()
            assert answer["status"] == "finished" and answer["step"] == TRAIN["steps"]
        check_against_an_uninterrupted_run(other, model_ids, sessions, initial, followers)
