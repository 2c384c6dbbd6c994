// What the Plotly views share: colours, the base layout, the cursor shapes and small helpers.

/* global Plotly */

export const COLORS = {
  ink: "#1d2433",
  soft: "#5a6272",
  grid: "#eceff3",
  W_xh: "#0072b2",
  W_hh: "#d55e00",
  W_hq: "#009e73",
  target: "#1d2433",
  cursor: "#e69f00",
  // the matrices' hues darkened for text (4.5:1 on white)
  text: { W_xh: "#0072b2", W_hh: "#a64500", W_hq: "#00775a" },
  series: ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"],
};

export { DIVERGING, SEQUENTIAL } from "./colour.js";

// Every chart's config, in this one place: the mode bar offers what a learner uses (a PNG of the
// chart, and reset after a drag-zoom) and nothing that uploads to a cloud. On a touch or narrow
// screen explorer.css hides it (it would sit over the chart).
export const PLOT_CONFIG = {
  displaylogo: false,
  responsive: true,
  modeBarButtons: [["toImage", "resetScale2d"]],
  toImageButtonOptions: { format: "png", scale: 2 },
};

// Projector mode (controls/projector.js): every text of a chart at least this size, in px.
const LARGE_TYPE = 16;
const FONT_KEYS = new Set(["font", "tickfont", "titlefont", "textfont", "insidetextfont", "outsidetextfont"]);
const normalSize = new WeakMap(); // a font object → its size as the view gave it
let largeType = false;

/**
 * Sets, in place, every font size in a layout or its traces for projector mode (`large`: at
 * least LARGE_TYPE px, a third larger) or back to the view's own sizes.
 */
