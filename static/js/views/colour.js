// The page's two colour scales, one source for every view (Plotly heatmaps take the stops, the SVG
// views call the functions): signed values on one diverging scale, magnitudes and probabilities on
// one sequential scale. Both stay distinguishable in the common colour-vision deficiencies
// (tests/browser/test_colour_scales.py simulates them).

/** Signed values: blue (negative) – white (0) – orange (positive); a view maps ±max|v| to the ends. */
export const DIVERGING = [
  [0, "#2b5c8a"],
  [0.25, "#8db3d6"],
  [0.5, "#f7f7f7"],
  [0.75, "#f3b36b"],
  [1, "#b35806"],
];

const VIRIDIS = ["#440154", "#482878", "#3e4a89", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"];

/** Magnitudes (norms, often on a log axis) and probabilities: viridis, dark (low) to yellow (high). */
export const SEQUENTIAL = VIRIDIS.map((colour, k) => [k / (VIRIDIS.length - 1), colour]);

function rgb(hex) {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** The colour at u ∈ [0, 1] of a scale's stops (u outside is clamped, NaN is the middle). */
export function colourAt(stops, u) {
  const v = Math.max(0, Math.min(1, Number.isFinite(u) ? u : 0.5));
  for (let k = 1; k < stops.length; k++) {
    if (v <= stops[k][0]) {
      const [p0, c0] = stops[k - 1];
      const [p1, c1] = stops[k];
      const w = (v - p0) / (p1 - p0 || 1);
      const a = rgb(c0);
      const b = rgb(c1);
      return `rgb(${a.map((x, i) => Math.round(x + (b[i] - x) * w)).join(",")})`;
    }
  }
  return stops[stops.length - 1][1];
}

/** A signed value v on the diverging scale whose ends are ±m. */
export const diverging = (v, m) => colourAt(DIVERGING, 0.5 + v / (2 * (m || 1)));

/** A magnitude v on the sequential scale from lo to hi. */
export const sequential = (v, lo, hi) => colourAt(SEQUENTIAL, (v - lo) / (hi - lo || 1));
