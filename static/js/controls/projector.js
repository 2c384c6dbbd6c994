// Projector mode: large type and one view a row, for a room reading a 1024×768 or 1280×720
// screen from afar. Chosen by the viewport (PROJECTOR_SCREEN, a media query) unless the link's
// `projector` says otherwise ("1" on, "0" off); the header's Projector button flips it. The mode
// is the `projector` class of the root element (explorer.css) and the large figure text of the
// Plotly charts (views/common.js fitFonts).

import { set, state } from "../state.js";
import { refitCharts } from "../views/common.js";

/** A projector-sized screen: a wide but short viewport (1024×768, 1280×720; not 1280×800). */
export const PROJECTOR_SCREEN = "(min-width: 900px) and (max-height: 780px)";

const $ = (id) => document.getElementById(id);
let screen = null;
let shown = null; // the mode on show

/** Whether the page is in projector mode: the link's choice, else the viewport's. */
export function projectorOn(current) {
  if (current.projector === "1") return true;
  if (current.projector === "0") return false;
  return Boolean(screen?.matches);
}

let fold = () => {};

/** foldSidebar(folded): the sidebar's form folded away above the views (controls/form.js). */
export function init(foldSidebar) {
  fold = foldSidebar;
  screen = window.matchMedia(PROJECTOR_SCREEN);
  $("projector-toggle").addEventListener("click", () => set({ projector: projectorOn(state) ? "0" : "1" }));
  screen.addEventListener("change", () => update(state));
  update(state);
}

/** Keys: projector (and the viewport's size). */
export function update(current) {
  const on = projectorOn(current);
  $("projector-toggle").setAttribute("aria-pressed", on ? "true" : "false");
  if (on === shown) return;
  shown = on;
  document.documentElement.classList.toggle("projector", on);
  // the form sits above the views: folded until asked for (and back at its side on a wide screen)
  if (on) fold(true);
  else if (!window.matchMedia("(max-width: 1100px)").matches) fold(false);
  refitCharts(on);
}
