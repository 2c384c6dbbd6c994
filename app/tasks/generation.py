"""Text from a character model, one character at a time in the engine.

The model reads the prefix in one forward pass; then each character is drawn from the next
distribution and fed back as a one-hot input with the carried state H (and C). The next
distribution is softmax((O_t − max O_t) / temperature), restricted to the top_k largest logits
(ties: the lower index) and renormalised when top_k is given; the draw is
`numpy.random.default_rng(seed).choice(V, p=p)`, one call per character, so the same seed gives
the same text.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.rnn import Network
from app.rnn.arrays import Array
from app.tasks.base import TaskError

MAX_TEMPERATURE = 10.0
# What a model reads before its first character when the prefix is empty: the first of these
# in its vocabulary (a text's lines start after a newline), else its first character.
START_CHARACTERS = ("\n", " ")


@dataclass(frozen=True)
class Generated:
    """prefix + continuation; probabilities[i]: the probability continuation[i] had in the
    distribution it was drawn from; start: the character read for an empty prefix, else None."""

    prefix: str
    continuation: str
    probabilities: list[float]
    start: str | None

    @property
    def text(self) -> str:
        return self.prefix + self.continuation


def start_character(chars: Sequence[str]) -> str:
    """The character a model reads first when the prefix is empty (START_CHARACTERS)."""
    return next((c for c in START_CHARACTERS if c in chars), chars[0])


def next_distribution(logits: Array, temperature: float, top_k: int | None = None) -> Array:
    """(V,) logits → (V,) probabilities at `temperature`, zero outside the top_k largest;
    TaskError for logits that are not finite (a diverged model)."""
    if not np.isfinite(logits).all():
        raise TaskError("the model's outputs are not finite numbers: it cannot be sampled")
    z = (logits - logits.max()) / temperature
    if top_k is not None and top_k < z.shape[0]:
        keep = np.argsort(-logits, kind="stable")[:top_k]
        masked = np.full_like(z, -np.inf)
        masked[keep] = z[keep]
        z = masked
    p = np.exp(z)
    return p / p.sum()


def unknown_characters(chars: Sequence[str], text: str) -> list[str]:
    """The distinct characters of `text` outside `chars`, in order of appearance."""
    known = set(chars)
    return list(dict.fromkeys(c for c in text if c not in known))


def check_prefix(chars: Sequence[str], prefix: str) -> None:
    """TaskError naming the characters of `prefix` outside `chars`, if any."""
    unknown = unknown_characters(chars, prefix)
    if unknown:
        names = ", ".join(repr(c) for c in unknown)
        raise TaskError(f"prefix has characters outside the model's vocabulary: {names}")


def check_character_model(net: Network, chars: Sequence[str]) -> None:
    """TaskError unless `net` reads and predicts one-hot characters of `chars` at every step."""
    config = net.config
    V = len(chars)
    if config.input_size != V or config.output_size != V:
        raise TaskError(
            f"the model has input/output sizes {config.input_size}/{config.output_size},"
            f" the vocabulary {V} characters"
        )
    if config.output_mode != "sequence":
        raise TaskError("generation needs a model with output_mode 'sequence'")
    if config.bidirectional:
        raise TaskError("a bidirectional model reads the text's future: it cannot generate")


def sample_text(
    net: Network,
    chars: Sequence[str],
    prefix: str,
    length: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
) -> Generated:
    """Continue `prefix` (may be empty: see start_character) by `length` characters of
    `chars` (the model's vocabulary in id order)."""
    check_character_model(net, chars)
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise TaskError(f"length must be a positive integer, got {length!r}")
    if not (0 < temperature <= MAX_TEMPERATURE):
        raise TaskError(f"temperature must lie in (0, {MAX_TEMPERATURE:g}], got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise TaskError(f"top_k must be an integer ≥ 1, got {top_k!r}")
    check_prefix(chars, prefix)
    index = {c: i for i, c in enumerate(chars)}
    V = len(chars)
    eye = np.eye(V, dtype=np.dtype(net.config.dtype))
    start = None if prefix else start_character(chars)
    read = prefix if start is None else start
    trace = net.forward(eye[[index[c] for c in read]][None])
    rng = np.random.default_rng(seed)
    ids: list[int] = []
    probabilities: list[float] = []
    for step in range(length):
        p = next_distribution(np.asarray(trace.O[0, -1], dtype=np.float64), temperature, top_k)
        chosen = int(rng.choice(V, p=p))
        ids.append(chosen)
        probabilities.append(float(p[chosen]))
        if step + 1 < length:
            H, C = trace.final_state
            trace = net.forward(eye[[chosen]][None], H, C)
    return Generated(prefix, "".join(chars[i] for i in ids), probabilities, start)
