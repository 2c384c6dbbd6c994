"""What the stream's commands ask for: a client message parsed into a command, a run command
turned into its forward (and backward) pass."""

from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from app.rnn.arrays import Array
from app.services.errors import InputError
from app.services.models import ModelService, Pass
from app.web.arrays import to_array
from app.web.body import parse_json
from app.web.errors import validation_message
from app.web.schemas.stream import RunCommand, StreamCommand

__all__ = ["Sampler", "parse_command", "run_pass"]

_COMMANDS: TypeAdapter[Any] = TypeAdapter(StreamCommand)

# (task, seed, params) → (inputs (T, D), targets): a sample of a built-in task.
Sampler = Callable[[str, int, dict[str, Any]], tuple[Array, Array]]


def parse_command(text: str) -> Any:
    """A client message → one of the StreamCommand models, parsed and validated strictly by
    pydantic; InputError names the bad field."""
    try:
        document = parse_json(text)
    except ValueError as error:
        raise InputError("message", f"not valid JSON: {error}") from None
    try:
        return _COMMANDS.validate_python(document, strict=True)
    except ValidationError as error:
        raise InputError(*validation_message(error, whole="message")) from None


def run_pass(models: ModelService, sampler: Sampler, model_id: str, command: RunCommand) -> Pass:
    """The run's forward (and backward) pass, on the command's arrays or a task's sample."""
    if command.sample is not None:
        sample = command.sample
        inputs, targets = sampler(sample.task, sample.seed, sample.params)
    elif command.inputs is None:
        raise InputError("inputs", "a run needs inputs (or a sample)")
    else:
        inputs = to_array(command.inputs, "inputs", (2, 3))
        targets = None
        if command.targets is not None:
            targets = to_array(command.targets, "targets", (0, 1, 2, 3))

    def state(value: Any, field: str) -> Array | None:
        return None if value is None else to_array(value, field, (2, 3))

    lengths = None if command.lengths is None else to_array(command.lengths, "lengths", (1,))
    return models.run(
        model_id,
        inputs,
        targets,
        state(command.h0, "h0"),
        state(command.c0, "c0"),
        command.truncate,
        lengths,
    )
