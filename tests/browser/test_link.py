"""The link: the page's state in its address, read and written through one table, so the link
of a page opened from a link is that link; defaults are left out; a link is checked against
the server's choices and limits."""

from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

from playwright.sync_api import Page

from tests.browser.helpers import SERVER, open_explorer, serve

# Every key a link may carry, each with a value other than its default.
LINK = {
    "task": "char_lm",
    "p.seq_len": "20",
    "sample": "2",
    "cell": "lstm",
    "hidden_size": "12",
    "num_layers": "2",
    "init": "orthogonal",
    "seed": "3",
    "forget_bias": "1",
    "opt": "sgd",
    "lr": "0.05",
    "steps": "123",
    "batch": "8",
    "clip": "",
    "t": "4",
    "phase": "backward",
    "unit": "5",
    "layer": "1",
    "speed": "30",
    "tab": "train",
    "weight": "W_xh",
    "cmpA": "gru.tanh.xavier",
    "cmpB": "rnn.relu.normal",
}


def query_of(page: Page) -> str:
    return str(page.evaluate("window.rnnExplorer.query()"))


def test_the_link_of_a_page_opened_from_a_link_is_that_link(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer(urlencode(LINK))
    first_query = query_of(page)
    # KaTeX loads after the first trace is drawn; its flag is part of the state compared below
    page.wait_for_function("window.rnnExplorer.state.typesetter === true")
    first_state = page.evaluate("window.rnnExplorer.state")
    # every value of the link is kept, and nothing is added
    assert dict(parse_qsl(first_query, keep_blank_values=True)) == LINK
    page.wait_for_function("query => location.search === '?' + query", arg=first_query)
    # the model built is the one the link names (the server's record of it)
    model = SERVER.get(
        f"{live_server}/api/v1/models/{page.evaluate('window.rnnExplorer.model().id')}"
    ).json()
    named = {"cell": "lstm", "hidden_size": 12, "num_layers": 2, "init": "orthogonal", "seed": 3}
    assert {key: model["config"][key] for key in named} == named
    assert model["config"]["forget_bias"] == 1.0

    page = explorer(first_query)
    assert query_of(page) == first_query
    page.wait_for_function("window.rnnExplorer.state.typesetter === true")
    assert page.evaluate("window.rnnExplorer.state") == first_state


def test_a_link_names_only_what_differs_from_the_defaults(explorer: Callable[..., Page]) -> None:
    page = explorer()
    assert query_of(page) == ""
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => location.search === '?t=1'")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => location.search === ''")
    # a value equal to the task's own default is left out of the link
    page = explorer("task=sine&p.length=50&hidden_size=32&t=3")
    assert query_of(page) == "task=sine&t=3"


def test_a_link_that_names_a_cells_missing_field_gets_the_servers_default(
    explorer: Callable[..., Page], live_server: str
) -> None:
    defaults = SERVER.get(f"{live_server}/api/v1/choices").json()["model_defaults"]
    page = explorer("task=binary_addition&cell=gru&nonlinearity=relu&forget_bias=2")
    config = page.evaluate("window.rnnExplorer.model().config")
    assert config["cell"] == "gru"
    assert config["nonlinearity"] == defaults["nonlinearity"]
    assert config["forget_bias"] == defaults["forget_bias"]
    assert query_of(page) == "cell=gru"


def test_a_link_is_bounded_by_the_servers_limits(page: Page) -> None:
    with serve(max_hidden_size=48, max_layers=3) as base_url:
        page = open_explorer(page, base_url, "task=binary_addition&hidden_size=40&num_layers=3")
        config = page.evaluate("window.rnnExplorer.model().config")
        assert (config["hidden_size"], config["num_layers"]) == (40, 3)
        # beyond this server's limits: the task's defaults instead
        task = SERVER.get(f"{base_url}/api/v1/tasks/binary_addition").json()
        page = open_explorer(page, base_url, "task=binary_addition&hidden_size=49&num_layers=4")
        config = page.evaluate("window.rnnExplorer.model().config")
        assert config["hidden_size"] == task["default_config"]["hidden_size"]
        assert config["num_layers"] == task["default_config"].get("num_layers", 1)
        assert query_of(page) == ""
