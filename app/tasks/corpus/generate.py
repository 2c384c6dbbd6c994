"""Writes `harbour.txt`, the shipped corpus: short tales of a harbour town, told by a small
grammar of this project's own making (no outside text), seeded so it is reproducible.

    python -m app.tasks.corpus.generate
"""

from pathlib import Path

import numpy as np

PEOPLE = [
    "the keeper of the lighthouse",
    "the baker",
    "old Marta",
    "the ferryman",
    "a girl called Ines",
    "the schoolteacher",
    "the net mender",
    "a boy with a red scarf",
    "the harbour master",
    "the widow from the hill",
    "the young sailor",
    "the clockmaker",
]
PLACES = [
    "the harbour",
    "the market square",
    "the long pier",
    "the chapel on the cliff",
    "the salt marsh",
    "the lighthouse",
    "the bakery",
    "the narrow lane behind the inn",
    "the boatyard",
    "the dunes",
]
THINGS = [
    "a lantern",
    "a wooden box",
    "a letter",
    "a basket of bread",
    "a brass key",
    "a coil of rope",
    "a map of the coast",
    "a jar of honey",
    "a broken oar",
    "a small bell",
    "a bundle of candles",
    "a clock without hands",
]
WEATHER = [
    "The wind came in from the west and smelled of rain.",
    "A grey fog lay over the water until noon.",
    "The sun rose late and pale behind the clouds.",
    "All night the sea was loud against the rocks.",
    "It was a still morning, and the gulls were quiet.",
    "Snow fell on the boats and melted on the warm stones.",
    "The tide went out so far that the old wreck showed its ribs.",
    "A storm was coming; everyone could feel it in the air.",
]
TIMES = [
    "In the morning",
    "Before dawn",
    "At noon",
    "Late in the afternoon",
    "When the bells rang for evening",
    "Long after midnight",
    "On the first day of spring",
    "In the last week of autumn",
]
VERBS_GO = ["walked to", "ran down to", "rowed across to", "climbed up to", "hurried to"]
VERBS_FIND = ["found", "picked up", "noticed", "carried", "hid", "lost", "mended"]
FEELINGS = ["glad", "tired", "afraid", "curious", "quiet", "proud", "worried", "hopeful"]
SAYINGS = [
    "The sea gives and the sea takes, but it never explains.",
    "A lamp is only useful if someone keeps it lit.",
    "Every boat comes home, one way or another.",
    "Count the waves and you will never finish your work.",
    "Bread tastes best when it is shared.",
    "The tide does not wait for anyone to finish a sentence.",
    "A knot you tie in a hurry is a knot you untie in the rain.",
    "Small bells ring the loudest in an empty chapel.",
]
ENDINGS = [
    "and nobody spoke of it again.",
    "and the whole town came out to see.",
    "and by evening the matter was forgotten.",
    "and that is how the story is still told today.",
    "and the lamp in the lighthouse burned until morning.",
    "and the boats went out again the next day.",
]


class _Teller:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def pick(self, words: list[str]) -> str:
        return words[int(self.rng.integers(len(words)))]

    def sentence(self) -> str:
        kind = int(self.rng.integers(7))
        person, place, thing = self.pick(PEOPLE), self.pick(PLACES), self.pick(THINGS)
        if kind == 0:
            return f"{self.pick(TIMES)}, {person} {self.pick(VERBS_GO)} {place}."
        if kind == 1:
            return f"There {person} {self.pick(VERBS_FIND)} {thing}."
        if kind == 2:
            return f"{_cap(person)} was {self.pick(FEELINGS)}, but said nothing."
        if kind == 3:
            return self.pick(WEATHER)
        if kind == 4:
            return f'"{self.pick(SAYINGS)[:-1]}," said {person}.'
        if kind == 5:
            other = self.pick(PEOPLE)
            return f"{_cap(person)} gave {thing} to {other}, {self.pick(ENDINGS)}"
        count = int(self.rng.integers(2, 12))
        return f"It took {count} days to reach {place} from the other side of the bay."

    def tale(self, number: int) -> str:
        title = f"{number}. {_cap(self.pick(THINGS)[2:])} and {self.pick(PEOPLE)}"
        paragraphs = []
        for _ in range(int(self.rng.integers(2, 5))):
            sentences = [self.sentence() for _ in range(int(self.rng.integers(3, 7)))]
            paragraphs.append(" ".join(sentences))
        return "\n\n".join([title, *paragraphs])


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def generate(seed: int = 7, tales: int = 50) -> str:
    """The corpus text: `tales` numbered tales separated by blank lines."""
    teller = _Teller(seed)
    return "\n\n".join(teller.tale(n) for n in range(1, tales + 1)) + "\n"


if __name__ == "__main__":
    Path(__file__).with_name("harbour.txt").write_text(generate(), encoding="utf-8")
