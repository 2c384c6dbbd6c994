"""The lessons' tests train like the training proofs do: with one BLAS thread."""

from tests.training.conftest import _one_blas_thread

__all__ = ["_one_blas_thread"]
