// How the page names the step on show, the same words on every control and view.

/** The cursor's step among the sequence's T steps: stepLabel(3, 8) → "t = 3 of 0…7". */
export function stepLabel(t, T) {
  return `t = ${t} of 0…${Math.max(0, T - 1)}`;
}
