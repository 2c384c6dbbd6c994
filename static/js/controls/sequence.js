// The sequence of the link's batch on show: one option per sequence (with its length when the
// link gives lengths); choosing one writes state.sequence, and the page shows that sequence to
// its own end.

import { set } from "../state.js";

const $ = (id) => document.getElementById(id);

export function init() {
  $("sequence-shown").addEventListener("change", (event) => set({ sequence: Number(event.target.value) }));
}

/** Shows the picker for a batch of more than one sequence, its options those of the batch. */
export function update(current) {
  const batch = current.linkInputs;
  const pick = $("sequence-pick");
  pick.hidden = !batch || batch.length < 2;
  if (pick.hidden) return;
  const select = $("sequence-shown");
  const T = batch[0].length;
  const labels = batch.map((_, b) => `${b} · ${current.linkLengths ? current.linkLengths[b] : T} of ${T} steps`);
  if (select.options.length !== labels.length) {
    select.replaceChildren(...labels.map((label, b) => new Option(label, String(b))));
  }
  select.value = String(current.sequence);
}
