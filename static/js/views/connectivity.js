// Which inputs matter: ‖∂Y_t/∂X_s‖_F for every input step s, as bars under the unrolled network,
// for the cursor's output step t (the store's `connectivity`), with a sentence saying how far
// back the output looks.

import { COLORS, axis, baseLayout, draw, placeCursor, range, showEmpty } from "./common.js";
import { followWindow, windowRange } from "../time-window.js";

let el = null;
let reachEl = null;
let drawnKey = "";

/** element: the plot; reachElement: where the sentence on how far back the output looks goes. */
export function init(element, reachElement) {
  el = element;
  reachEl = reachElement;
  showEmpty(el, "How much the output depends on each input appears here.");
}

function sentence(answer) {
  const steps = answer.t + 1;
  const k = answer.reach_90;
  if (k === 0) return `O_${answer.t} does not depend on any input.`;
  const span = k === 1 ? `the last step (x_${answer.t})` : `the last ${k} steps (x_${answer.t - k + 1} … x_${answer.t})`;
  return `90% of the dependence of O_${answer.t} on its ${steps} inputs (Σ_s ‖∂O_t/∂x_s‖²) lies in ${span}.`;
}

export function update(state, trace) {
  if (!trace) return;
  const answer = state.connectivity;
  if (!answer || answer.traceId !== trace.id) return; // the answer for this trace is on its way
  const key = `${trace.id}|${answer.t}|${answer.error ?? ""}`;
  if (key !== drawnKey) {
    drawnKey = key;
    if (answer.error) {
      reachEl.textContent = "";
      showEmpty(el, `No connectivity: ${answer.error}`);
      return;
    }
    reachEl.textContent = sentence(answer);
    const steps = range(trace.T);
    draw(el, [{
      // bars drawn as one filled step path: the same picture as 1000 bar shapes, which Plotly
      // would lay out again on every move of the window
      type: "scatter", mode: "lines", x: steps, y: answer.norms, name: "‖∂O_t/∂x_s‖",
      line: { shape: "hvh", color: COLORS.W_xh, width: 1 }, fill: "tozeroy", fillcolor: COLORS.W_xh, hovertemplate: `s=%{x}: ‖∂O<sub>${answer.t}</sub>/∂x<sub>s</sub>‖ = %{y:.3e}<extra></extra>`,
    }], baseLayout({
      margin: { l: 48, r: 12, t: 22, b: 30 },
      title: { text: `how much O_${answer.t} depends on x_s: ‖∂O_t/∂x_s‖`, font: { size: 12 }, x: 0.01, y: 0.97 },
      xaxis: axis("input step s", { range: windowRange(trace.T) }),
      yaxis: axis("‖∂O_t/∂x_s‖", { rangemode: "tozero" }),
    }));
    el.dataset.connectivityT = String(answer.t);
  }
  if (!answer.error) {
    followWindow(el, trace.T);
    placeCursor(el, state.t, trace.T, "forward", { veil: false });
  }
}
