// The address bar: at start-up the link's state goes into the store (through the table of
// url.js, on top of what its task or preset selects); afterwards the link follows the store.

import { fitToCell, selection } from "./selection.js";
import { set, state, watch } from "./state.js";
import { LINKED_KEYS, readQuery, toQuery } from "./url.js";

// Playing at 60 steps/s must not spend its frame budget on history.replaceState: coalesced.
const WRITE_DELAY = 150;

/** The query string of the state on show; a share link's token stays in it, so the state
 * links keep working for the link's holder. */
export function query() {
  const share = new URLSearchParams(location.search).get("share");
  const q = toQuery(state, state.catalogue, selection);
  return [q, share ? `share=${encodeURIComponent(share)}` : ""].filter(Boolean).join("&");
}

/** The state a query string names, whole (the catalogue must be in the store: it holds the choices). */
export function stateOfQuery(search) {
  const read = readQuery(search, state.catalogue, selection);
  const { choices } = state.catalogue;
  // a field the link gives a cell that does not have it takes the server's default
  read.config = fitToCell(read.config, choices);
  read.compare = { a: fitToCell(read.compare.a, choices), b: fitToCell(read.compare.b, choices) };
  return read;
}

/** Reads the link into the store. */
export function readLink() {
  set(stateOfQuery(location.search));
}

/** From now on every change of a linked key rewrites the link. */
export function followStore() {
  let timer = 0;
  watch([...LINKED_KEYS], () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = 0;
      const q = query();
      history.replaceState(null, "", q ? `${location.pathname}?${q}` : location.pathname);
    }, WRITE_DELAY);
  });
}
