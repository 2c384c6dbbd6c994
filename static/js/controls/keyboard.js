// The keyboard shortcuts (listed in the help dialog): they move the cursor, never while the
// user types in a field. A closed select does not change on an arrow key (each change of the
// task or cell rebuilds the model): the arrows step as elsewhere, and the select changes by
// opening it (Space, Enter or Alt+↓) and choosing. Escape leaves any control for the views.

import { goTo, selectUnit, setPhase, step, togglePlay } from "../cursor.js";
import { state } from "../state.js";

const $ = (id) => document.getElementById(id);

function typing(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target instanceof HTMLInputElement && ["range", "radio", "checkbox", "button"].includes(target.type)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA"].includes(target.tagName);
}

const ARROWS = ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"];

/** A select's own keys: those that open it or search its options (the arrows are the page's). */
function selectOwns(event) {
  return event.target instanceof HTMLSelectElement && !ARROWS.includes(event.key);
}

/** The move of a key, or null when the key (or the focused control) is not the page's. */
function moveFor(event) {
  const target = event.target;
  const isRange = target instanceof HTMLInputElement && target.type === "range";
  // a focused tab keeps its sideways arrow keys, a radio its up and down ones, a range all keys
  const ownsSideways = isRange || target.getAttribute?.("role") === "tab";
  const ownsUpDown = isRange || target.getAttribute?.("type") === "radio";
  switch (event.key) {
    case " ":
      return target instanceof HTMLButtonElement ? null : togglePlay; // space presses a focused button
    case "ArrowLeft":
      return ownsSideways ? null : () => step(-1);
    case "ArrowRight":
      return ownsSideways ? null : () => step(1);
    case "Home":
      return isRange ? null : () => goTo(0);
    case "End":
      return isRange ? null : () => goTo((state.trace?.length ?? 1) - 1);
    case "ArrowUp":
      return ownsUpDown ? null : () => selectUnit(state.unit + 1);
    case "ArrowDown":
      return ownsUpDown ? null : () => selectUnit(state.unit - 1);
    default:
      return null;
  }
}

function onKey(event) {
  if (event.key === "Escape" && !document.querySelector("dialog[open]") && event.target !== $("views")) {
    $("views").focus({ preventScroll: true }); // out of a field or control, back to the views
    return;
  }
  if (typing(event.target) || selectOwns(event) || event.ctrlKey || event.metaKey || event.altKey || $("help").open) return;
  if (event.key === "b" || event.key === "B") setPhase(state.phase === "forward" ? "backward" : "forward");
  else if (event.key === "?") $("help").showModal();
  else {
    const move = moveFor(event);
    if (!move) return;
    event.preventDefault();
    move();
  }
}

export function init() {
  document.addEventListener("keydown", onKey);
}
