"""Text from a stored character model: which characters it reads, the bounds, the sampler.

A model's vocabulary is its latest char_lm session's text's (the shipped corpus when that session
gave no text); a model never trained on char_lm is a character model of the shipped corpus when
its sizes fit that vocabulary. Anything else is not a character model.
"""

import secrets

from app.services.errors import InputError
from app.services.models import ModelService
from app.tasks import TaskError, char_lm
from app.tasks.generation import Generated, check_character_model, check_prefix, sample_text


def vocabulary_of(models: ModelService, model_id: str) -> list[str]:
    """The characters `model_id` reads and predicts, in id order (see the module)."""
    for session in reversed(models.store.list_sessions(model_id)):
        if session.config.get("task") == "char_lm":
            text = (session.config.get("task_params") or {}).get("text")
            return list(char_lm.vocabulary(text).chars)
    return list(char_lm.vocabulary().chars)


def generate(
    models: ModelService,
    model_id: str,
    prefix: str,
    length: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
) -> tuple[Generated, int, list[str]]:
    """Generate with the stored weights → (the text, the seed used, the vocabulary)."""
    network, _ = models.network(model_id)
    chars = vocabulary_of(models, model_id)
    try:
        check_character_model(network, chars)
    except TaskError as error:
        raise InputError(
            "model_id", f"model {model_id!r} is not a character model of the char_lm task: {error}"
        ) from None
    models.limits.check("length", "the characters generated", "max_generate_length", length)
    models.limits.check("prefix", "the prefix's characters", "max_steps", len(prefix))
    try:
        check_prefix(chars, prefix)
    except TaskError as error:
        raise InputError("prefix", str(error)) from None
    if seed is None:  # below 2**53: a JavaScript number holds it exactly
        seed = secrets.randbits(53)
    try:
        generated = sample_text(network, chars, prefix, length, temperature, top_k, seed)
    except TaskError as error:  # the numbers are the schema's: what is left is the model's
        raise InputError("model_id", str(error)) from None
    return generated, seed, chars
