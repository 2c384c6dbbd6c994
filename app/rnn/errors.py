"""Domain errors of the numeric core.

Every error says what is wrong and where (which parameter, layer or timestep), so the web layer
can pass the message to the user unchanged as a 4xx response.
"""


class RNNError(ValueError):
    """Base class: invalid input to the engine (never a bug in the engine itself)."""


class ConfigError(RNNError):
    """A model configuration that cannot describe a network."""


class ShapeError(RNNError):
    """An array whose shape does not fit the model."""


class NumericalError(RNNError):
    """NaN or Inf in an input, a weight, or produced by an overflow during the computation."""


class WeightsError(RNNError):
    """A weights file whose tensor names, dtypes or shapes do not match the configuration."""


def shown(number: float) -> str:
    """A number for an error message: %g, or its digit count when no float holds it (10**400)."""
    try:
        return f"{number:g}"
    except OverflowError:
        return f"a number of {len(str(abs(int(number))))} digits"
