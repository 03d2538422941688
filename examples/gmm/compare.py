"""``python -m examples.gmm``: EM against four sct-driven optimisers, over many starts.

For every data set, every seed and two kinds of start — ``kmeans`` (k-means
clusters, the default) and ``random`` (random responsibilities: every
component begins near the data's mean, a deliberately poor start) — all five
methods fit a full-covariance mixture from the *same* initial parameters.
Per data set and method the table gives: the final total log-likelihood
(median, best, worst over runs), the share of runs reaching the best optimum
found by any run (within ``REACH`` in total log-likelihood), collapses (a
component whose smallest variance, in standardised units, is below
``COLLAPSE``), converged runs, and medians of iterations, function /
gradient / Hessian evaluations, wall time and time per iteration — with BLAS
pinned to one thread (threadpoolctl, when installed) and the runs spread over
the machine's cores.

Figures in ``--out`` (default ``out/gmm``): ``convergence_<data>.png`` (gap to
the best against function evaluations and against time, log scales),
``ellipses_poor_start.png`` (Old Faithful from a poor start, one row per
method) and ``final_loglik.png`` (the final log-likelihoods over all runs).
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import em
from .data import load_old_faithful, make_synthetic
from .estimator import GaussianMixture
from .gradient import METHODS as GRADIENT_METHODS
from .gradient import StopRule, fit_gradient
from .model import MixtureParams
from .speed import format_speed, speed_table

METHODS = ("em",) + GRADIENT_METHODS
STARTS = ("kmeans", "random")
#: A run "reaches the best optimum" within this much total log-likelihood.
REACH = 0.01
#: A component has collapsed if its smallest variance (standardised units) is below this.
COLLAPSE = 1e-3
#: Old Faithful, K=2, full covariances: the known EM optimum (total log-likelihood).
OLD_FAITHFUL_EXPECTED = -1130.26
#: Iteration budgets per mode: the same stopping rules for all, these caps keep the run short.
BUDGETS = {
    "quick": {"em": 300, "gradient": 40, "adam": 40, "lbfgs": 60, "newton": 10},
    "default": {"em": 500, "gradient": 60, "adam": 60, "lbfgs": 150, "newton": 20},
}
BUDGET = dict(BUDGETS["default"])
#: Newton is run where the model has at most this many free parameters.
NEWTON_MAX_PARAMS = 30
#: Stopping: EM's tol (change per iteration), and the gradient methods' rule.
EM_TOL = 1e-7
STOP = StopRule(gtol=1e-6, tol=1e-7, window=10)
COLOURS = {"em": "tab:blue", "gradient": "tab:orange", "adam": "tab:green",
           "lbfgs": "tab:red", "newton": "tab:purple"}
ELLIPSE_ITERATIONS = (0, 1, 2, 4, 8, 16, 300)
#: The poor start of the ellipses figure (init_params="random_from_data" with this seed).
ELLIPSE_SEED = 4
#: Sizes at which the model versions are timed (sct and autograd on the same code).
SPEED_SIZES = {"quick": (30,), "default": (30, 272)}


@dataclass
class Dataset:
    """A data set to fit with ``n_components`` components."""

    name: str
    X: np.ndarray
    n_components: int
    truth: MixtureParams | None = None
    note: str = ""


@dataclass
class Fit:
    """One method run from one start (light enough to send between processes)."""

    data: str
    method: str
    seed: int
    start: str
    loglik: float = np.nan  # total log-likelihood of the result (no prior)
    n_iter: int = 0
    converged: bool = False
    collapsed: bool = False
    wall: float = 0.0
    evaluations: dict[str, int] = field(default_factory=dict)
    #: total per iterate; gradient methods': their objective shifted by its final log prior
    history: np.ndarray = field(default_factory=lambda: np.zeros(0))
    times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cum_evals: np.ndarray = field(default_factory=lambda: np.zeros(0))
    error: str | None = None


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def overlapping_clusters(n: int = 1000, seed: int = 0) -> tuple[np.ndarray, MixtureParams]:
    """Three strongly overlapping 2-D Gaussians (EM's slow case: small, ill-determined steps)."""
    rng = np.random.default_rng(seed)
    weights = np.array([0.5, 0.3, 0.2])
    means = np.array([[0.0, 0.0], [1.2, 0.4], [0.3, 1.3]])
    covs = np.array([[[1.0, 0.3], [0.3, 0.8]], [[0.6, -0.2], [-0.2, 0.9]], [[0.7, 0.0], [0.0, 0.5]]])
    labels = rng.choice(3, size=n, p=weights)
    X = means[labels] + np.einsum("nde,ne->nd", np.linalg.cholesky(covs)[labels],
                                  rng.standard_normal((n, 2)))
    return X, MixtureParams(weights, means, covs)


def build_datasets(mode: str, seed: int = 0) -> list[Dataset]:
    """The data sets of ``mode``: ``"quick"``, ``"default"`` or ``"all"`` (adds synthetic sets)."""
    X = load_old_faithful()
    sets = [Dataset("old_faithful_k2", X, 2, note="272 eruptions, K=2")]
    if mode == "quick":
        return sets + [Dataset("overlapping_k3", overlapping_clusters(300, seed)[0], 3)]
    Xo, truth_o = overlapping_clusters(300, seed)
    sets += [Dataset("old_faithful_k4", X, 4, note="more components than clusters"),
             Dataset("overlapping_n300_d2_k3", Xo, 3, truth_o)]
    if mode == "all":
        Xs, truth = make_synthetic(1000, 2, 3, seed=seed, separation=3.0)
        Xd, truth_d = make_synthetic(1500, 4, 3, seed=seed + 1, separation=3.0 * np.sqrt(0.5))
        sets += [Dataset("separated_n1000_d2_k3", Xs, 3, truth),
                 Dataset("separated_n1500_d4_k3", Xd, 3, truth_d)]
    return sets


# ---------------------------------------------------------------------------
# Running (one task = every method from one start)
# ---------------------------------------------------------------------------

_DATASETS: dict[str, Dataset] = {}


def _worker_init(mode: str, seed: int) -> None:
    """Pin BLAS to one thread, build the data, build sct's programs (not timed)."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # without it, BLAS uses its default thread count
        pass
    warnings.simplefilter("ignore")
    BUDGET.update(BUDGETS["quick" if mode == "quick" else "default"])
    _DATASETS.update({d.name: d for d in build_datasets(mode, seed)})
    X = load_old_faithful()[:20]
    w, m, c = em.initial_parameters(X, 2, "full", 1e-6, "kmeans", 0)
    for method in ("lbfgs", "newton"):
        fit_gradient(X, (w, m, c), "full", method, max_iter=1)


def collapsed(X: np.ndarray, covariances: np.ndarray) -> bool:
    """Some component's smallest variance, in standardised units, is below ``COLLAPSE``."""
    s = X.std(axis=0)
    smallest = np.linalg.eigvalsh(covariances / np.outer(s, s)).min()
    return bool(smallest < COLLAPSE)


def run_one(data: Dataset, method: str, start: tuple, seed: int, start_kind: str) -> Fit:
    """Fit ``data`` by ``method`` from ``start = (weights, means, covariances)``."""
    fit = Fit(data.name, method, seed, start_kind)
    X, N = data.X, data.X.shape[0]
    t0 = time.perf_counter()
    try:
        if method == "em":
            prec = em.compute_precision_cholesky(start[2], "full")
            r = em.run_em(X, start[0], start[1], prec, "full", 1e-6, EM_TOL, BUDGET["em"])
            weights, means, covs = r.weights, r.means, r.covariances
            fit.history, fit.times = np.array(r.history), np.array(r.times)
            fit.n_iter, fit.converged = r.n_iter, r.converged
            fit.cum_evals = np.arange(1, len(r.history) + 1)
            fit.evaluations = {"function": len(r.history), "gradient": 0, "hessian": 0}
        else:
            g = fit_gradient(X, start, "full", method, 1e-6, BUDGET[method], STOP,
                             newton_max_params=NEWTON_MAX_PARAMS)
            weights, means, covs = g.weights, g.means, g.covariances
            fit.history, fit.times = np.array(g.result.history), np.array(g.result.times)
            fit.n_iter, fit.converged = g.result.n_iter, g.result.converged
            fit.cum_evals = np.array(g.result.evaluations)
            fit.evaluations = g.evaluations
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as err:
        fit.error = str(err).split(".")[0]
        return fit
    fit.wall = time.perf_counter() - t0
    fit.history = fit.history * N
    prec = em.compute_precision_cholesky(covs, "full")
    fit.loglik = float(em.e_step(X, weights, means, prec, "full")[0].sum())
    fit.collapsed = collapsed(X, covs)
    if method != "em":  # the objective includes the log prior (~1e-5 here): end on the log-likelihood
        fit.history = fit.history + (fit.loglik - fit.history[-1])
    return fit


def run_task(task: tuple[str, int, str, Sequence[str]]) -> list[Fit]:
    """Every method in ``task`` from the same start (``kind`` initialisation, ``seed``)."""
    name, seed, kind, methods = task
    data = _DATASETS[name]
    start = em.initial_parameters(data.X, data.n_components, "full", 1e-6, kind, seed)
    return [run_one(data, m, start, seed, kind) for m in methods]


def progress_bar(done: int, total: int, label: str, started: float) -> str:
    width = 30
    filled = int(width * done / max(total, 1))
    return (f"\r  {label:26s} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
            f"{time.perf_counter() - started:5.1f} s")


def run_dataset(pool, data: Dataset, seeds: int, methods: Sequence[str],
                show: Callable[[str], None]) -> list[Fit]:
    tasks = [(data.name, s, kind, tuple(methods)) for s in range(seeds) for kind in STARTS]
    fits: list[Fit] = []
    started = time.perf_counter()
    for i, result in enumerate(pool.imap_unordered(run_task, tasks), 1):
        fits.extend(result)
        show(progress_bar(i, len(tasks), data.name, started))
    show("\n")
    fits.sort(key=lambda f: (METHODS.index(f.method), f.start, f.seed))
    return fits


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------


def best_loglik(fits: Sequence[Fit]) -> float:
    """The best total log-likelihood of a run without a collapsed component."""
    ok = [f.loglik for f in fits if f.error is None and not f.collapsed]
    return max(ok) if ok else max(f.loglik for f in fits if f.error is None)


def summarise(fits: Sequence[Fit]) -> dict[str, dict[str, float | str]]:
    """Per method: the numbers of the table."""
    best = best_loglik(fits)
    rows: dict[str, dict[str, float | str]] = {}
    for method in METHODS:
        runs = [f for f in fits if f.method == method]
        if not runs:
            continue
        good = [f for f in runs if f.error is None]
        if not good:
            rows[method] = {"refused": runs[0].error or "failed"}
            continue
        ll = np.array([f.loglik for f in good])
        reach = {k: np.mean([f.loglik >= best - REACH for f in good if f.start == k]) * 100
                 for k in STARTS}
        med = lambda xs: float(np.median(xs))  # noqa: E731
        rows[method] = {
            "runs": len(good), "median": med(ll), "best": ll.max(), "worst": ll.min(),
            "reach_kmeans": reach["kmeans"], "reach_random": reach["random"],
            "collapses": sum(f.collapsed for f in good),
            "converged": 100.0 * np.mean([f.converged for f in good]),
            "iters": med([f.n_iter for f in good]),
            "f_evals": med([f.evaluations["function"] for f in good]),
            "g_evals": med([f.evaluations["gradient"] for f in good]),
            "h_evals": med([f.evaluations["hessian"] for f in good]),
            "time_ms": 1e3 * med([f.wall for f in good]),
            "ms_per_iter": 1e3 * med([f.wall / max(f.n_iter, 1) for f in good]),
        }
    return rows


def format_table(data: Dataset, fits: Sequence[Fit]) -> str:
    """A plain-text table of ``fits`` on ``data``."""
    rows = summarise(fits)
    best = best_loglik(fits)
    n_runs = len({(f.seed, f.start) for f in fits})
    header = ("method", "median", "best", "worst", "reach% km/rnd", "collapses", "conv%",
              "iters", "f-evals", "g-evals", "H-evals", "time ms", "ms/iter")
    lines = [f"{data.name}: N={data.X.shape[0]}, D={data.X.shape[1]}, K={data.n_components}; "
             f"{n_runs} starts; best total log-likelihood without a collapse {best:.4f}; "
             f"final total log-likelihood over runs; reach = within {REACH} of it", "  ".join(header)]
    for method, r in rows.items():
        if "refused" in r:
            lines.append(f"{method:>6s}  not run: {r['refused']}")
            continue
        lines.append("  ".join([
            f"{method:>6s}", f"{r['median']:.2f}", f"{r['best']:.2f}", f"{r['worst']:.2f}",
            f"{r['reach_kmeans']:5.0f}/{r['reach_random']:<5.0f}", f"{r['collapses']:9d}",
            f"{r['converged']:5.0f}", f"{r['iters']:5.0f}", f"{r['f_evals']:7.0f}",
            f"{r['g_evals']:7.0f}", f"{r['h_evals']:7.0f}", f"{r['time_ms']:7.1f}",
            f"{r['ms_per_iter']:7.2f}"]))
    return "\n".join(lines)


def _figure(size: tuple[float, float]):
    """A matplotlib ``Figure`` drawn with Agg, without touching pyplot's state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def plot_convergence(data: Dataset, fits: Sequence[Fit], n_lines: int = 5):
    """Gap to the best total log-likelihood against function evaluations and time."""
    best = best_loglik(fits)
    fig = _figure((11, 4.2))
    axes = fig.subplots(1, 2, sharey=True)
    floor = 1e-8
    for method in METHODS:
        runs = [f for f in fits if f.method == method and f.error is None
                and f.start == "kmeans"][:n_lines]
        for i, f in enumerate(runs):
            gap = np.maximum(best - f.history, floor / 10)  # below the axis, not a fake floor
            label = method if i == 0 else None
            axes[0].loglog(np.maximum(f.cum_evals, 1), gap, color=COLOURS[method], alpha=0.7,
                           lw=1.2, label=label)
            axes[1].loglog(np.maximum(f.times, 1e-5), gap, color=COLOURS[method], alpha=0.7,
                           lw=1.2, label=label)
    for ax, xlabel in zip(axes, ("function evaluations (values incl. line searches; "
                                 "Newton's Hessians not counted)", "seconds (1 BLAS thread)")):
        ax.axhline(REACH, color="0.3", ls="--", lw=0.8)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylim(floor, None)
        ax.grid(alpha=0.3, which="both")
    axes[0].text(1.1, REACH * 1.3, f"'reached' ({REACH})", fontsize=7, color="0.3")
    axes[0].set_ylabel("best − total log-likelihood")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{data.name}: how fast each method closes the gap to the best optimum "
                 f"(k-means starts, {n_lines} seeds)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_final_loglik(datasets: Sequence[Dataset], results: dict[str, list[Fit]]):
    """Final total log-likelihood of every run, per data set and method."""
    fig = _figure((3.2 * len(datasets), 3.8))
    axes = fig.subplots(1, len(datasets), squeeze=False)[0]
    rng = np.random.default_rng(0)
    for ax, data in zip(axes, datasets):
        fits = [f for f in results[data.name] if f.error is None]
        best = best_loglik(fits)
        for j, method in enumerate(METHODS):
            for kind, marker in zip(STARTS, ("o", "x")):
                ll = np.array([f.loglik for f in fits if f.method == method and f.start == kind])
                if ll.size:
                    gap = np.maximum(best - ll, 1e-3)
                    ax.scatter(j + (0.15 if kind == "random" else -0.15)
                               + 0.08 * rng.standard_normal(ll.size), gap, s=10,
                               marker=marker, color=COLOURS[method], alpha=0.6,
                               label=f"{kind} start" if j == 0 else None)
        ax.set_yscale("log")
        ax.axhline(REACH, color="0.3", ls="--", lw=0.8)
        ax.set_xticks(range(len(METHODS)), METHODS, fontsize=7, rotation=30)
        ax.set_title(data.name, fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_ylabel(f"best − final total log-likelihood\n(below 1e-3 drawn at 1e-3; "
                       f"dashed: reach, {REACH})", fontsize=8)
    axes[0].legend(fontsize=7)
    fig.suptitle("Where each run ends (every seed, both starts)", fontsize=10)
    fig.tight_layout()
    return fig


def _ellipse(ax, mean, cov, radius, color, ls) -> None:
    from matplotlib.patches import Ellipse

    values, vectors = np.linalg.eigh(cov)
    angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))
    width, height = 2.0 * radius * np.sqrt(values[::-1])
    ax.add_patch(Ellipse(mean, width, height, angle=angle, fill=False, color=color, lw=1.2, ls=ls))


def ellipse_row(X: np.ndarray, method: str, seed: int = ELLIPSE_SEED,
                iterations: Sequence[int] = ELLIPSE_ITERATIONS) -> list[GaussianMixture]:
    """``method``'s models after each of ``iterations[:-1]`` iterations from a poor start,
    then run to convergence (the comparison's stopping rules), at most ``iterations[-1]``.

    The start: ``init_params="random_from_data"`` with ``seed`` (with the default
    seed both components begin in the long-eruption cluster, so every method,
    EM included, visibly has to move one of them).
    """
    start = em.initial_parameters(X, 2, "full", 1e-6, "random_from_data", seed)
    common = dict(method=method, weights_init=start[0], means_init=start[1],
                  precisions_init=np.linalg.inv(start[2]))
    final = ({"tol": EM_TOL} if method == "em"
             else {"tol": STOP.tol, "gtol": STOP.gtol, "window": STOP.window})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row = [GaussianMixture(2, tol=0, gtol=0, max_iter=i, **common).fit(X)
               for i in iterations[:-1]]
        row.append(GaussianMixture(2, max_iter=iterations[-1], **final, **common).fit(X))
    return row


def _ellipse_task(task: tuple[str, int, tuple[int, ...]]) -> list[GaussianMixture]:
    method, seed, iterations = task
    return ellipse_row(load_old_faithful(), method, seed, iterations)


def ellipse_snapshots(X: np.ndarray, methods: Sequence[str], seed: int = ELLIPSE_SEED,
                      iterations: Sequence[int] = ELLIPSE_ITERATIONS, pool=None):
    """Per method, the models of :func:`ellipse_row` (``pool``: one task per method; Old Faithful)."""
    if pool is None:
        return {m: ellipse_row(X, m, seed, iterations) for m in methods}
    tasks = [(m, seed, tuple(iterations)) for m in methods]
    return dict(zip(methods, pool.map(_ellipse_task, tasks)))


def plot_ellipses(X: np.ndarray, rows: dict[str, list[GaussianMixture]],
                  iterations: Sequence[int] = ELLIPSE_ITERATIONS):
    """Old Faithful with 1- and 2-sigma ellipses, one row per method, one column per iteration."""
    from matplotlib.lines import Line2D

    fig = _figure((2.1 * len(iterations), 2.2 * len(rows) + 0.6))
    axes = fig.subplots(len(rows), len(iterations), sharex=True, sharey=True, squeeze=False)
    colours = ("tab:red", "tab:blue", "tab:green", "tab:purple")
    for r, (method, models) in enumerate(rows.items()):
        for c, (it, model) in enumerate(zip(iterations, models)):
            ax = axes[r, c]
            ax.scatter(X[:, 0], X[:, 1], s=2, color="0.6")
            for k in range(model.means_.shape[0]):
                for radius, ls in ((1.0, "-"), (2.0, "--")):
                    _ellipse(ax, model.means_[k], model.covariances_[k], radius, colours[k], ls)
            shown = "final" if it == iterations[-1] else f"after {it}"
            ax.set_title(f"{method}, {shown}: {model.score(X) * len(X):.1f}", fontsize=7)
            if c == 0:
                ax.set_ylabel(f"{method}\nwaiting [min]", fontsize=8)
            if r == len(rows) - 1:
                ax.set_xlabel("eruption [min]", fontsize=8)
    handles = [Line2D([], [], color="k", ls="-", label="1σ contour"),
               Line2D([], [], color="k", ls="--", label="2σ contour")]
    fig.legend(handles=handles, loc="upper right", fontsize=8)
    fig.suptitle("Old Faithful from a poor start (both components in the long-eruption cluster): "
                 "each method after 0, 1, 2, ... iterations; total log-likelihood in the titles",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


def run_comparison(mode: str = "default", out: Path | None = Path("out/gmm"), seed: int = 0,
                   methods: Sequence[str] = METHODS, seeds: int | None = None,
                   processes: int | None = None, log: Callable[[str], None] = print,
                   show: Callable[[str], None] | None = None) -> dict[str, list[Fit]]:
    """Run the comparison; return the fits per data set name (see the module docstring)."""
    seeds = seeds or (3 if mode == "quick" else 25)
    processes = processes or min(2, os.cpu_count() or 1)
    show = show or (lambda s: (sys.stderr.write(s), sys.stderr.flush()))
    datasets = build_datasets(mode, seed)
    results: dict[str, list[Fit]] = {}
    tables = []
    started = time.perf_counter()
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                      else "spawn")
    cpu0 = _cpu_seconds()
    with ctx.Pool(processes, initializer=_worker_init, initargs=(mode, seed)) as pool:
        for data in datasets:
            results[data.name] = run_dataset(pool, data, seeds, methods, show)
            tables.append(format_table(data, results[data.name]))
            log(tables[-1] + "\n")
        if "em" in methods:
            log(old_faithful_check(results["old_faithful_k2"]))
        log(f"{len(datasets)} data sets x {seeds} seeds x {len(STARTS)} starts x {len(methods)} "
            f"methods in {time.perf_counter() - started:.1f} s on {processes} processes")
        sizes = SPEED_SIZES["quick" if mode == "quick" else "default"]
        speed = pool.apply_async(_speed_task, (sizes,))  # beside the ellipses, one process each
        snapshots = None
        if out is not None:
            snapshots = ellipse_snapshots(load_old_faithful(), methods, pool=pool)
        tables.append(format_speed(speed.get()))
        log(tables[-1] + "\n")
    if out is not None:
        write_outputs(out, datasets, results, snapshots, tables, log)
    log(f"total {time.perf_counter() - started:.1f} s wall, {_cpu_seconds() - cpu0:.1f} s CPU "
        f"(this process and its workers)")
    return results


def _speed_task(sizes: Sequence[int]) -> list[tuple[str, int, float]]:
    X = load_old_faithful()
    return speed_table((X - X.mean(axis=0)) / X.std(axis=0), 2, sizes)


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def write_outputs(out: Path, datasets, results, snapshots, tables, log) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for data in datasets:
        plot_convergence(data, results[data.name]).savefig(out / f"convergence_{data.name}.png",
                                                           dpi=100)
    plot_final_loglik(datasets, results).savefig(out / "final_loglik.png", dpi=100)
    plot_ellipses(load_old_faithful(), snapshots).savefig(out / "ellipses_poor_start.png", dpi=90)
    (out / "summary.txt").write_text("\n\n".join(tables) + "\n")
    log(f"figures and summary.txt written to {out}")


def old_faithful_check(fits: Sequence[Fit]) -> str:
    """A line stating whether the best EM run reached the known Old Faithful optimum."""
    em_fits = [f.loglik for f in fits if f.method == "em" and f.error is None]
    if not em_fits:
        return "Old Faithful EM check: EM did not run"
    best = max(em_fits)
    ok = abs(best - OLD_FAITHFUL_EXPECTED) < 0.01
    return (f"Old Faithful EM check: total log-likelihood {best:.4f} "
            f"(expected {OLD_FAITHFUL_EXPECTED}) {'OK' if ok else 'MISMATCH'}")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (``python -m examples.gmm``)."""
    parser = argparse.ArgumentParser(prog="python -m examples.gmm",
                                     description="Compare EM with sct-driven optimisers on "
                                                 "Gaussian mixtures over many starts.")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="two small data sets, 3 seeds")
    size.add_argument("--all", action="store_true", help="add two synthetic data sets")
    parser.add_argument("--out", type=Path, default=Path("out/gmm"), help="output directory")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    parser.add_argument("--seeds", type=int, default=None, help="starts per kind (default 25)")
    parser.add_argument("--processes", type=int, default=None, help="worker processes")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "all" if args.all else "default"
    run_comparison(mode, args.out, args.seed, args.methods,
                   args.seeds, args.processes)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
