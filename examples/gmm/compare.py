"""Compare EM with sct-gradient fitting of Gaussian mixtures.

``python -m examples.gmm [--quick | --full] [--out DIR]`` fits every data set
with EM, Armijo gradient ascent and Adam, all started from the same seeded
k-means++ initialisation, and prints one table per data set:

* iterations run, wall time, final total log-likelihood;
* iterations and time needed to come within 1e-3 and 1e-6 of the best
  log-likelihood found by any method, the gap being measured **absolutely on
  the mean log-likelihood per point**;
* for synthetic data, errors of the fitted parameters against the truth
  after matching components (exhaustive permutation search on the means).

Figures (written to ``--out``, default ``out/gmm``): log-likelihood against
iteration and against time for every data set, and the Old Faithful data with
1- and 2-sigma ellipses of each component after 0-6 and 20 iterations of EM
and of gradient ascent.

Gradient methods need sct; when sct cannot differentiate the model the
comparison runs EM alone and says why.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import em
from .data import load_old_faithful, make_synthetic
from .estimator import GaussianMixture
from .gradient import ValueAndGrad, sct_value_and_grad
from .model import MixtureParams, to_unconstrained

MakeValueAndGrad = Callable[[np.ndarray], ValueAndGrad]

#: Gaps (absolute, on the mean log-likelihood per point) to the best value.
THRESHOLDS = (1e-3, 1e-6)
#: Iterations shown in the Old Faithful ellipse figure.
SNAPSHOT_ITERATIONS = (0, 1, 2, 3, 4, 5, 6, 20)
#: Expected EM optimum on Old Faithful with K=2, full covariances.
OLD_FAITHFUL_EXPECTED = -1130.26
METHODS = ("em", "gradient", "adam")


@dataclass
class Dataset:
    """A data set to fit with ``n_components`` components."""

    name: str
    X: np.ndarray
    n_components: int
    truth: MixtureParams | None = None


@dataclass
class Run:
    """One method fitted on one data set."""

    method: str
    model: GaussianMixture | None
    wall_time: float
    history: np.ndarray = field(default_factory=lambda: np.zeros(0))
    times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    error: str | None = None


# ---------------------------------------------------------------------------
# Set-up
# ---------------------------------------------------------------------------

# (n, d, k) of the synthetic data sets per mode.
SYNTHETIC = {
    "quick": [(500, 2, 3)],
    "default": [(2000, 2, 3), (10000, 5, 4), (20000, 10, 8)],
    "full": [(2000, 2, 2), (10000, 5, 4), (50000, 8, 6), (100000, 10, 8)],
}
# Iteration budgets per mode and method.
BUDGET = {
    "quick": {"em": 100, "gradient": 100, "adam": 100},
    "default": {"em": 1000, "gradient": 400, "adam": 400},
    "full": {"em": 1000, "gradient": 500, "adam": 500},
}


def iteration_budget(mode: str, method: str, data: Dataset) -> int:
    """Maximum iterations of ``method`` on ``data`` (small data sets get more)."""
    base = BUDGET[mode][method]
    if mode != "quick" and data.X.size * data.n_components <= 50_000:
        return max(base, 1000)
    return base


def build_datasets(mode: str, seed: int = 0) -> list[Dataset]:
    """Old Faithful plus the synthetic data sets of ``mode``.

    The spread of the synthetic means shrinks like ``sqrt(2 / d)`` so that
    the typical distance between two means (about 6) and hence the overlap of
    the components is similar in every dimension.
    """
    datasets = [Dataset("old_faithful", load_old_faithful(), 2)]
    for i, (n, d, k) in enumerate(SYNTHETIC[mode]):
        X, truth = make_synthetic(n, d, k, seed=seed + i, separation=3.0 * np.sqrt(2.0 / d))
        datasets.append(Dataset(f"synthetic_n{n}_d{d}_k{k}", X, k, truth))
    return datasets


def initial_guess(
    X: np.ndarray, n_components: int, seed: int, n_seedings: int = 10
) -> dict[str, np.ndarray]:
    """Initial parameters shared by all methods, as ``*_init`` keyword arguments.

    The best of ``n_seedings`` greedy k-means++ seedings (by k-means cost)
    defines a hard partition whose M step gives the parameters.
    """
    weights, means, covariances = em.initial_parameters(
        X, n_components, "full", 1e-6, "kmeans++", seed, n_seedings
    )
    return {
        "weights_init": weights,
        "means_init": means,
        "precisions_init": np.linalg.inv(covariances),
    }


def gradient_backend_problem(make_value_and_grad: MakeValueAndGrad | None) -> str | None:
    """Why gradients cannot be computed (``None`` if they can).

    Also warms the backend up (sct builds its derivative on first use) so
    that the timed runs do not include it.
    """
    make = sct_value_and_grad if make_value_and_grad is None else make_value_and_grad
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 2))
    params = to_unconstrained(
        np.array([0.5, 0.5]), np.array([[0.0, 0.0], [1.0, 1.0]]), np.stack([np.eye(2)] * 2)
    )
    try:
        value, grads = make(X)(params)
        if not np.isfinite(value) or len(grads) != 4:
            return f"unexpected value_and_grad output: {value!r}"
    except Exception as err:  # report any backend failure and go on with EM
        return f"{type(err).__name__}: {err}"
    return None


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------


def run_method(
    data: Dataset,
    method: str,
    init: dict[str, np.ndarray],
    max_iter: int,
    tol: float = 1e-12,
    make_value_and_grad: MakeValueAndGrad | None = None,
    verbose: bool = False,
) -> Run:
    """Fit ``data`` with ``method`` from ``init``; failures are recorded, not raised."""
    model = GaussianMixture(
        data.n_components, "full", tol=tol, max_iter=max_iter, method=method,
        value_and_grad=make_value_and_grad, verbose=int(verbose),
        verbose_interval=max(1, max_iter // 10), **init,
    )
    start = time.perf_counter()
    try:
        model.fit(data.X)
    except (FloatingPointError, ValueError, RuntimeError) as err:
        return Run(method, None, time.perf_counter() - start, error=str(err))
    return Run(method, model, time.perf_counter() - start, model.history_, model.times_)


def time_to_reach(
    history: np.ndarray, times: np.ndarray, target: float
) -> tuple[int, float] | None:
    """First ``(iteration, time)`` with ``history >= target``, or ``None``."""
    hits = np.flatnonzero(history >= target)
    if hits.size == 0:
        return None
    return int(hits[0]), float(times[hits[0]])


def match_components(true_means: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Permutation ``p`` minimising ``sum_k ||means[p[k]] - true_means[k]||^2``.

    Exhaustive search over permutations for ``K <= 8``, greedy beyond.
    """
    K = true_means.shape[0]
    cost = np.sum((true_means[:, None, :] - means[None, :, :]) ** 2, axis=2)
    if K <= 8:
        perms = np.array(list(itertools.permutations(range(K))))
        totals = cost[np.arange(K), perms].sum(axis=1)
        return perms[np.argmin(totals)]
    perm = -np.ones(K, dtype=int)
    for flat in np.argsort(cost, axis=None):
        i, j = divmod(int(flat), K)
        if perm[i] < 0 and j not in perm:
            perm[i] = j
    return perm


