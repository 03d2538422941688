"""Data sets for the Gaussian-mixture example.

* :func:`load_old_faithful` reads the classic Old Faithful geyser data shipped
  in ``examples/gmm/data/old_faithful.csv`` (see the README there for its
  source).
* :func:`make_synthetic` draws points from a random mixture whose parameters
  are returned too, so that fitted parameters can be compared with the truth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .model import MixtureParams

DATA_DIR = Path(__file__).resolve().parent / "data"
OLD_FAITHFUL_CSV = DATA_DIR / "old_faithful.csv"


def load_old_faithful(path: str | Path | None = None) -> np.ndarray:
    """Load the Old Faithful data as a ``(272, 2)`` float array.

    Columns are ``eruptions`` (eruption length, minutes) and ``waiting``
    (minutes to the next eruption).

    Args:
        path: CSV file to read; defaults to the copy shipped with the example.

    Returns:
        The data, one row per eruption.
    """
    path = OLD_FAITHFUL_CSV if path is None else Path(path)
    X = np.loadtxt(path, delimiter=",", skiprows=1, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"{path}: expected two columns, got shape {X.shape}")
    return X


def random_covariance(
    d: int, rng: np.random.Generator, scale_range: tuple[float, float] = (0.4, 1.5)
) -> np.ndarray:
    """A random ``(d, d)`` covariance ``Q diag(s^2) Q^T`` with random rotation ``Q``.

    The standard deviations ``s`` along the principal axes are uniform in
    ``scale_range``, so the condition number is bounded.
    """
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    q = q * np.sign(np.diag(r))  # a uniformly distributed rotation/reflection
    s = rng.uniform(scale_range[0], scale_range[1], size=d)
    cov = (q * s**2) @ q.T
    return 0.5 * (cov + cov.T)


def make_synthetic(
    n: int, d: int, k: int, seed: int = 0, separation: float = 3.0
) -> tuple[np.ndarray, MixtureParams]:
    """Draw ``n`` points from a random ``k``-component mixture in ``d`` dimensions.

    Weights are half uniform, half Dirichlet(2) (so no component is tiny),
    means are ``N(0, separation^2 I)`` and covariances come from
    :func:`random_covariance`.

    Args:
        n: number of points.
        d: dimension.
        k: number of components.
        seed: seed of the NumPy random generator.
        separation: standard deviation of the component means; larger means
            better separated components.

    Returns:
        ``(X, truth)`` with ``X`` of shape ``(n, d)`` and ``truth`` the
        :class:`~examples.gmm.model.MixtureParams` the points were drawn from.
    """
    if n < 1 or d < 1 or k < 1:
        raise ValueError(f"n, d and k must be positive, got n={n}, d={d}, k={k}")
    rng = np.random.default_rng(seed)
    weights = 0.5 / k + 0.5 * rng.dirichlet(np.full(k, 2.0))
    means = separation * rng.standard_normal((k, d))
    covariances = np.stack([random_covariance(d, rng) for _ in range(k)])
    labels = rng.choice(k, size=n, p=weights)
    chol = np.linalg.cholesky(covariances)
    noise = rng.standard_normal((n, d))
    X = means[labels] + np.einsum("nde,ne->nd", chol[labels], noise)
    return X, MixtureParams(weights, means, covariances)
