"""Inside the cell: the card's edge values, in the real page, against the API's answers for the
same model and sequence and NumPy on the model's weights, for every cell and both passes."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page, expect
from safetensors.numpy import load as load_safetensors

from tests.browser.helpers import shot

T_CURSOR = 3
UNIT = 2


def _sigmoid(a: float) -> float:
    return float(1 / (1 + np.exp(-a)))


def _edge_values(page: Page) -> dict[str, list[float]]:
    """Every labelled quantity of the cell card and the values it shows (an edge may repeat)."""
    pairs = page.eval_on_selector_all(
        "#view-cell [data-quantity]",
        "nodes => nodes.map(n => [n.dataset.quantity, n.dataset.value])",
    )
    values: dict[str, list[float]] = {}
    for quantity, value in pairs:
        assert value != "", f"the cell view shows no number for {quantity}"
        values.setdefault(quantity, []).append(float(value))
    return values


def _assert_shows(shown: dict[str, list[float]], expected: dict[str, float], what: str) -> None:
    assert set(shown) == set(expected), f"{what}: the card shows {sorted(shown)}"
    for quantity, truth in expected.items():
        for value in shown[quantity]:
            assert value == pytest.approx(truth, rel=1e-9, abs=1e-12), f"{what} {quantity}"


def _answers(page: Page, base_url: str) -> dict[str, Any]:
    """The page's model and sequence, and the API's forward and backward answers for them."""
    trace = page.evaluate(
        "(() => { const t = window.rnnExplorer.trace();"
        " return {id: t.modelId, inputs: t.inputs, targets: t.targets, sequence: t.sequence}; })()"
    )
    url = f"{base_url}/api/v1/models/{trace['id']}"
    forward = page.request.post(f"{url}/forward", data={"inputs": trace["inputs"]}).json()
    backward = page.request.post(
        f"{url}/backward", data={"inputs": trace["inputs"], "targets": trace["targets"]}
    ).json()
    weights = load_safetensors(page.request.get(f"{url}/weights").body())
    return {"page": trace, "forward": forward, "backward": backward, "weights": weights}


def _expected_forward(cell: str, answers: dict[str, Any], t: int, j: int) -> dict[str, float]:
    w = answers["weights"]
    layer = answers["forward"]["trace"]["layers"][0]
    H = len(layer["H"][0])
    x = np.array(answers["page"]["inputs"][t])
    h_prev = np.array(layer["H"][t - 1]) if t > 0 else np.zeros(H)
    xw = x @ w["rnn.weight_ih_l0"].T  # (G·H,): X_t W_xh, W_xh = weight_ihᵀ
    hw = h_prev @ w["rnn.weight_hh_l0"].T
    no_bias = np.zeros(len(w["rnn.weight_ih_l0"]))  # a model with bias "none" has no tensors
    b_ih, b_hh = w.get("rnn.bias_ih_l0", no_bias), w.get("rnn.bias_hh_l0", no_bias)
    A, gates = layer["A"][t], layer["gates"]
    expected = {"H_prev": float(h_prev[j]), "H": layer["H"][t][j]}
    if cell == "rnn":
        assert xw[j] + hw[j] + b_ih[j] + b_hh[j] == pytest.approx(A[j], abs=1e-12)
        return {**expected, "xw": xw[j], "hw": hw[j], "b": b_ih[j] + b_hh[j], "A": A[j]}
    names = "ifgo" if cell == "lstm" else "rz"
    for k, name in enumerate(names):
        row = k * H + j
        value = gates[name][t][j]
        activation = np.tanh(A[row]) if name == "g" else _sigmoid(A[row])
        assert value == pytest.approx(activation, abs=1e-12), f"{name} = act(A_{name})"
        expected |= {
            f"xw_{name}": xw[row],
            f"hw_{name}": hw[row],
            f"b_{name}": b_ih[row] + b_hh[row],
        }
        expected |= {f"A_{name}": A[row], name: value}
    if cell == "lstm":
        c_prev = gates["C"][t - 1][j] if t > 0 else 0.0
        c = gates["C"][t][j]
        i, f, g = gates["i"][t][j], gates["f"][t][j], gates["g"][t][j]
        assert f * c_prev + i * g == pytest.approx(c, abs=1e-12)
        return expected | {
            "C_prev": c_prev,
            "fC": f * c_prev,
            "ig": i * g,
            "C": c,
            "tanhC": np.tanh(c),
        }
    row = 2 * H + j
    hn = hw[row] + b_hh[row]
    r = gates["r"][t][j]
    assert xw[row] + b_ih[row] + r * hn == pytest.approx(A[row], abs=1e-12)
    return expected | {
        "xw_n": xw[row],
        "b_n": b_ih[row],
        "hw_n": hw[row],
        "b_hn": b_hh[row],
        "hn": hn,
        "rhn": r * hn,
        "A_n": A[row],
        "n": gates["n"][t][j],
    }


def _expected_backward(cell: str, answers: dict[str, Any], t: int, j: int) -> dict[str, float]:
    w = answers["weights"]
    forward = answers["forward"]["trace"]["layers"][0]
    back = answers["backward"]["trace"]["layers"][0]
    H = len(forward["H"][0])
    dH, dA = back["dH"][t][j], np.array(back["dA"][t])
    gates = forward["gates"]
    if cell == "rnn":
        dA_h = dA
        expected = {"dH": dH, "dA": dA[j]}
    elif cell == "lstm":
        i, f, g, o = (gates[name][t][j] for name in "ifgo")
        c, c_prev = gates["C"][t][j], gates["C"][t - 1][j] if t > 0 else 0.0
        dC = back["dC"][t][j]
        di, df, dg, do = dC * g, dC * c_prev, dC * i, dH * np.tanh(c)
        # each gate's gradient times its slope is the API's dL/dA of that gate
        for k, (grad, slope) in enumerate(
            [(di, i * (1 - i)), (df, f * (1 - f)), (dg, 1 - g * g), (do, o * (1 - o))]
        ):
            assert grad * slope == pytest.approx(dA[k * H + j], rel=1e-9, abs=1e-13), "ifgo"[k]
        if t > 0:  # dC_{t−1} = dC_t ⊙ f + the H path of step t−1
            o_prev, c_before = gates["o"][t - 1][j], gates["C"][t - 1][j]
            h_path = back["dH"][t - 1][j] * o_prev * (1 - np.tanh(c_before) ** 2)
            assert dC * f + h_path == pytest.approx(back["dC"][t - 1][j], rel=1e-9, abs=1e-13)
        dA_h = dA
        expected = {"dH": dH, "dC": dC, "di": di, "df": df, "dg": dg, "do": do, "dC_prev": dC * f}
        expected |= {"dC_via_H": dH * o * (1 - np.tanh(c) ** 2), "dtanhC": dH * o}
        expected |= {f"dA_{name}": dA[k * H + j] for k, name in enumerate("ifgo")}
    else:
        r_all = np.array(gates["r"][t])
        r, z, n = (gates[name][t][j] for name in "rzn")
        h_prev = forward["H"][t - 1][j] if t > 0 else 0.0
        hn = ((np.array(forward["H"][t - 1]) if t > 0 else np.zeros(H)) @ w["rnn.weight_hh_l0"].T)[
            2 * H + j
        ] + w.get("rnn.bias_hh_l0", np.zeros(3 * H))[2 * H + j]
        dn, dz, dr = dH * (1 - z), dH * (h_prev - n), dA[2 * H + j] * hn
        for k, (grad, slope) in enumerate([(dr, r * (1 - r)), (dz, z * (1 - z)), (dn, 1 - n * n)]):
            assert grad * slope == pytest.approx(dA[k * H + j], rel=1e-9, abs=1e-13), "rzn"[k]
        dA_h = np.concatenate([dA[: 2 * H], dA[2 * H :] * r_all])
        gates_part = float((dA_h @ w["rnn.weight_hh_l0"])[j])
        expected = {"dH": dH, "dn": dn, "dz": dz, "dr": dr, "dhn": dA[2 * H + j] * r}
        expected |= {f"dA_{name}": dA[k * H + j] for k, name in enumerate("rzn")}
        expected |= {"dH_gates": gates_part, "dH_direct": dH * z}
    # W_hh = weight_hhᵀ: this step's part of dL/dH_{t−1} is dA_h W_hhᵀ = dA_h @ weight_hh
    dH_prev = float((dA_h @ w["rnn.weight_hh_l0"])[j]) + (
        dH * gates["z"][t][j] if cell == "gru" else 0
    )
    if t > 0 and answers["page"]["sequence"]:
        # the engine's dL/dH_{t−1} is this step's part plus the output's at t−1
        dO = np.atleast_1d(answers["backward"]["trace"]["dO"][t - 1])
        from_output = float((dO @ w["head.weight"])[j])
        assert dH_prev + from_output == pytest.approx(back["dH"][t - 1][j], rel=1e-9, abs=1e-13)
    return expected | {"dH_prev": dH_prev}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_cell_view_shows_each_edge_value_of_the_step_forward_and_backward(
    explorer: Callable[..., Page], live_server: str, cell: str
) -> None:
    page = explorer(f"task=sine&cell={cell}&hidden_size=4&seed=5&t={T_CURSOR}&unit={UNIT}")
    assert page.evaluate("window.rnnExplorer.state.t") == T_CURSOR
    answers = _answers(page, live_server)
    shown = _edge_values(page)
    _assert_shows(shown, _expected_forward(cell, answers, T_CURSOR, UNIT), f"{cell} forward")
    shot(page, f"cell-{cell}-forward", "#view-cell")

    page.keyboard.press("b")
    page.wait_for_function("() => document.querySelector('#view-cell svg.backward') !== null")
    shown = _edge_values(page)
    _assert_shows(shown, _expected_backward(cell, answers, T_CURSOR, UNIT), f"{cell} backward")
    shot(page, f"cell-{cell}-backward", "#view-cell")


@pytest.mark.parametrize(("cell", "bias"), [("rnn", "none"), ("gru", "none"), ("gru", "two")])
def test_cell_view_of_a_model_with_two_biases_or_none_shows_the_apis_values(
    explorer: Callable[..., Page], live_server: str, cell: str, bias: str
) -> None:
    page = explorer(f"task=sine&cell={cell}&hidden_size=4&seed=5")
    config = {**page.evaluate("window.rnnExplorer.model().config"), "bias": bias}
    # made with the page's own cookie (its owner), so that the page may open it
    created = page.request.post(f"{live_server}/api/v1/models", data={"config": config}).json()
    page = explorer(f"task=sine&model={created['id']}&t={T_CURSOR}&unit={UNIT}")
    answers = _answers(page, live_server)
    assert ("rnn.bias_ih_l0" in answers["weights"]) == (bias == "two")
    shown = _edge_values(page)
    _assert_shows(shown, _expected_forward(cell, answers, T_CURSOR, UNIT), f"{cell} {bias}")


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_equation_card_spells_out_the_gated_backward_step_and_names_the_layer_above(
    explorer: Callable[..., Page], live_server: str, cell: str
) -> None:
    page = explorer(
        f"task=sine&cell={cell}&hidden_size=4&num_layers=2&layer=0&t={T_CURSOR}&unit={UNIT}"
        "&phase=backward"
    )
    answers = _answers(page, live_server)
    equation = page.locator("#view-equation")
    text = equation.inner_text()
    assert "from the layer above" in text
    assert "dL/dX_t of layer 2" in text
    assert "W_hqᵀ" not in text and "W_hq.T" not in text
    assert "gate_grads" not in text
    forward = answers["forward"]["trace"]["layers"][0]
    back = answers["backward"]["trace"]["layers"][0]
    dH = back["dH"][T_CURSOR][UNIT]

    def slot(name: str) -> float:
        return float(equation.locator(f"[data-slot='{name}']").get_attribute("data-exact") or "nan")

    gates = {name: value[T_CURSOR][UNIT] for name, value in forward["gates"].items()}
    if cell == "lstm":
        assert "df = dC * C[t-1];  di = dC * g;  dg = dC * i" in text
        dC = back["dC"][T_CURSOR][UNIT]
        assert slot("dc") == pytest.approx(dC, rel=1e-12)
        assert slot("di") == pytest.approx(dC * gates["g"], rel=1e-12)
        assert slot("dg") == pytest.approx(dC * gates["i"], rel=1e-12)
        assert slot("do") == pytest.approx(dH * np.tanh(gates["C"]), rel=1e-12)
    else:
        assert "dH_next = dA_h @ W_hh.T + dH * z" in text
        assert slot("dn") == pytest.approx(dH * (1 - gates["z"]), rel=1e-12)
        h_prev = forward["H"][T_CURSOR - 1][UNIT]
        assert slot("dz") == pytest.approx(dH * (h_prev - gates["n"]), rel=1e-12)
    # the top layer's gradient at t comes from the output
    page.select_option(
        "#layer", index=1
    )  # "2": by index, as a value "1" matches the label of layer 1
    page.wait_for_function("() => window.rnnExplorer.state.layer === 1")
    expect(equation).to_contain_text("W_hqᵀ")
    expect(equation).to_contain_text("dO @ W_hq.T")  # many-to-one: the one output, at T-1
    expect(equation).not_to_contain_text("from the layer above")


def _marks(page: Page, row: str) -> list[tuple[int, float, str]]:
    """(t, value, title) of each unrolled mark of a row (c1: the LSTM's C_t, z1: the GRU's z)."""
    return [
        (int(t), float(value), title)
        for t, value, title in page.eval_on_selector_all(
            f"#view-unrolled [data-row='{row}']",
            "nodes => nodes.map(n => [n.getAttribute('data-t'), n.getAttribute('data-value'),"
            " n.querySelector('title').textContent])",
        )
    ]


def test_unrolled_lstm_draws_the_cell_state_belt_with_the_apis_c_and_dc(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer(f"task=sine&cell=lstm&hidden_size=4&seed=5&t={T_CURSOR}&unit={UNIT}")
    answers = _answers(page, live_server)
    C = answers["forward"]["trace"]["layers"][0]["gates"]["C"]
    dC = answers["backward"]["trace"]["layers"][0]["dC"]
    marks = _marks(page, "c1")
    assert len(marks) >= 5
    for t, value, title in marks:
        assert value == pytest.approx(C[t][UNIT], rel=1e-12), f"C_{t}"
        assert f"C_{t} (layer 1) unit {UNIT}" in title and f"dL/dC_{t}" in title
    page.keyboard.press("b")
    page.wait_for_function("() => window.rnnExplorer.state.phase === 'backward'")
    for t, value, _ in _marks(page, "c1"):
        assert value == pytest.approx(dC[t][UNIT], rel=1e-12), f"dC_{t}"
    shot(page, "unrolled-lstm-belt", "#view-unrolled")


def test_unrolled_gru_marks_each_recurrent_edge_with_its_update_gate(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer(f"task=sine&cell=gru&hidden_size=4&seed=5&t={T_CURSOR}&unit={UNIT}")
    z = _answers(page, live_server)["forward"]["trace"]["layers"][0]["gates"]["z"]
    marks = _marks(page, "z1")
    assert len(marks) >= 4
    for t, value, title in marks:
        assert value == pytest.approx(z[t][UNIT], rel=1e-12), f"z_{t}"
        assert "(1−z)·n" in title and "z·H" in title


def test_gates_view_puts_each_kind_on_its_own_axis_and_shows_their_gradients_backward(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer(f"task=sine&cell=lstm&hidden_size=4&seed=5&t={T_CURSOR}&unit={UNIT}")
    answers = _answers(page, live_server)
    gates = answers["forward"]["trace"]["layers"][0]["gates"]
    dC = answers["backward"]["trace"]["layers"][0]["dC"]
    figure = "(() => { const e = document.getElementById('view-gates');"
    figure += " return {data: e.data.map(d => [d.name, d.y, d.yaxis]), layout: e.layout}; })()"
    shown = page.evaluate(figure)
    layout = shown["layout"]
    assert layout["yaxis"]["range"] == [0, 1] and layout["yaxis"]["title"]["text"] == "σ gates"
    assert layout["yaxis2"]["range"] == [-1, 1] and layout["yaxis2"]["title"]["text"] == "g (tanh)"
    assert layout["yaxis3"]["title"]["text"] == "C_t"
    series = {name: (y, axis) for name, y, axis in shown["data"]}
    assert series["input i"][1] == "y" and series["candidate g"][1] == "y2"
    assert series["cell C"][1] == "y3"
    np.testing.assert_allclose(series["input i"][0], np.array(gates["i"])[:, UNIT], rtol=1e-12)
    page.keyboard.press("b")
    page.wait_for_function(
        "() => document.getElementById('view-gates').data[0].name.startsWith('dL/d')"
    )
    shown = page.evaluate(figure)
    assert shown["layout"]["yaxis"]["title"]["text"] == "dL/d σ gates"
    series = {name: y for name, y, _ in shown["data"]}
    di = np.array(dC)[:, UNIT] * np.array(gates["g"])[:, UNIT]
    np.testing.assert_allclose(series["dL/di"], di, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(series["dL/dC"], np.array(dC)[:, UNIT], rtol=1e-12)
    shot(page, "gates-lstm-backward", "#view-gates")


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gates_panels_have_room_and_the_veil_covers_every_one_of_them(
    explorer: Callable[..., Page], cell: str
) -> None:
    page = explorer(f"task=sine&cell={cell}&hidden_size=4&t=2")
    boxes = page.evaluate(
        """() => {
          const el = document.getElementById('view-gates');
          const layout = el._fullLayout;
          const panels = Object.keys(layout).filter((k) => /^yaxis\\d*$/.test(k))
            .map((k) => ({ top: layout[k]._offset, height: layout[k]._length }));
          const veil = el.querySelector('.cursor-veil').getBoundingClientRect();
          const plot = el.getBoundingClientRect();
          return { panels, veil: { top: veil.top - plot.top, bottom: veil.bottom - plot.top } };
        }"""
    )
    panels = boxes["panels"]
    assert len(panels) == (3 if cell == "lstm" else 2)
    for panel in panels:
        assert panel["height"] >= 70, panels
    # no value of a step not computed yet shows in any panel
    assert boxes["veil"]["top"] <= min(p["top"] for p in panels) + 0.5
    assert boxes["veil"]["bottom"] >= max(p["top"] + p["height"] for p in panels) - 0.5
    shot(page, f"gates-{cell}-forward", "#view-gates")


def test_pointing_at_a_cell_edge_lights_it_with_its_nodes_and_names_every_digit(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer(f"task=sine&cell=lstm&hidden_size=4&seed=5&t={T_CURSOR}&unit={UNIT}")
    answers = _answers(page, live_server)
    forget = answers["forward"]["trace"]["layers"][0]["gates"]["f"][T_CURSOR][UNIT]
    label = page.locator("#view-cell .cell-label:has(text[data-quantity='f'])")
    label.hover()
    edge = label.get_attribute("data-edge")
    expect(page.locator(f"#view-cell .cell-edge.lit[data-edge='{edge}']")).to_have_count(1)
    ends = [label.get_attribute("data-from"), label.get_attribute("data-to")]
    for node in ends:
        expect(page.locator(f"#view-cell .cell-node.lit[data-node='{node}']")).to_have_count(1)
    assert page.locator("#view-cell .cell-node.lit").count() == 2
    # the hover text holds the full value, the API's
    title = str(label.locator("title").text_content())
    assert title.endswith(f"= {forget!r}") or float(title.rsplit("= ", 1)[1]) == forget
    page.mouse.move(2, 2)
    expect(page.locator("#view-cell .lit")).to_have_count(0)
