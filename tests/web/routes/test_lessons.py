"""GET /api/v1/lessons and /api/v1/lessons/{name}."""

from fastapi.testclient import TestClient


def test_the_lessons_are_listed_and_each_one_is_served_whole(client: TestClient) -> None:
    outlines = client.get("/api/v1/lessons").json()
    assert outlines and outlines[0]["name"] == "simple-rnn"
    for outline in outlines:
        lesson = client.get(f"/api/v1/lessons/{outline['name']}").json()
        assert [step["title"] for step in lesson["steps"]] == outline["steps"]
        assert lesson["tutorial"] == outline["tutorial"]
        for step in lesson["steps"]:
            assert step["html"] and "query" in step and "focus" in step["setup"]


def test_an_unknown_lesson_is_a_404_that_names_it(client: TestClient) -> None:
    response = client.get("/api/v1/lessons/nope")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]