def parameter_errors(truth: MixtureParams, model: GaussianMixture) -> dict[str, float]:
    """Errors of a fitted full-covariance model against the true mixture.

    Returns:
        ``weights``: max absolute weight error; ``means``: RMS error of the
        mean coordinates; ``covariances``: largest relative Frobenius error.
    """
    p = match_components(truth.means, model.means_)
    w = np.max(np.abs(model.weights_[p] - truth.weights))
    m = np.sqrt(np.mean((model.means_[p] - truth.means) ** 2))
    diff = np.linalg.norm(model.covariances_[p] - truth.covariances, axis=(1, 2))
    c = np.max(diff / np.linalg.norm(truth.covariances, axis=(1, 2)))
    return {"weights": float(w), "means": float(m), "covariances": float(c)}


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------


def best_value(runs: Sequence[Run]) -> float:
    """Best mean log-likelihood reached by any run."""
    return max(float(np.max(r.history)) for r in runs if r.model is not None)


def format_table(data: Dataset, runs: Sequence[Run]) -> str:
    """A plain-text table of the runs on ``data``."""
    n = data.X.shape[0]
    best = best_value(runs)
    header = ["method", "iters", "time[s]", "loglik(total)"]
    for thr in THRESHOLDS:
        header += [f"it@{thr:g}", f"t@{thr:g}[s]"]
    if data.truth is not None:
        header += ["err w", "err mu", "err cov"]
    rows = []
    for r in runs:
        if r.model is None:
            rows.append([r.method, "failed: " + (r.error or "")])
            continue
        row = [r.method, str(r.model.n_iter_), f"{r.wall_time:.3f}", f"{r.history[-1] * n:.4f}"]
        for thr in THRESHOLDS:
            hit = time_to_reach(r.history, r.times, best - thr)
            row += ["-", "-"] if hit is None else [str(hit[0]), f"{hit[1]:.3f}"]
        if data.truth is not None:
            errs = parameter_errors(data.truth, r.model)
            row += [f"{errs['weights']:.2e}", f"{errs['means']:.2e}", f"{errs['covariances']:.2e}"]
        rows.append(row)
    widths = [max(len(h), *(len(r[i]) for r in rows if len(r) > i)) for i, h in enumerate(header)]
    lines = [
        f"{data.name}: N={n}, D={data.X.shape[1]}, K={data.n_components}, "
        f"best mean log-likelihood {best:.8f} (total {best * n:.4f})",
        "  ".join(h.rjust(w) for h, w in zip(header, widths)),
    ]
    for row in rows:
        if len(row) == 2:
            lines.append(f"{row[0].rjust(widths[0])}  {row[1]}")
        else:
            lines.append("  ".join(c.rjust(w) for c, w in zip(row, widths)))
    return "\n".join(lines)


