"""RNN Explorer: watch a recurrent neural network compute, step by step."""

__version__ = "0.1.0"