function fitFonts(node, large) {
  if (Array.isArray(node)) {
    // traces, annotations, shapes: objects; an array of numbers (the data) has no fonts
    if (node.length && typeof node[0] === "object" && !Array.isArray(node[0])) for (const item of node) fitFonts(item, large);
    return;
  }
  if (!node || typeof node !== "object" || ArrayBuffer.isView(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if (!value || typeof value !== "object") continue;
    if (FONT_KEYS.has(key) && !Array.isArray(value)) {
      if (!normalSize.has(value)) normalSize.set(value, value.size);
      const size = normalSize.get(value) ?? 12;
      if (large) value.size = Math.max(LARGE_TYPE, Math.round((size * 4) / 3));
      else if (normalSize.get(value) === undefined) delete value.size;
      else value.size = size;
    }
    fitFonts(value, large);
  }
}

/** Projector mode on or off: every chart on the page re-laid with its type size. */
export function refitCharts(large) {
  largeType = large;
  for (const el of document.querySelectorAll(".js-plotly-plot")) {
    if (!el.layout) continue;
    fitFonts(el.layout, large);
    fitFonts(el.data, large);
    Plotly.react(el, el.data, el.layout, PLOT_CONFIG).then(oneTabStop);
  }
}

export function baseLayout(extra = {}) {
  return {
    margin: { l: 44, r: 12, t: 6, b: 32 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 12, color: COLORS.ink },
    showlegend: false,
    hoverlabel: { font: { size: 12 } },
    ...extra,
  };
}

export function axis(title, extra = {}) {
  return {
    title: title ? { text: title, font: { size: 12, color: COLORS.soft }, standoff: 4 } : undefined,
    gridcolor: COLORS.grid,
    zeroline: false,
    linecolor: "#c9ced8",
    tickfont: { size: 12, color: COLORS.soft },
    automargin: true,
    // no per-label overflow check: it measures every tick label on each move of the window
    ticklabeloverflow: "allow",
    ...extra,
  };
}

/**
 * The shared cursor drawn over a plot as plain DOM (not as Plotly shapes): a line at step t, an
 * optional band (around it, or any span), and a veil over the steps not yet computed (after t on the forward
 * pass, before t on the backward pass). Moving it sets a few style properties from the plot's
 * x axis — no Plotly call — which keeps a timestep step far below a frame's budget.
 */
export function placeCursor(el, t, T, phase, { veil = true, band = 0, line: showLine = true } = {}) {
  el.cursorArgs = [t, T, phase, { veil, band, line: showLine }];
  const layout = el._fullLayout;
  const xa = layout?.xaxis;
  const ya = layout?.yaxis;
  if (!xa || !ya || typeof xa.l2p !== "function") return;
  let box = el.querySelector(":scope > .cursor-overlay");
  if (box) box.hidden = false;
  else {
    box = document.createElement("div");
    box.className = "cursor-overlay";
    box.setAttribute("aria-hidden", "true");
    for (const part of ["veil", "band", "line"]) {
      const div = document.createElement("div");
      div.className = `cursor-${part}`;
      box.append(div);
    }
    // the veil hides the values of the steps not computed yet, and says so
    const veilLabel = document.createElement("span");
    veilLabel.className = "cursor-veil-label";
    veilLabel.textContent = "not computed yet";
    box.querySelector(".cursor-veil").append(veilLabel);
    el.append(box);
    el.on?.("plotly_afterplot", () => {
      if (el.cursorArgs) placeCursor(el, ...el.cursorArgs);
    });
  }
  const left = xa._offset;
  const right = xa._offset + xa._length;
  const x = (v) => Math.max(left, Math.min(right, xa._offset + xa.l2p(v)));
  // over every panel stacked on the x axis (the gates view has up to three y axes)
  const panels = Object.keys(layout).filter((k) => /^yaxis\d*$/.test(k) && typeof layout[k]?._offset === "number").map((k) => layout[k]);
  const top = Math.min(...panels.map((a) => a._offset));
  const bottom = Math.max(...panels.map((a) => a._offset + a._length));
  box.style.top = `${top}px`;
  box.style.height = `${bottom - top}px`;
  const [line, bandEl, veilEl] = [box.querySelector(".cursor-line"), box.querySelector(".cursor-band"), box.querySelector(".cursor-veil")];
  line.hidden = !showLine;
  line.style.transform = `translateX(${x(t) - 1}px)`;
  if (band) {
    // a half-width around t, or an explicit [from, to]
    const [from, to] = Array.isArray(band) ? band : [t - band, t + band];
    const x0 = x(from);
    bandEl.style.transform = `translateX(${x0}px)`;
    bandEl.style.width = `${x(to) - x0}px`;
  }
  bandEl.hidden = !band;
  const [v0, v1] = phase === "forward" ? [x(t + 0.5), x(T - 0.5)] : [x(-0.5), x(t - 0.5)];
  veilEl.hidden = !veil || v1 - v0 < 1;
  if (!veilEl.hidden) {
    veilEl.style.transform = `translateX(${v0}px)`;
    veilEl.style.width = `${v1 - v0}px`;
    // the words only where they fit whole; the hatch alone says it on a narrow veil
    veilEl.firstElementChild.hidden = v1 - v0 < 120;
  }
}

/** Hides the cursor of a plot that now shows no timesteps (a many-to-one model's answer). */
export function hideCursor(el) {
  el.cursorArgs = null;
  const box = el.querySelector(":scope > .cursor-overlay");
  if (box) box.hidden = true;
}

/** Replaces an element's content with a short explanation (no plot to draw). */
export function showEmpty(el, message) {
  if (el.dataset.plotted) {
    Plotly.purge(el);
    delete el.dataset.plotted;
  }
  el.replaceChildren();
  const p = document.createElement("p");
  p.className = "empty";
  p.textContent = message;
  el.append(p);
}

/** Creates or updates the figure in place (Plotly.react diffs; never a full re-plot). */
export function draw(el, data, layout) {
  if (!el.dataset.plotted) {
    el.replaceChildren();
    el.dataset.plotted = "1";
  }
  if (largeType) {
    // only in projector mode: otherwise the view's layout goes to Plotly untouched
    if (!layout.font) layout.font = {};
    fitFonts(layout, true);
    fitFonts(data, true);
  }
  return Plotly.react(el, data, layout, PLOT_CONFIG).then(oneTabStop);
}

/**
 * A chart is one tab stop: its PNG button. Reset undoes a drag-zoom, which only a pointer
 * makes, so it stays a click target but leaves the tab order. Returns the chart.
 */
function oneTabStop(el) {
  for (const button of el.querySelectorAll(".modebar-btn")) {
    if (button.dataset.val === "reset" || button.dataset.attr === "zoom") button.tabIndex = -1;
  }
  return el;
}

export function transpose(rows) {
  if (rows.length === 0) return [];
  const cols = rows[0].length;
  const out = new Array(cols);
  for (let j = 0; j < cols; j++) {
    const col = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) col[i] = rows[i][j];
    out[j] = col;
  }
  return out;
}

export function range(n) {
  return Array.from({ length: n }, (_, i) => i);
}

export function maxAbs(rows) {
  let m = 0;
  for (const row of rows) for (const v of row) if (Math.abs(v) > m) m = Math.abs(v);
  return m || 1;
}

export function fmt(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const a = Math.abs(value);
  if (a !== 0 && (a < 1e-3 || a >= 1e4)) return value.toExponential(2);
  return value.toFixed(digits);
}

/** A row of a trace (a typed array from a binary answer, an Array from JSON) or a number → a row. */
export const asRow = (value) => (Array.isArray(value) || ArrayBuffer.isView(value) ? value : [value]);

export function norm(vector) {
  let s = 0;
  for (const v of vector) s += v * v;
  return Math.sqrt(s);
}

/** A trace's identity (every new pass is a new trace): views re-draw their data when it changes. */
export function traceKey(trace) {
  return trace ? String(trace.id) : "";
}

/** The part of view `name` the lesson step on show points at ({view, part, unit}), or null. */
export function lessonPoint(state, name) {
  const point = state.lesson && state.lessonText?.steps[state.lessonStep]?.setup.point;
  return point && point.view === name ? point : null;
}
