"""The numeric core: pure NumPy RNN, LSTM and GRU with backpropagation through time.

Nothing here imports a web package; the service and the tasks build on these names. Importing
the engine sets glibc's malloc to keep freed memory for reuse (malloc.py).
"""

from app.rnn.config import ModelConfig
from app.rnn.errors import ConfigError, NumericalError, RNNError, ShapeError, WeightsError
from app.rnn.jacobian import jacobian_norms, spectral_radius
from app.rnn.malloc import keep_freed_memory
from app.rnn.network import BackwardResult, ForwardTrace, Network
from app.rnn.optim import OPTIMISERS, Optimizer, clip_grad_norm, global_norm, make_optimizer

keep_freed_memory()  # once, for the whole process: malloc.py says why

__all__ = [
    "OPTIMISERS",
    "BackwardResult",
    "ConfigError",
    "ForwardTrace",
    "ModelConfig",
    "Network",
    "NumericalError",
    "Optimizer",
    "RNNError",
    "ShapeError",
    "WeightsError",
    "clip_grad_norm",
    "global_norm",
    "jacobian_norms",
    "make_optimizer",
    "spectral_radius",
]