def plot_convergence(data: Dataset, runs: Sequence[Run], path: Path) -> None:
    """Mean log-likelihood and gap to the best, against iteration and time."""
    best = best_value(runs)
    fig = _figure((11, 8))
    axes = fig.subplots(2, 2)
    for r in runs:
        if r.model is None:
            continue
        gap = np.maximum(best - r.history, 1e-16)
        for col, x in enumerate((np.arange(r.history.size), r.times)):
            axes[0, col].plot(x, r.history, label=r.method)
            axes[1, col].semilogy(x, gap, label=r.method)
    for col, xlabel in enumerate(("iteration", "time [s]")):
        axes[0, col].set_ylabel("mean log-likelihood")
        axes[1, col].set_ylabel("best - mean log-likelihood")
        axes[1, col].set_xlabel(xlabel)
        lo = min(np.min(r.history) for r in runs if r.model is not None)
        axes[0, col].set_ylim(max(lo, best - 1.0), best + 0.05 * max(1e-3, best - lo))
        for row in (0, 1):
            axes[row, col].legend()
            axes[row, col].grid(alpha=0.3)
    fig.suptitle(f"{data.name}: N={data.X.shape[0]}, D={data.X.shape[1]}, K={data.n_components}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _figure(size: tuple[float, float]):
    """A matplotlib ``Figure`` drawn with Agg, without touching pyplot's state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def _ellipse(ax, mean: np.ndarray, cov: np.ndarray, radius: float, color: str) -> None:
    """Draw the ``radius``-sigma ellipse of a 2-D Gaussian."""
    from matplotlib.patches import Ellipse

    values, vectors = np.linalg.eigh(cov)
    angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))
    width, height = 2.0 * radius * np.sqrt(values[::-1])
    ax.add_patch(Ellipse(mean, width, height, angle=angle, fill=False, color=color,
                         lw=1.5 if radius == 1 else 0.8, ls="-" if radius == 1 else "--"))


def snapshots(
    X: np.ndarray,
    method: str,
    init: dict[str, np.ndarray],
    iterations: Sequence[int],
    make_value_and_grad: MakeValueAndGrad | None = None,
) -> list[GaussianMixture]:
    """Models after each number of ``iterations`` (refits with ``max_iter=i``)."""
    models = []
    for i in iterations:
        model = GaussianMixture(2, "full", tol=0.0, max_iter=i, method=method,
                                value_and_grad=make_value_and_grad, **init)
        models.append(model.fit(X))
    return models


def plot_ellipses(X: np.ndarray, rows: dict[str, list[GaussianMixture]], path: Path) -> None:
    """Data with 1- and 2-sigma ellipses, one row per method, one column per snapshot."""
    n_cols = len(SNAPSHOT_ITERATIONS)
    fig = _figure((2.6 * n_cols, 2.9 * len(rows)))
    axes = fig.subplots(len(rows), n_cols, sharex=True, sharey=True, squeeze=False)
    colors = ("tab:red", "tab:blue", "tab:green", "tab:purple")
    for row, (method, models) in enumerate(rows.items()):
        for col, (it, model) in enumerate(zip(SNAPSHOT_ITERATIONS, models)):
            ax = axes[row, col]
            ax.scatter(X[:, 0], X[:, 1], s=3, color="0.5")
            for k in range(model.means_.shape[0]):
                for radius in (1.0, 2.0):
                    _ellipse(ax, model.means_[k], model.covariances_[k], radius, colors[k % 4])
            ax.set_title(f"{method} it {it}\nmean ll {model.score(X):.4f}", fontsize=8)
            if col == 0:
                ax.set_ylabel("waiting [min]")
            if row == len(rows) - 1:
                ax.set_xlabel("eruptions [min]")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


def run_comparison(
    mode: str = "default",
    out: Path | None = Path("out/gmm"),
    seed: int = 0,
    make_value_and_grad: MakeValueAndGrad | None = None,
    methods: Sequence[str] = METHODS,
    log: Callable[[str], None] = print,
) -> dict[str, list[Run]]:
    """Run the comparison; return the runs per data set name.

    Args:
        mode: ``"quick"``, ``"default"`` or ``"full"``.
        out: directory for figures and ``summary.txt`` (``None``: none).
        seed: seed of the synthetic data and of the initialisations.
        make_value_and_grad: gradient backend for gradient methods
            (``None``: sct).
        methods: methods to run (gradient ones are dropped with a message
            if the backend does not work).
        log: where progress and tables go.
    """
    methods = list(methods)
    if any(m != "em" for m in methods):
        problem = gradient_backend_problem(make_value_and_grad)
        if problem is not None:
            log(f"gradient methods skipped: sct cannot differentiate the model ({problem})")
            methods = [m for m in methods if m == "em"]
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[Run]] = {}
    tables = []
    for data in build_datasets(mode, seed):
        big = data.X.size * data.n_components > 200_000
        log(f"== {data.name} (N={data.X.shape[0]}, D={data.X.shape[1]}, K={data.n_components})")
        init = initial_guess(data.X, data.n_components, seed)
        runs = []
        for method in methods:
            run = run_method(data, method, init, iteration_budget(mode, method, data),
                             make_value_and_grad=make_value_and_grad, verbose=big)
            status = "failed" if run.model is None else f"{run.model.n_iter_} iterations"
            log(f"   {method}: {status} in {run.wall_time:.2f} s")
            runs.append(run)
        results[data.name] = runs
        table = format_table(data, runs)
        tables.append(table)
        log(table)
        if data.name == "old_faithful":
            log(old_faithful_check(runs))
        if out is not None:
            plot_convergence(data, runs, out / f"convergence_{data.name}.png")
    if out is not None:
        X = load_old_faithful()
        init = initial_guess(X, 2, seed)
        rows = {m: snapshots(X, m, init, SNAPSHOT_ITERATIONS, make_value_and_grad)
                for m in methods if m in ("em", "gradient")}
        plot_ellipses(X, rows, out / "old_faithful_ellipses.png")
        (out / "summary.txt").write_text(
            "Gaps are absolute, on the mean log-likelihood per point.\n\n"
            + "\n\n".join(tables) + "\n"
        )
        log(f"figures and summary written to {out}")
    return results


def old_faithful_check(runs: Sequence[Run]) -> str:
    """A line stating whether EM reached the known Old Faithful optimum."""
    for r in runs:
        if r.method == "em" and r.model is not None:
            total = r.history[-1] * 272
            ok = abs(total - OLD_FAITHFUL_EXPECTED) < 0.01
            return (
                f"Old Faithful EM check: total log-likelihood {total:.4f} "
                f"(expected {OLD_FAITHFUL_EXPECTED}) {'OK' if ok else 'MISMATCH'}; "
                f"weights {np.round(r.model.weights_, 3)}"
            )
    return "Old Faithful EM check: EM did not run"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (``python -m examples.gmm``)."""
    parser = argparse.ArgumentParser(
        prog="python -m examples.gmm",
        description="Compare EM with sct-gradient fitting of Gaussian mixtures.",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small, fast subset")
    size.add_argument("--full", action="store_true", help="largest data sets (N up to 100000)")
    parser.add_argument("--out", type=Path, default=Path("out/gmm"), help="output directory")
    parser.add_argument("--seed", type=int, default=0, help="seed of data and initialisation")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full" if args.full else "default"
    run_comparison(mode, args.out, args.seed, methods=args.methods)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
