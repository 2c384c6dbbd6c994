// What the comparison's numbers say, in words and series: the outputs against the targets, which
// gradient norms underflowed, and a sentence on the losses and on how far back the gradient reaches.

import { fmt, range } from "./common.js";

/** A norm the log axis cannot show: 0 (it underflowed) or not a number. */
export function underflowed(value) {
  return !(value > 0);
}

const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };

/** 10^k with k the nearest integer exponent of `value` > 0, written 10⁻⁶. */
export function powerOfTen(value) {
  const k = Math.round(Math.log10(value));
  return `10${String(k).split("").map((c) => SUPERSCRIPT[c]).join("")}`;
}

/** trace → {x, y, truth, name, truthName, xTitle, yTitle}: output 0 against the target per step
 * (the last step only for a many-to-one model); a softmax head's probability of the target class. */
export function outputSeries(trace) {
  const T = trace.T;
  const steps = trace.sequence ? range(T) : [T - 1];
  const outputs = trace.outputs;
  const targets = trace.sequence ? trace.targets : [trace.targets];
  const first = (row) => (Array.isArray(row) ? row[0] : row);
  if (trace.config.head === "softmax") {
    return {
      x: steps, y: steps.map((_, k) => outputs[k][first(targets[k])]), truth: steps.map(() => 1),
      name: "p(target)", truthName: "target (p = 1)", xTitle: "timestep t", yTitle: "p(target class)",
    };
  }
  return {
    x: steps, y: steps.map((_, k) => outputs[k][0]), truth: steps.map((_, k) => first(targets[k])),
    name: "output", truthName: "target", xTitle: "timestep t", yTitle: "output 0",
  };
}

/** ‖dL/dH_0‖ / ‖dL/dH_T−1‖ of a trace's first layer: 0 when the start's norm underflowed. */
function reach(trace) {
  const n = trace.layers[0].dH_norm;
  if (underflowed(n[0])) return 0;
  return n[n.length - 1] > 0 ? n[0] / n[n.length - 1] : null;
}

function reachText(ratio) {
  return ratio === 0 ? "underflows to 0" : `is ${powerOfTen(ratio)} of its value at t = T−1`;
}

/** One sentence from the pair's numbers: each side's last loss after its steps, and which side's
 * gradient fails to reach the start of the sequence (below 10⁻² of the end's), and whether one
 * fails far more (100× below the other's). */
export function interpret(pair) {
  const parts = [];
  const last = (side) => pair.training[side].records.at(-1);
  const [la, lb] = [last("a"), last("b")];
  if (la && lb) {
    const steps = la.step === lb.step ? ` after ${la.step} steps` : ` (A after ${la.step} steps, B after ${lb.step})`;
    parts.push(`A reached loss ${fmt(la.loss, 3)}, B ${fmt(lb.loss, 3)}${steps}`);
  }
  const ratios = { a: reach(pair.a), b: reach(pair.b) };
  if (ratios.a !== null && ratios.b !== null) {
    const [weak, strong] = ratios.a <= ratios.b ? ["a", "b"] : ["b", "a"];
    const W = weak.toUpperCase();
    const S = strong.toUpperCase();
    let reading;
    const apart = ratios[weak] * 100 <= ratios[strong];
    if (ratios[strong] < 1e-2) reading = apart ? `both forget the start of the sequence, ${W} far more` : "both forget the start of the sequence";
    else if (ratios[weak] < 1e-2) reading = `${W} forgets the start of the sequence`;
    else reading = "both carry the start of the sequence back";
    parts.push(`${W}'s gradient at t = 0 ${reachText(ratios[weak])}, ${S}'s ${reachText(ratios[strong]).replace(/^is /, "").replace(/ of its value at t = T−1$/, "")}: ${reading}`);
  }
  return parts.length ? `${parts.join("; ")}.` : "";
}
