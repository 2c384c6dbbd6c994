"""The page's menus and bounds are the server's: GET /api/v1/choices, read by the test itself,
is the truth they are compared with (on the default server and on one with other limits)."""

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.helpers import SERVER, open_explorer, serve


def options(page: Page, selector: str) -> list[str]:
    return list(page.eval_on_selector_all(f"{selector} option", "os => os.map(o => o.value)"))


def test_the_menus_hold_exactly_the_servers_choices(
    explorer: Callable[..., Page], live_server: str
) -> None:
    choices = SERVER.get(f"{live_server}/api/v1/choices").json()
    tasks = SERVER.get(f"{live_server}/api/v1/tasks").json()
    page = explorer()
    for field in ("cell", "nonlinearity", "init"):
        assert options(page, f"#{field}") == choices["model"][field], field
    assert options(page, "#task") == [task["name"] for task in tasks]
    page.click("#tab-train")
    expect(page.locator("#optimizer option")).to_have_count(len(choices["training"]["optimizer"]))
    assert options(page, "#optimizer") == choices["training"]["optimizer"]
    page.click("#tab-compare")
    for side in ("a", "b"):
        for field in ("cell", "nonlinearity", "init"):
            assert options(page, f"#cmp-{side}-{field}") == choices["model"][field]


def test_the_inputs_are_bounded_by_the_servers_limits(page: Page) -> None:
    limits = {"max_hidden_size": 48, "max_layers": 3, "max_training_steps": 777, "max_batch": 64}
    with serve(**limits) as base_url:
        served = SERVER.get(f"{base_url}/api/v1/choices").json()["limits"]
        assert {name: served[name] for name in limits} == limits
        page = open_explorer(page, base_url, "tab=train")
        expect(page.locator("#train-steps")).to_have_attribute("max", "777")
        expect(page.locator("#batch-size")).to_have_attribute("max", "64")
        expect(page.locator("#hidden-size")).to_have_attribute("max", "48")
        expect(page.locator("#num-layers")).to_have_attribute("max", "3")
        bias = SERVER.get(f"{base_url}/api/v1/choices").json()["model_bounds"]["forget_bias"]
        expect(page.locator("#forget-bias")).to_have_attribute("min", f"{bias['min']:g}")
        expect(page.locator("#forget-bias")).to_have_attribute("max", f"{bias['max']:g}")


def test_the_form_disables_the_fields_a_cell_does_not_have(
    explorer: Callable[..., Page], live_server: str
) -> None:
    choices = SERVER.get(f"{live_server}/api/v1/choices").json()
    defaults = choices["model_defaults"]
    assert choices["cell_fields"] == {"nonlinearity": ["rnn"], "forget_bias": ["lstm"]}
    page = explorer("task=binary_addition")
    expect(page.locator("#nonlinearity")).to_be_enabled()
    expect(page.locator("#forget-bias")).to_be_disabled()
    page.select_option("#nonlinearity", "relu")
    page.select_option("#cell", "lstm")
    expect(page.locator("#nonlinearity")).to_be_disabled()
    expect(page.locator("#nonlinearity")).to_have_value(defaults["nonlinearity"])
    expect(page.locator("#forget-bias")).to_be_enabled()
    page.click("#tab-compare")
    page.select_option("#cmp-a-cell", "gru")
    expect(page.locator("#cmp-a-nonlinearity")).to_be_disabled()
    expect(page.locator("#cmp-b-nonlinearity")).to_be_enabled()
