// The "Check the numbers" button of the equation card: it shows or hides the lines that
// recompute the server's numbers in the page (off by default; the link carries it as `check`).

import { set, state } from "../state.js";

const $ = (id) => document.getElementById(id);

export function init() {
  $("check-toggle").addEventListener("click", () => set({ check: !state.check }));
}

/** Keys: check. */
export function update(current) {
  $("check-toggle").setAttribute("aria-pressed", current.check ? "true" : "false");
}
