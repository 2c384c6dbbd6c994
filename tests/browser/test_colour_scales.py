"""One diverging scale for signed values and one sequential scale for magnitudes, used the same
way on every Explore view, both readable in the common colour-vision deficiencies.

The scales are read from the page's own colour module; every heatmap on the page and every
node of the unrolled diagram is checked against the API's numbers coloured by those scales, and
the scales themselves are run through colorspacious' simulation of protanopia, deuteranopia and
tritanopia (Machado et al. 2009, severity 100)."""

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from colorspacious import cspace_convert
from playwright.sync_api import Page, expect

from tests.browser.helpers import SERVER

CELLS = ["rnn", "lstm", "gru"]
DEFICIENCIES = ["protanomaly", "deuteranomaly", "tritanomaly"]

Stops = list[tuple[float, str]]


def page_scales(page: Page) -> dict[str, Stops]:
    """DIVERGING and SEQUENTIAL as the page's colour module exports them."""
    scales = page.evaluate(
        """async () => {
          const url = [...document.scripts].map((s) => s.src)
            .find((src) => src.endsWith("/js/main.js"));
          const colour = await import(new URL("views/colour.js", url).href);
          return {diverging: colour.DIVERGING, sequential: colour.SEQUENTIAL};
        }"""
    )
    return {name: [(float(u), str(c)) for u, c in stops] for name, stops in scales.items()}


def rgb(colour: str) -> np.ndarray:
    """'#rrggbb' or 'rgb(r, g, b)' as three numbers 0–255."""
    if colour.startswith("#"):
        return np.array([int(colour[k : k + 2], 16) for k in (1, 3, 5)], dtype=float)
    numbers = re.findall(r"[\d.]+", colour)
    return np.array([float(v) for v in numbers[:3]])


def colour_at(stops: Stops, u: float) -> np.ndarray:
    """Linear interpolation between the stops, u clamped to [0, 1]."""
    u = min(1.0, max(0.0, u))
    positions = np.array([p for p, _ in stops])
    colours = np.array([rgb(c) for _, c in stops])
    return np.array([np.interp(u, positions, colours[:, k]) for k in range(3)])


def heatmaps(page: Page) -> list[dict[str, Any]]:
    """Every Plotly heatmap on the page: its view, scale, bounds, data range and bar title."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll(".js-plotly-plot")]
              .filter((el) => el.offsetParent !== null)
              .flatMap((el) => (el.data || []).filter((d) => d.type === "heatmap").map((d) => {
                const values = d.z.flat().filter((v) => Number.isFinite(v));
                return {
                  view: el.id, colorscale: d.colorscale, zmin: d.zmin, zmax: d.zmax,
                  lo: Math.min(...values), hi: Math.max(...values),
                  showscale: d.showscale !== false, title: d.colorbar?.title?.text ?? "",
                };
              }))"""
        )
    )


def check_heatmaps(page: Page, scales: dict[str, Stops]) -> list[str]:
    seen = []
    for heat in heatmaps(page):
        view, stops = heat["view"], [(float(u), c) for u, c in heat["colorscale"]]
        seen.append(view)
        if heat["lo"] < 0:
            assert stops == scales["diverging"], f"{view}: signed values not on the diverging scale"
            assert heat["zmin"] == -heat["zmax"], f"{view}: 0 is not the scale's middle"
            assert heat["zmin"] <= heat["lo"] and heat["hi"] <= heat["zmax"], view
        else:
            assert stops == scales["sequential"], f"{view}: a magnitude not on the sequential scale"
        if heat["showscale"]:
            assert heat["title"], f"{view}: a colour bar without a title"
    return seen


def api_pass(page: Page, live_server: str, which: str) -> dict[str, Any]:
    model_id = page.evaluate("window.rnnExplorer.model().id")
    body = page.evaluate(
        "() => { const t = window.rnnExplorer.trace();"
        " return {inputs: t.inputs, targets: t.targets}; }"
    )
    if which == "forward":
        body.pop("targets")
    response = SERVER.post(f"{live_server}/api/v1/models/{model_id}/{which}", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json()["trace"])


def node_fills(page: Page, row: str) -> dict[int, np.ndarray]:
    fills = page.evaluate(
        """(row) => [...document.querySelectorAll(`#view-unrolled .node[data-row="${row}"]`)]
            .map((n) => [Number(n.dataset.t), n.getAttribute("fill")])""",
        row,
    )
    return {t: rgb(fill) for t, fill in fills}


