// The decision boundary of a one-step classifier: the predicted class (the argmax of the
// server's outputs) over a grid of the 2-D input plane, the task's points on top, the sample on
// show marked. Shown for the spiral only; it follows state.decision (decision-session.js).

import { COLORS, axis, baseLayout, draw, fmt, showEmpty } from "./common.js";

let el = null;
let card = null;
let drawnKey = null;

export function init(element) {
  el = element;
  card = element.closest(".card");
  showEmpty(el, "The predicted class over the input plane appears here.");
}

/** A stepped colour scale: class k of K gets COLORS.series[k], pale, over [k, k + 1) of 0…K. */
function classScale(K) {
  const scale = [];
  for (let k = 0; k < K; k++) {
    const colour = COLORS.series[k % COLORS.series.length];
    scale.push([k / K, colour], [(k + 1) / K, colour]);
  }
  return scale;
}

export function update(state, trace) {
  const shown = state.task === "spiral";
  if (card) card.hidden = !shown;
  if (!shown) return;
  const decision = state.decision;
  const sample = trace && trace.D === 2 && trace.T === 1 ? trace.inputs[0] : null;
  const key = decision ? `${decision.key}|${sample}` : "";
  if (key === drawnKey) return;
  drawnKey = key;
  if (!decision) {
    showEmpty(el, "Computing the predicted class over the input plane…");
    return;
  }
  const K = decision.classes;
  const data = [
    {
      type: "heatmap", x: decision.x, y: decision.y, z: decision.z, zmin: -0.5, zmax: K - 0.5,
      colorscale: classScale(K), opacity: 0.35, showscale: false, zsmooth: false,
      hovertemplate: "(%{x:.2f}, %{y:.2f}): class %{z}<extra></extra>",
    },
  ];
  for (let k = 0; k < K; k++) {
    const index = decision.points.labels.map((label, i) => (label === k ? i : -1)).filter((i) => i >= 0);
    data.push({
      type: "scatter", mode: "markers", name: `class ${k}`,
      x: index.map((i) => decision.points.x[i]), y: index.map((i) => decision.points.y[i]),
      marker: { size: 5, color: COLORS.series[k % COLORS.series.length], line: { color: COLORS.ink, width: 0.5 } },
      hovertemplate: `class ${k}: (%{x:.2f}, %{y:.2f})<extra></extra>`,
    });
  }
  if (sample) {
    data.push({
      type: "scatter", mode: "markers", name: "sample on show", x: [sample[0]], y: [sample[1]],
      marker: { symbol: "star", size: 14, color: COLORS.cursor, line: { color: COLORS.ink, width: 1 } },
      hovertemplate: "the sample on show: (%{x:.2f}, %{y:.2f})<extra></extra>",
    });
  }
  draw(el, data, baseLayout({
    margin: { l: 40, r: 12, t: 8, b: 32 },
    xaxis: axis("x₁", { range: [decision.x[0], decision.x[decision.x.length - 1]], showgrid: false, constrain: "domain" }),
    yaxis: axis("x₂", { range: [decision.y[0], decision.y[decision.y.length - 1]], showgrid: false, scaleanchor: "x" }),
  }));
  el.dataset.weightsVersion = String(decision.weightsVersion);
  el.dataset.modelId = decision.modelId;
  const caption = document.getElementById("decision-accuracy");
  if (caption) {
    caption.textContent = `Shaded: the class the model predicts at each point of the plane. Dots: ${decision.points.x.length} points of the task, ${fmt(100 * decision.accuracy, 1)} % classified right; ★ the sample on show. Weights version ${decision.weightsVersion}.`;
  }
}
