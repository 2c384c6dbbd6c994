// The gated cells in the unrolled network. LSTM: the cell state C_t of each layer as its own
// row above H_t, a belt C_{t−1} → ⊙f_t → + i_t⊙g_t → C_t, and C_t → tanh, ⊙o_t → H_t. GRU: a
// mixing mark on each recurrent edge, H_t = (1 − z)⊙n_t + z⊙H_{t−1}, with the live z in its
// title. unrolled.js calls build once per structure and paint on every step.

import { fmt } from "./common.js";
import { diverging } from "./colour.js";

/**
 * Adds the gated marks to a built window. ctx: {make, g (the geometry: x(k), y(row), slot),
 * edges, nodes (SVG groups), trace, windowSize, fromBefore, left}. Returns what paint needs.
 */
export function buildGated(ctx) {
  const { trace } = ctx;
  if (trace.cell === "lstm") return buildBelt(ctx);
  if (trace.cell === "gru") return buildMixes(ctx);
  return null;
}

function buildBelt({ make, g, edges, nodes, trace, windowSize, fromBefore, left }) {
  const rows = [];
  const gap = g.gap ?? g.y(1) - g.y(2);
  for (let l = 0; l < trace.L; l++) {
    const y = g.y(l + 1) - gap * 0.5;
    const cells = [];
    for (let k = 0; k < windowSize; k++) {
      const cx = g.x(k) - g.slot * 0.3;
      const from = k > 0 ? cx - g.slot + 8 : fromBefore ? left : null;
      if (from !== null) {
        make("line", { x1: from, y1: y, x2: cx - 8, y2: y, class: "belt" }, edges);
        mark(make, edges, cx - g.slot * 0.55, y, "⊙", "⊙ f_t: the forget gate scales C_{t−1}");
        mark(make, edges, cx - g.slot * 0.3, y, "+", "+ i_t ⊙ g_t: the input gate adds the candidate");
      }
      // C_t → tanh, ⊙ o_t → H_t
      make("line", { x1: cx + 4, y1: y + 7, x2: g.x(k) - 9, y2: g.y(l + 1) - 9, class: "belt" }, edges);
      // near C_t, clear of the W_hh label that runs just above H_t
      mark(make, edges, cx + (g.x(k) - cx) * 0.35, y + (g.y(l + 1) - y) * 0.3, "⊙", "H_t = o_t ⊙ tanh(C_t)");
      const node = make("rect", { x: cx - 7, y: y - 7, width: 14, height: 14, rx: 3, class: "node cell-state", "data-row": `c${l + 1}` }, nodes);
      make("title", {}, node);
      cells.push(node);
    }
    const name = make("text", { x: 8, y: y + 4, class: "row-name" }, nodes);
    name.textContent = trace.L > 1 ? `C_t(${l + 1})` : "C_t";
    rows.push(cells);
  }
  return { kind: "lstm", rows };
}

function mark(make, parent, x, y, text, title) {
  const group = make("g", { class: "belt-mark" }, parent);
  make("title", {}, group).textContent = title;
  make("circle", { cx: x, cy: y, r: 5 }, group);
  make("text", { x, y: y + 3, "text-anchor": "middle" }, group).textContent = text;
  return group;
}

function buildMixes({ make, g, edges, trace, windowSize, fromBefore, left }) {
  const rows = [];
  for (let l = 0; l < trace.L; l++) {
    const marks = [];
    for (let k = 0; k < windowSize; k++) {
      if (k === 0 && !fromBefore) {
        marks.push(null);
        continue;
      }
      const x0 = k > 0 ? g.x(k - 1) : left;
      const x = (x0 + g.x(k)) / 2;
      const group = mark(make, edges, x, g.y(l + 1) + 9, "z", "");
      group.classList.add("mix");
      group.dataset.row = `z${l + 1}`;
      marks.push(group);
    }
    rows.push(marks);
  }
  return { kind: "gru", rows };
}

/** Colours and titles for the window starting at `start`: C_t[unit] forward, dC_t[unit] backward. */
export function paintGated(parts, trace, state, start, backward) {
  if (!parts) return;
  parts.rows.forEach((row, l) => {
    const layer = trace.layers[l];
    const unit = l === state.layer ? Math.min(state.unit, trace.H - 1) : 0;
    if (parts.kind === "lstm") {
      const C = layer.gates.C;
      const values = backward && layer.dC ? layer.dC : C;
      let max = 0;
      for (const step of values) max = Math.max(max, Math.abs(step[unit]));
      row.forEach((node, k) => {
        const t = start + k;
        node.setAttribute("data-t", String(t));
        node.setAttribute("fill", diverging(values[t][unit], max));
        node.setAttribute("data-value", String(values[t][unit]));
        const lines = [`C_${t} (layer ${l + 1}) unit ${unit}: ${fmt(C[t][unit])}`, `f = ${fmt(layer.gates.f[t][unit])}, i⊙g = ${fmt(layer.gates.i[t][unit] * layer.gates.g[t][unit])}`];
        if (layer.dC) lines.push(`dL/dC_${t} = ${fmt(layer.dC[t][unit])}`);
        node.firstChild.textContent = lines.join("\n");
      });
    } else {
      row.forEach((group, k) => {
        if (!group) return;
        const t = start + k;
        group.dataset.t = String(t);
        const z = layer.gates.z[t][unit];
        group.firstChild.textContent = `H_${t} = (1−z)·n_${t} + z·H_${t - 1}; z_${t}[unit ${unit}] = ${fmt(z)} (layer ${l + 1})`;
        group.dataset.value = String(z);
      });
    }
  });
}