@pytest.mark.parametrize("cell", CELLS)
def test_every_view_colours_signed_values_diverging_and_magnitudes_sequential(
    explorer: Callable[..., Page], live_server: str, cell: str
) -> None:
    page = explorer(f"task=binary_addition&cell={cell}&t=7")
    scales = page_scales(page)
    forward = api_pass(page, live_server, "forward")
    unit = int(page.evaluate("window.rnnExplorer.state.unit"))
    inputs = np.array(page.evaluate("window.rnnExplorer.trace().inputs"), dtype=float)

    assert "view-heatmap" in check_heatmaps(page, scales)
    H = np.array(forward["layers"][0]["H"])
    m = np.abs(H).max()
    fills = node_fills(page, "h1")
    assert fills
    for t, fill in fills.items():
        expected = colour_at(scales["diverging"], 0.5 + H[t, unit] / (2 * m))
        np.testing.assert_allclose(fill, expected, atol=1.01, err_msg=f"H node t={t}")
    norms = np.linalg.norm(inputs, axis=1)
    for t, fill in node_fills(page, "x").items():
        expected = colour_at(scales["sequential"], norms[t] / norms.max())
        np.testing.assert_allclose(fill, expected, atol=1.01, err_msg=f"x node t={t}")
    expect(page.locator("#view-unrolled .colour-bar")).to_have_attribute("data-scale", "diverging")

    page.keyboard.press("b")
    expect(page.locator("#view-unrolled .colour-bar")).to_have_attribute("data-scale", "sequential")
    expect(page.locator("#view-heatmap .colorbar .cbtitle")).to_contain_text("dL/dH")
    assert "view-heatmap" in check_heatmaps(page, scales)
    backward = api_pass(page, live_server, "backward")
    logs = np.log10(
        np.maximum(np.linalg.norm(np.array(backward["layers"][0]["dH"]), axis=1), 1e-12)
    )
    for t, fill in node_fills(page, "h1").items():
        u = (logs[t] - logs.min()) / (logs.max() - logs.min())
        expected = colour_at(scales["sequential"], u)
        np.testing.assert_allclose(fill, expected, atol=1.01, err_msg=f"‖dL/dH_t‖ node t={t}")


def test_probabilities_and_the_character_text_use_the_same_two_scales(
    explorer: Callable[..., Page],
) -> None:
    page = explorer("task=char_lm")
    scales = page_scales(page)
    seen = check_heatmaps(page, scales)
    assert "view-outputs" in seen, seen
    heading = page.locator("#view-text .check").first
    expect(heading).to_contain_text("blue −")
    colours = page.evaluate(
        "() => [...document.querySelectorAll('#view-text span[data-t]')]"
        ".map((s) => s.style.backgroundColor)"
    )
    assert colours
    on_scale = [colour_at(scales["diverging"], u) for u in np.linspace(0, 1, 401)]
    for colour in colours:
        distance = min(np.abs(rgb(colour) - c).max() for c in on_scale)
        assert distance <= 2, f"{colour} is not on the diverging scale"


def lightness(colours: np.ndarray, deficiency: str | None) -> np.ndarray:
    srgb = colours / 255
    if deficiency:
        space = {"name": "sRGB1+CVD", "cvd_type": deficiency, "severity": 100}
        srgb = np.clip(cspace_convert(srgb, space, "sRGB1"), 0, 1)
    return np.asarray(cspace_convert(srgb, "sRGB1", "CAM02-UCS"))


@pytest.mark.parametrize("deficiency", [None, *DEFICIENCIES])
def test_both_scales_stay_readable_in_colour_vision_deficiencies(
    explorer: Callable[..., Page], deficiency: str | None
) -> None:
    scales = page_scales(explorer("task=binary_addition"))
    # the diverging scale: both ends far from each other and from the middle (CAM02-UCS ΔE′)
    ends = lightness(np.array([colour_at(scales["diverging"], u) for u in (0, 0.5, 1)]), deficiency)
    negative, middle, positive = ends
    assert np.linalg.norm(negative - positive) > 25, deficiency
    assert np.linalg.norm(negative - middle) > 25 and np.linalg.norm(positive - middle) > 25
    # each half runs one way in lightness, so the sign reads without hue
    half = np.linspace(0, 0.5, 11)
    left = lightness(np.array([colour_at(scales["diverging"], u) for u in half]), deficiency)
    right = lightness(np.array([colour_at(scales["diverging"], 1 - u) for u in half]), deficiency)
    assert np.all(np.diff(left[:, 0]) > 0) and np.all(np.diff(right[:, 0]) > 0), deficiency
    # the sequential scale: lightness rises from low to high magnitude, with no flat stretch
    ramp = lightness(
        np.array([colour_at(scales["sequential"], u) for u in np.linspace(0, 1, 21)]), deficiency
    )
    assert np.all(np.diff(ramp[:, 0]) > 1), deficiency
