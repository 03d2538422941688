"""Gaussian mixtures fitted by EM and by gradients computed with sct.

Run ``python -m examples.gmm`` from the repository root for the comparison
(see :mod:`examples.gmm.compare`).
"""

from .data import load_old_faithful, make_synthetic
from .estimator import GaussianMixture
from .model import (
    MixtureParams,
    from_unconstrained,
    loglik_loop,
    loglik_vec,
    pack,
    to_unconstrained,
    unpack,
)

__all__ = [
    "GaussianMixture",
    "MixtureParams",
    "from_unconstrained",
    "load_old_faithful",
    "loglik_loop",
    "loglik_vec",
    "make_synthetic",
    "pack",
    "to_unconstrained",
    "unpack",
]
