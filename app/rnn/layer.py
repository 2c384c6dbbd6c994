"""What every recurrent layer returns from its backward pass."""

from dataclasses import dataclass

from app.rnn.arrays import Array


@dataclass
class LayerGrads:
    """dL/d(everything) of one layer: parameters, inputs, initial state, per-timestep trace.

    grads: the layer's parameter gradients by name (W_xh, W_hh, b_h, and b_hn for the GRU);
    dX: (T, B, D); dH0: (B, H); dH: (T, B, H) the total dL/dH_t (from the output at t and from
    the future); dA_x: (T, B, G·H) the gradient of the input-side pre-activation X_t W_xh + b_h;
    dA_h: (T, B, G·H) that of the recurrent product H_{t-1} W_hh (the same array for rnn and lstm).
    For the LSTM, dC0: (B, H) and dC: (T, B, H) the total dL/dC_t.
    """

    grads: dict[str, Array]
    dX: Array
    dH0: Array
    dH: Array
    dA_x: Array
    dA_h: Array
    dC0: Array | None = None
    dC: Array | None = None
