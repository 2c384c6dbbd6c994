"""The equation card typesets the step's equations with KaTeX, for the cell, pass and layer on show.

The learner opens the explorer with an rnn, an lstm or a gru, forward or backward, at the top
layer or the one below: the card's symbolic lines must all be typeset (no TeX source, no KaTeX
error), and say the design's equations of that cell — checked against the TeX each line was
typeset from, which KaTeX keeps as the MathML annotation.
"""

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

TYPESET = "() => document.querySelectorAll('#view-equation .eq-math .math .katex').length > 0"

# What the card must say, per cell and pass (TeX fragments of docs/design.md's equations).
SAYS = {
    ("rnn", "forward"): ["H_{t-1} W_{hh}", "H_t = \\tanh(A_t)"],
    ("lstm", "forward"): ["C_t = f \\odot C_{t-1} + i \\odot g", "H_t = o \\odot \\tanh(C_t)"],
    ("gru", "forward"): [
        "r \\odot (H_{t-1} W_{hn} + b_{hn})",
        "H_t = (1 - z) \\odot n + z \\odot H_{t-1}",
    ],
    ("rnn", "backward"): ["\\odot (1 - H_t^2)", "\\partial A_{t+1} W_{hh}^{\\top}"],
    ("lstm", "backward"): ["\\partial C_{t+1} \\odot f_{t+1}", "\\odot (1-g^2)"],
    ("gru", "backward"): ["\\partial H_{t+1} \\odot z_{t+1}", "\\odot z(1-z)"],
}


def _math(page: Page) -> list[dict[str, str]]:
    return page.evaluate(
        """() => [...document.querySelectorAll('#view-equation .eq-math .math')].map((el) => ({
            tex: el.dataset.tex || '',
            annotation: el.querySelector('annotation')?.textContent || '',
            error: el.querySelector('.katex-error') ? 'error' : '',
            html: el.querySelector('.katex-html') ? 'drawn' : '',
        }))"""
    )


@pytest.mark.parametrize("phase", ["forward", "backward"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_step_is_typeset_for_each_cell_and_pass(
    explorer: Callable[..., Page], cell: str, phase: str
) -> None:
    page = explorer(f"task=binary_addition&cell={cell}&nonlinearity=tanh&t=2&phase={phase}")
    page.wait_for_function(TYPESET)
    lines = _math(page)
    assert lines
    for line in lines:
        assert line["html"] == "drawn" and not line["error"], line
        assert line["annotation"].strip() == line["tex"].strip(), line
    tex = " ".join(line["tex"] for line in lines)
    for fragment in SAYS[(cell, phase)]:
        assert fragment in tex, (fragment, tex)
    if phase == "forward":
        assert "W_{hq}" in tex  # the head, under the top layer
    else:
        assert "\\partial O_t W_{hq}^{\\top}" in tex  # the top layer's gradient from the output


def test_the_layer_below_takes_its_input_from_below_and_its_gradient_from_above(
    explorer: Callable[..., Page],
) -> None:
    page = explorer("task=binary_addition&cell=lstm&num_layers=2&layer=0&t=2&phase=backward")
    page.wait_for_function(TYPESET)
    tex = " ".join(line["tex"] for line in _math(page))
    assert "W_{hq}" not in tex, tex  # the head is not this layer's
    assert "\\partial A^{(2)}_t W_{xh}^{(2)\\top}" in tex, tex
    page.evaluate("() => window.rnnExplorer.set({ layer: 1, phase: 'forward' })")
    page.wait_for_function(TYPESET)
    tex = " ".join(line["tex"] for line in _math(page))
    assert "A_i \\mid A_f" in tex and "H^{(1)}_t W_{xh}" in tex, tex  # layer 2 reads layer 1's H
    assert "X_t" not in tex, tex
