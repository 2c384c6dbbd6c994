"""The keyboard: arrows step the timestep unless a text field has focus, a list changes only
when opened, and Escape brings the keys back to the page from any control."""

from collections.abc import Callable

from playwright.sync_api import Page, expect


def _t(page: Page) -> int:
    return int(page.evaluate("() => window.rnnExplorer.state.t"))


def test_arrows_on_a_focused_list_step_the_timestep_and_leave_the_list_alone(
    explorer: Callable[..., Page],
) -> None:
    page = explorer("task=binary_addition&t=1")
    trace_id = page.evaluate("() => window.rnnExplorer.trace().id")
    task = page.locator("#task")
    chosen = task.input_value()
    task.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert _t(page) == 3
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowDown")  # the unit, not the next task
    assert _t(page) == 2
    assert task.input_value() == chosen
    page.wait_for_timeout(300)  # a change would have started a rebuild by now
    assert page.evaluate("() => window.rnnExplorer.state.task") == chosen
    assert page.evaluate("() => window.rnnExplorer.trace().id") == trace_id
    expect(page.locator("#t-label")).to_contain_text("t = 2")


def test_a_list_still_changes_when_chosen_from(explorer: Callable[..., Page]) -> None:
    page = explorer("task=binary_addition")
    page.locator("#task").select_option("sine")
    page.wait_for_function("() => window.rnnExplorer.state.task === 'sine'")


def test_escape_leaves_a_text_field_and_the_arrows_step_again(
    explorer: Callable[..., Page],
) -> None:
    page = explorer("task=binary_addition&t=0")
    field = page.locator("#config-form input[type='number']").first
    field.focus()
    page.keyboard.press("ArrowRight")  # the field's own key: no step
    assert _t(page) == 0
    page.keyboard.press("Escape")
    assert page.evaluate("() => document.activeElement.id") == "views"
    page.keyboard.press("ArrowRight")
    assert _t(page) == 1


def test_escape_in_the_help_dialog_closes_it_and_nothing_else(
    explorer: Callable[..., Page],
) -> None:
    page = explorer("task=binary_addition&t=0")
    page.locator("body").press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()
    expect(page.locator("#help")).to_contain_text("Esc")
