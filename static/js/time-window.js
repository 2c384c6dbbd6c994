// The window of steps the unrolled diagram shows, shared with every time-axis chart of the
// Explore tab so that all of them show the same steps. The diagram decides it (it knows how many
// steps fit its width) before the charts draw; the charts read it as their x range.

/* global Plotly */

const shown = { start: 0, size: 0 };

/** The diagram's window: steps start … start + size − 1. */
export function setWindow(start, size) {
  shown.start = start;
  shown.size = size;
}

/** The x range of the window, [start − 0.5, start + size − 0.5], or the whole of T steps. */
export function windowRange(T) {
  const size = shown.size > 0 ? Math.min(shown.size, T) : T;
  const start = Math.max(0, Math.min(shown.start, T - size));
  return [start - 0.5, start + size - 0.5];
}

/** Moves a drawn chart's x axis to the window when it shows other steps. */
export function followWindow(el, T) {
  const xa = el._fullLayout?.xaxis;
  if (!xa) return;
  const [from, to] = windowRange(T);
  if (xa.range?.[0] !== from || xa.range?.[1] !== to) Plotly.relayout(el, { "xaxis.range": [from, to], "xaxis.autorange": false });
}
