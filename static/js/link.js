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

/** A (T, D) array of finite numbers, or null. */
function rowsOf(value) {
  const rows = Array.isArray(value) ? value : [];
  const D = Array.isArray(rows[0]) ? rows[0].length : 0;
  const regular = rows.length > 0 && D > 0 && rows.every((row) => Array.isArray(row) && row.length === D && row.every(Number.isFinite));
  return regular ? rows : null;
}

/**
 * The inputs a link's fragment carries (`#inputs=[[x_0], [x_1], …]`, (T, D) numbers, or a batch
 * (B, T, D) of sequences padded to one T, with `&lengths=[l_0, …]` (B,) their real steps; the
 * Python client's `link` writes it) as {inputs (B, T, D), lengths (B,) or null}, or null; a
 * fragment that is not such an array, or beyond the server's limits, is an Error that says why.
 * The fragment never reaches the server.
 */
export function fragmentInputs(hash, limits) {
  const fragment = new URLSearchParams(hash.replace(/^#/, ""));
  const raw = fragment.get("inputs");
  if (raw === null) return null;
  let inputs;
  try {
    inputs = JSON.parse(raw);
  } catch {
    throw new Error("The link's inputs are not a JSON array.");
  }
  const single = rowsOf(inputs);
  const batch = single ? [single] : Array.isArray(inputs) && inputs.length ? inputs.map(rowsOf) : [null];
  const [T, D] = [batch[0]?.length, batch[0]?.[0]?.length];
  if (!batch.every((rows) => rows && rows.length === T && rows[0].length === D)) {
    throw new Error("The link's inputs must be a (T, D) array of finite numbers, or a (B, T, D) batch of them.");
  }
  if (batch.length > limits.max_batch) throw new Error(`The link's inputs have ${batch.length} sequences; this server takes at most ${limits.max_batch}.`);
  if (T > limits.max_steps) throw new Error(`The link's inputs have ${T} steps; this server takes at most ${limits.max_steps}.`);
  if (D > limits.max_input_size) throw new Error(`The link's inputs have ${D} features; this server takes at most ${limits.max_input_size}.`);
  return { inputs: batch, lengths: fragmentLengths(fragment.get("lengths"), batch.length, T) };
}

/** The fragment's lengths (B,), each a whole number in 1…T, or null when it gives none. */
function fragmentLengths(raw, B, T) {
  if (raw === null) return null;
  let lengths;
  try {
    lengths = JSON.parse(raw);
  } catch {
    throw new Error("The link's lengths are not a JSON array.");
  }
  if (!Array.isArray(lengths) || lengths.length !== B) throw new Error(`The link's lengths must be one per sequence: ${B} of them.`);
  const bad = lengths.findIndex((l) => !Number.isInteger(l) || l < 1 || l > T);
  if (bad >= 0) throw new Error(`The link's lengths[${bad}] = ${lengths[bad]}: a length is a whole number of steps in 1…T = ${T}.`);
  return lengths;
}

/** Reads the link into the store. */
export function readLink() {
  let batch = null;
  let status = "";
  try {
    batch = fragmentInputs(location.hash, state.catalogue.choices.limits);
  } catch (error) {
    status = `${error.message} The task's sample is shown instead.`;
  }
  const link = { linkInputs: batch?.inputs ?? null, linkLengths: batch?.lengths ?? null, sequence: 0 };
  set({ ...stateOfQuery(location.search), ...link, ...(status ? { status } : {}) });
}

/** From now on every change of a linked key rewrites the link. */
export function followStore() {
  let timer = 0;
  watch([...LINKED_KEYS], () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = 0;
      const q = query();
      // the fragment's inputs stay while the link's model shows them
      const hash = state.linkInputs && state.sample?.fromLink ? location.hash : "";
      history.replaceState(null, "", (q ? `${location.pathname}?${q}` : location.pathname) + hash);
    }, WRITE_DELAY);
  });
}
