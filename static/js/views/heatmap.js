// Hidden state H_t as a units × time heatmap that fills as the cursor advances (on the backward
// pass: dL/dH_t, filling right to left). The full z is drawn once per trace; stepping only moves
// the cursor line and the veil over the steps not yet computed. A padded sequence's steps after
// its own end are left blank.

import { COLORS, DIVERGING, axis, baseLayout, draw, lessonPoint, maxAbs, placeCursor, range, showEmpty, transpose, traceKey } from "./common.js";
import { followWindow, windowRange } from "../time-window.js";

let el = null;
let drawnKey = "";
let onPick = () => {};

/** pick(t, unit): a click on a cell moves the cursor there and selects that unit. */
export function init(element, pick) {
  el = element;
  onPick = pick;
  showEmpty(el, "The hidden state of every unit at every step appears here.");
}

/** The selected unit's row, and the row a lesson step points at (drawn to stand out). */
function shapes(state, pointedUnit) {
  const row = (unit, line) => ({ type: "rect", xref: "paper", yref: "y", x0: 0, x1: 1, y0: unit - 0.5, y1: unit + 0.5, line, fillcolor: "rgba(0,0,0,0)" });
  const drawn = [row(state.unit, { color: COLORS.ink, width: 1 })];
  if (pointedUnit !== null) drawn.push(row(pointedUnit, { color: COLORS.W_hh, width: 3 }));
  return drawn;
}

export function update(state, trace) {
  if (!trace) return;
  const backward = state.phase === "backward" && trace.hasBackward;
  const unit = lessonPoint(state, "heatmap")?.unit;
  const pointedUnit = Number.isInteger(unit) && unit < trace.H ? unit : null;
  const key = `${traceKey(trace)}|${state.layer}|${backward}|${state.unit}|${pointedUnit}`;
  if (key === drawnKey) {
    followWindow(el, trace.T);
    placeCursor(el, state.t, trace.T, state.phase);
    return;
  }
  drawnKey = key;
  const layer = trace.layers[state.layer] || trace.layers[0];
  // the steps after a padded sequence's own end are gaps (padding), never values
  const z = transpose(backward ? layer.dH : layer.H).map((row) => row.map((v, t) => (t < trace.length ? v : null)));
  const m = maxAbs(z);
  const name = backward ? "dL/dH" : "H";
  // the card says what the cells show: the quantity switches with the pass
  const heading = el.closest("article")?.querySelector("h2");
  if (heading) heading.innerHTML = backward ? "Gradient dL/dH<sub>t</sub>" : "Hidden state H<sub>t</sub>";
  draw(el, [{
    type: "heatmap", z, x: range(trace.T), y: range(trace.H), zmin: -m, zmax: m, zmid: 0,
    colorscale: DIVERGING,
    colorbar: {
      thickness: 10, len: 0.9, tickfont: { size: 12 }, outlinewidth: 0,
      title: { text: backward ? "dL/dH<sub>t</sub>[unit]" : "H<sub>t</sub>[unit]", side: "right", font: { size: 12 } },
    },
    hovertemplate: `${name}<sub>t=%{x}</sub>[unit %{y}] = %{z:.4f}<extra></extra>`,
  }], baseLayout({
    xaxis: axis("timestep t", { showgrid: false, range: windowRange(trace.T) }),
    yaxis: axis("hidden unit", { showgrid: false, autorange: "reversed" }),
    shapes: shapes(state, pointedUnit),
  }));
  // for the lesson panel and the tests: the row pointed at is drawn
  if (pointedUnit === null) delete el.dataset.pointedUnit;
  else el.dataset.pointedUnit = String(pointedUnit);
  placeCursor(el, state.t, trace.T, state.phase);
  if (!el.dataset.clickable) {
    el.dataset.clickable = "1";
    el.on("plotly_click", (event) => onPick(Math.round(event.points[0].x), Math.round(event.points[0].y)));
  }
}
