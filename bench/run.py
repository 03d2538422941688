"""Benchmark sct against autograd, JAX and PyTorch on the ADBench GMM objective
and on scalar Python code, in one run.

    python -m bench.run                    # quick subset (a few minutes)
    python -m bench.run --full             # ADBench grid D x K x N
    python -m bench.run --json out.json    # also write every number as JSON
    python -m bench.run --lstm --ba        # ADBench's LSTM and bundle adjustment instead

For each tool and size: objective time, gradient time, gradient/objective
ratio, and sct's gradient time relative to the tool; compile (JAX jit) and
transform (sct) time separately; peak memory of gradient vs objective where it
can be measured.  Every gradient is checked against the hand-written one
before it is timed; a tool that disagrees is reported and not timed.
See bench/README.md for the methodology.
"""

import argparse
import gc
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
import traceback

if __package__ in (None, ""):  # run as `python bench/run.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from bench import gmm_objective as gmm  # noqa: E402
from bench import scalar_loop as sl  # noqa: E402

RTOL = 1e-6  # gradient check against the hand-written gradient

QUICK_SIZES = [(2, 5, 1000), (10, 25, 1000), (20, 50, 1000), (64, 10, 1000), (10, 25, 10000)]
FULL_D = (2, 10, 20, 64)
FULL_K = (5, 10, 25, 50, 100, 200)
FULL_N = (1000, 10000)


# ---------------------------------------------------------------------------
# measuring
# ---------------------------------------------------------------------------

def timed(fn):
    """(seconds, result) of one call."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def interleaved(fns, budget, rounds, max_samples=50, min_sample=0.02):
    """Median, minimum and sample count of the per-call time of each already
    warmed-up function in ``fns`` (key -> zero-argument callable).

    Each function gets ``budget`` seconds in all, spread over ``rounds``
    rounds; every round visits the functions in turn, so that a burst of load
    from another process hits all of them rather than one.  Calls are batched
    so a sample lasts at least ``min_sample`` s; a round takes samples until
    its share of the budget is spent (at least one); a slow call measured
    while calibrating counts as a sample.  The garbage collector is off while
    sampling."""
    samples, numbers = {}, {}
    gc.collect()
    for key, fn in fns.items():
        one, _ = timed(fn)
        numbers[key] = max(1, min(10000, int(min_sample / max(one, 1e-9))))
        samples[key] = [one] if numbers[key] == 1 else []
    share = budget / rounds
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            for key, fn in fns.items():
                number, own = numbers[key], samples[key]
                start = time.perf_counter()
                while len(own) < max_samples:
                    t0 = time.perf_counter()
                    for _ in range(number):
                        fn()
                    own.append((time.perf_counter() - t0) / number)
                    if time.perf_counter() - start >= share:
                        break
    finally:
        if gc_was_on:
            gc.enable()
    return {key: (statistics.median(v), min(v), len(v)) for key, v in samples.items()}


def interleaved_or_error(fns, opts, records):
    """``interleaved`` timings, or {} with every timed tool marked ERROR if timing itself fails."""
    try:
        return interleaved(fns, opts.budget, opts.rounds) if fns else {}
    except Exception as exc:  # noqa: BLE001 - report, do not lose the other benchmark
        for name, _ in fns:
            records[name].update(status="ERROR", error="while timing: " + short(exc))
        return {}


def record_times(live: dict, timings: dict, records: dict) -> list[str]:
    """Each live tool's objective and gradient times (median, minimum, samples) and their ratio into its
    record; the names that were timed."""
    timed = []
    for name in live:
        if (name, "gradient") not in timings:
            continue
        rec = records[name]
        for kind in ("objective", "gradient"):
            rec[kind + "_s"], rec[kind + "_min_s"], rec[kind + "_samples"] = timings[(name, kind)]
        rec["grad_over_obj"] = rec["gradient_s"] / rec["objective_s"]
        timed.append(name)
    return timed


def ratios_to(base_s: float | None, records: dict, key: str, out: str = "sct_over_tool") -> None:
    """``records[...][out] = base_s / records[...][key]`` wherever both are known (sct's time over each tool's)."""
    for rec in records.values():
        if base_s and rec.get(key):
            rec[out] = base_s / rec[key]


def traced_peak(fn):
    """Peak bytes allocated through Python/NumPy allocators during one call
    (tracemalloc; sees NumPy data buffers, not torch's or XLA's)."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
        del out
    finally:
        tracemalloc.stop()
    return peak


def rel_err(got, ref):
    """max over the arrays of max|got - ref| / max|ref| (each array on its own
    scale).  A wrong number of arrays or a wrong shape raises ValueError."""
    got = list(got)
    if len(got) != len(ref):
        raise ValueError(f"expected {len(ref)} derivative arrays, got {len(got)}")
    worst = 0.0
    for i, (g, r) in enumerate(zip(got, ref)):
        g = np.asarray(g, dtype=float)
        if g.shape != np.shape(r):
            raise ValueError(f"derivative {i}: shape {g.shape}, expected {np.shape(r)}")
        worst = max(worst, float(np.max(np.abs(g - r))) / max(float(np.max(np.abs(r))), 1e-300))
    return worst


def fmt_time(s):
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.3g} us"
    if s < 1.0:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.3g}"


def fmt_bytes(b):
    if b is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if b < 1024 or unit == "GiB":
            return f"{b:.3g} {unit}" if unit != "B" else f"{int(b)} B"
        b /= 1024.0


def table(headers, rows):
    """A pipe table (reads in a terminal, pastes into Markdown)."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells]
    return "\n".join(out)


def short(exc):
    msg = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return msg[:160]


# ---------------------------------------------------------------------------
# environment
# ---------------------------------------------------------------------------

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info(peers):
    info = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "versions": {name: p.get("version") for name, p in peers.items()},
        "unavailable": {name: p["skip"] for name, p in peers.items() if p.get("skip")},
    }
    try:
        import threadpoolctl
        info["blas"] = [{k: d.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
                        for d in threadpoolctl.threadpool_info()]
    except ImportError:
        info["blas"] = "threadpoolctl not installed"
    if "torch" in peers and not peers["torch"].get("skip"):
        import torch
        info["torch_threads"] = torch.get_num_threads()
    return info


def limit_threads(n):
    """Best-effort thread limit for this process, set before the peers load."""
    if n == 1:  # XLA reads its flags when jax first initialises its CPU backend
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                                   + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    try:
        import threadpoolctl
        threadpoolctl.threadpool_limits(n)
    except ImportError:
        pass
    try:
        import torch
        torch.set_num_threads(n)
    except ImportError:
        pass


def probe_peers(wanted):
    """Import each peer once; record version or the reason it is skipped."""
    peers = {}
    probes = {
        "autograd": lambda: __import__("autograd"),
        "jax": lambda: (__import__("jax"), __import__("jaxlib"))[0],
        "torch": lambda: __import__("torch"),
        "sct": lambda: __import__("sct"),
    }
    for name, probe in probes.items():
        if name not in wanted:
            peers[name] = {"skip": "not selected (--tools)"}
            continue
        try:
            mod = probe()
        except Exception as exc:  # noqa: BLE001 - any import failure means skip
            peers[name] = {"skip": f"import failed: {short(exc)}"}
            continue
        version = getattr(mod, "__version__", None)
        if version is None:
            try:
                version = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                version = "?"
        peers[name] = {"version": version}
        if name == "sct":
            missing = [a for a in ("grad", "jvp") if not hasattr(mod, a)]
            if len(missing) == 2:
                peers[name] = {"skip": "sct imports but has neither sct.grad nor sct.jvp yet"}
            elif missing:  # still run what exists; the missing part fails per row
                peers[name]["note"] = f"sct has no sct.{missing[0]} yet"
    return peers


# ---------------------------------------------------------------------------
# GMM
# ---------------------------------------------------------------------------

class SctTransform:
    """Times sct's source transformation once per (function, options) label.

    ``get`` makes two identical requests (``sct.grad(...)`` / ``sct.jvp(...)``)
    and times each; ``first_calls`` then times the first call of the first
    result (cold: a lazy transform happens here) and the first call of the
    second result (cheap if the transform was cached), and ``steady`` records
    the median call time measured afterwards, for comparison."""

    def __init__(self):
        self.records = {}
        self.pairs = {}

    def get(self, label, make):
        if label not in self.pairs:
            t_cold, fn = timed(make)
            t_again, fn2 = timed(make)
            self.records[label] = {"request_cold_s": t_cold, "request_again_s": t_again,
                                   "same_object": fn2 is fn}
            self.pairs[label] = (fn, fn2)
        return self.pairs[label]

    def first_calls(self, label, first_call_s, call_second):
        rec = self.records[label]
        if "first_call_s" not in rec:
            rec["first_call_s"] = first_call_s
            rec["second_request_first_call_s"], _ = timed(call_second)

    def steady(self, label, seconds):
        self.records[label].setdefault("steady_call_s", seconds)


def gmm_tools(peers, sct_transform):
    """name -> setup(data) returning dict(objective, gradient, to_numpy, memory)."""
    tools = {}

    def numpy_hand(alphas, means, icf, x):
        args = gmm.gmm_numpy_args(alphas, means, icf, x)
        return dict(objective=lambda: gmm.gmm_numpy(*args),
                    gradient=lambda: gmm.gmm_grad_hand(alphas, means, icf, x),
                    memory="tracemalloc")
    tools["numpy (hand)"] = numpy_hand

    if not peers["sct"].get("skip"):
        import sct

        def sct_setup(alphas, means, icf, x):
            args = gmm.gmm_numpy_args(alphas, means, icf, x)
            g, g2 = sct_transform.get("gmm grad", lambda: sct.grad(gmm.gmm_numpy, wrt=(0, 1, 2)))
            return dict(objective=lambda: gmm.gmm_numpy(*args), gradient=lambda: g(*args),
                        gradient_again=lambda: g2(*args), memory="tracemalloc",
                        transform_label="gmm grad")
        tools["sct"] = sct_setup

    if not peers["autograd"].get("skip"):
        ag_obj, ag_grad = gmm.build_autograd()

        def autograd_setup(alphas, means, icf, x):
            return dict(objective=lambda: ag_obj(alphas, means, icf, x),
                        gradient=lambda: ag_grad(alphas, means, icf, x), memory="tracemalloc")
        tools["autograd"] = autograd_setup

    if not peers["jax"].get("skip"):
        import jax

        def jax_setup(alphas, means, icf, x):
            j_obj, j_grad, to_device = gmm.build_jax()  # fresh jit: compile time is per case
            A = to_device(alphas, means, icf, x)
            jax.block_until_ready(A)

            def memory():
                stats = [f.lower(*A).compile().memory_analysis() for f in (j_obj, j_grad)]
                return tuple(s.temp_size_in_bytes + s.output_size_in_bytes for s in stats)
            return dict(objective=lambda: jax.block_until_ready(j_obj(*A)),
                        gradient=lambda: jax.block_until_ready(j_grad(*A)),
                        memory=memory, compiled=True)
        tools["jax (jit)"] = jax_setup

    if not peers["torch"].get("skip"):
        import torch
        t_obj, t_grad, to_tensor = gmm.build_torch()

        def torch_setup(alphas, means, icf, x):
            T = to_tensor(alphas, means, icf, x)

            def objective():
                with torch.no_grad():
                    return t_obj(*T)
            return dict(objective=objective, gradient=lambda: t_grad(*T), memory=None,
                        to_numpy=lambda g: tuple(v.detach().numpy() for v in g))
        tools["torch (eager)"] = torch_setup
    return tools


def run_gmm_case(D, K, N, tools, opts, sct_transform, log):
    alphas, means, icf, x = gmm.make_gmm_data(N, K, D, seed=0)
    args = gmm.gmm_numpy_args(alphas, means, icf, x)
    f_ref = float(gmm.gmm_numpy(*args))
    g_ref = gmm.gmm_grad_hand(alphas, means, icf, x)
    # central difference along one random direction validates the reference itself
    rng = np.random.default_rng(1)
    v = [rng.standard_normal(a.shape) for a in (alphas, means, icf)]
    h = 1e-5
    fp = gmm.gmm_numpy(*gmm.gmm_numpy_args(*(p + h * d for p, d in zip((alphas, means, icf), v)), x))
    fm = gmm.gmm_numpy(*gmm.gmm_numpy_args(*(p - h * d for p, d in zip((alphas, means, icf), v)), x))
    fd = (fp - fm) / (2 * h)
    an = sum(float(np.sum(g * d)) for g, d in zip(g_ref, v))
    case = {"D": D, "K": K, "N": N, "objective_value": f_ref,
            "hand_fd_directional_rel_err": abs(fd - an) / max(abs(an), 1e-300), "tools": {}}
    live = {}  # tools that passed the checks: name -> setup dict
    for name, setup in tools.items():
        rec = case["tools"][name] = {}
        try:
            t = setup(alphas, means, icf, x)
            to_numpy = t.get("to_numpy", lambda g: tuple(np.asarray(a) for a in g))
            # warm-up = first calls (jit compile / sct first call happen here)
            rec["objective_first_call_s"], f_val = timed(t["objective"])
            rec["gradient_first_call_s"], g_val = timed(t["gradient"])
            if "transform_label" in t:
                sct_transform.first_calls(t["transform_label"], rec["gradient_first_call_s"],
                                          t["gradient_again"])
            f_val = float(np.asarray(f_val.detach() if hasattr(f_val, "detach") else f_val))
            rec["objective_rel_err"] = abs(f_val - f_ref) / max(abs(f_ref), 1e-300)
            rec["gradient_rel_err"] = rel_err(to_numpy(g_val), g_ref)
            del f_val, g_val
            if rec["objective_rel_err"] > RTOL or not rec["gradient_rel_err"] <= RTOL:
                rec["status"] = "MISMATCH"
                continue
            rec["status"] = "ok"
            live[name] = t
        except Exception as exc:  # noqa: BLE001 - a broken tool must not stop the run
            rec["status"] = "ERROR"
            rec["error"] = short(exc)
            rec["traceback"] = traceback.format_exc(limit=-4)
        gc.collect()

    fns = {(name, kind): t[kind] for name, t in live.items() for kind in ("objective", "gradient")}
    timings = interleaved_or_error(fns, opts, case["tools"])
    for name in record_times(live, timings, case["tools"]):
        t, rec = live[name], case["tools"][name]
        if t.get("compiled"):
            rec["compile_objective_s"] = max(rec["objective_first_call_s"] - rec["objective_s"], 0.0)
            rec["compile_gradient_s"] = max(rec["gradient_first_call_s"] - rec["gradient_s"], 0.0)
        if "transform_label" in t:
            rec["first_call_overhead_s"] = max(rec["gradient_first_call_s"] - rec["gradient_s"], 0.0)
            sct_transform.steady(t["transform_label"], rec["gradient_s"])
    if not opts.no_memory:
        for name, t in live.items():
            rec = case["tools"][name]
            try:
                if t["memory"] == "tracemalloc":
                    rec["memory_method"] = "tracemalloc peak"
                    rec["peak_objective_bytes"] = traced_peak(t["objective"])
                    rec["peak_gradient_bytes"] = traced_peak(t["gradient"])
                elif callable(t["memory"]):
                    rec["memory_method"] = "XLA memory_analysis temp+output"
                    rec["peak_objective_bytes"], rec["peak_gradient_bytes"] = t["memory"]()
                if rec.get("peak_objective_bytes"):
                    rec["memory_ratio"] = rec["peak_gradient_bytes"] / rec["peak_objective_bytes"]
            except Exception as exc:  # noqa: BLE001
                rec["memory_error"] = short(exc)
    live = fns = None
    gc.collect()
    ratios_to(case["tools"].get("sct", {}).get("gradient_s"), case["tools"], "gradient_s", "sct_over_tool_gradient")
    log(format_gmm_case(case))
    return case


def failed_cell(name: str, r: dict, notes: list, errors: dict) -> str:
    """The table cell of a tool that failed its checks, "STATUS (n)", with note n appended to ``notes``: its
    error, or its measured errors (``errors`` maps a label to the record's key)."""
    detail = r.get("error") or ", ".join(f"{label} {r.get(key, float('nan')):.2g}" for label, key in errors.items())
    notes.append(f"  ({len(notes) + 1}) {name}: {detail}")
    return f"{r.get('status')} ({len(notes)})"


def format_gmm_case(case):
    rows, notes = [], []
    for name, r in case["tools"].items():
        if r.get("status") != "ok":
            errors = {"objective rel err": "objective_rel_err", "gradient rel err": "gradient_rel_err"}
            rows.append([name, failed_cell(name, r, notes, errors)] + [""] * 9)
            continue
        compile_ = r.get("compile_gradient_s", r.get("first_call_overhead_s"))
        rows.append([
            name, fmt_time(r["objective_s"]), fmt_time(r["gradient_s"]), fmt_ratio(r["grad_over_obj"]),
            fmt_ratio(r.get("sct_over_tool_gradient")), fmt_time(compile_),
            fmt_bytes(r.get("peak_objective_bytes")), fmt_bytes(r.get("peak_gradient_bytes")),
            fmt_ratio(r.get("memory_ratio")), f"{r['gradient_rel_err']:.1e}",
            f"{r['objective_samples']}/{r['gradient_samples']}",
        ])
    head = (f"GMM  D={case['D']}  K={case['K']}  N={case['N']}   objective = {case['objective_value']:.10g}"
            f"   (hand gradient vs central difference: rel err {case['hand_fd_directional_rel_err']:.1e})")
    return head + "\n" + table(
        ["tool", "objective", "gradient", "grad/obj", "sct/tool", "compile*", "peak obj", "peak grad",
         "mem g/o", "grad err", "samples"], rows) + "\n" + "".join(n + "\n" for n in notes)


# ---------------------------------------------------------------------------
# scalar targets
# ---------------------------------------------------------------------------

def scalar_tools(peers, sct_transform):
    """name -> setup(target, x, y, dx, dy) returning dict with optional keys
    primal, reverse, jvp, forward_grad (zero-argument callables)."""
    tools = {}
    plain = {"loop": sl.loop, "lecture": sl.lecture}
    hand = {"loop": (sl.loop_grad_hand, sl.loop_jvp_hand),
            "lecture": (sl.lecture_grad_hand, sl.lecture_jvp_hand)}

    def python_setup(target, x, y, dx, dy):
        f = plain[target]
        g, j = hand[target]
        return dict(primal=lambda: f(x, y), reverse=lambda: g(x, y), jvp=lambda: j(x, y, dx, dy))
    tools["python / hand"] = python_setup

    if not peers["sct"].get("skip"):
        import sct

        def sct_setup(target, x, y, dx, dy):
            f = plain[target]
            out = dict(primal=lambda: f(x, y), labels={})
            makers = {
                "reverse": lambda: sct.grad(f, wrt=(0, 1)),
                "forward_grad": lambda: sct.grad(f, wrt=(0, 1), mode="forward"),
                "jvp": lambda: sct.jvp(f, wrt=(0, 1)),
            }
            for mode, make in makers.items():
                label = f"{target} {mode}"
                try:
                    fns = sct_transform.get(label, make)
                except Exception as exc:  # noqa: BLE001
                    out[mode + "_error"] = short(exc)
                    continue
                out["labels"][mode] = label
                for key, fn in zip((mode, mode + "_again"), fns):
                    out[key] = ((lambda fn=fn: fn(x, y, dx, dy)) if mode == "jvp"
                                else (lambda fn=fn: fn(x, y)))
            return out
        tools["sct"] = sct_setup

    if not peers["autograd"].get("skip"):
        ag = sl.build_autograd()

        def autograd_setup(target, x, y, dx, dy):
            f, g, j = ag[target]
            return dict(primal=lambda: f(x, y), reverse=lambda: g(x, y), jvp=lambda: j(x, y, dx, dy))
        tools["autograd"] = autograd_setup

    if not peers["jax"].get("skip"):
        import jax
        import jax.numpy as jnp

        for jit in (False, True):
            def jax_setup(target, x, y, dx, dy, jit=jit):
                f, g, j = sl.build_jax(jit)[target]
                X, Y, DX, DY = (jnp.float64(v) for v in (x, y, dx, dy))
                return dict(primal=lambda: jax.block_until_ready(f(X, Y)),
                            reverse=lambda: jax.block_until_ready(g(X, Y)),
                            jvp=lambda: jax.block_until_ready(j(X, Y, DX, DY)), compiled=jit)
            tools["jax (jit)" if jit else "jax (no jit)"] = jax_setup

    if not peers["torch"].get("skip"):
        import torch
        tt = sl.build_torch()

        def torch_setup(target, x, y, dx, dy):
            f, g, j = tt[target]
            X, Y = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, y))
            X0, Y0, DX, DY = (torch.tensor(v, dtype=torch.float64) for v in (x, y, dx, dy))
            return dict(primal=lambda: f(X0, Y0), reverse=lambda: g(X, Y), jvp=lambda: j(X0, Y0, DX, DY))
        tools["torch (eager)"] = torch_setup
    return tools


MODES = ("primal", "reverse", "forward_grad", "jvp")


def run_scalar_target(target, tools, opts, sct_transform, log):
    points, (dx, dy) = sl.scalar_inputs()
    x, y = points[target]
    plain = {"loop": sl.loop, "lecture": sl.lecture}[target]
    g_ref = {"loop": sl.loop_grad_hand, "lecture": sl.lecture_grad_hand}[target](x, y)
    v_ref = plain(x, y)
    jvp_ref = g_ref[0] * dx + g_ref[1] * dy
    case = {"target": target, "x": x, "y": y, "dx": dx, "dy": dy, "value": v_ref,
            "gradient": list(g_ref), "tools": {}}
    live = {}  # (tool, mode) -> (callable, setup dict) for those that passed the checks
    for name, setup in tools.items():
        rec = case["tools"][name] = {}
        try:
            t = setup(target, x, y, dx, dy)
        except Exception as exc:  # noqa: BLE001
            rec["error"] = short(exc)
            continue
        for mode in MODES:
            if mode + "_error" in t:
                rec[mode] = {"status": "ERROR", "error": t[mode + "_error"]}
            if mode not in t:
                continue
            m = rec[mode] = {}
            try:
                m["first_call_s"], out = timed(t[mode])
                label = t.get("labels", {}).get(mode)
                if label:
                    sct_transform.first_calls(label, m["first_call_s"], t[mode + "_again"])
                if mode == "primal":
                    err = abs(float(out) - v_ref) / abs(v_ref)
                elif mode == "jvp":
                    val, der = sl.as_float_pair(out)
                    err = max(abs(val - v_ref) / abs(v_ref), abs(der - jvp_ref) / abs(jvp_ref))
                else:
                    err = rel_err(sl.as_float_pair(out), [np.asarray(g) for g in g_ref])
                m["rel_err"] = err
                m["status"] = "ok" if err <= RTOL else "MISMATCH"
                if m["status"] == "ok":
                    live[(name, mode)] = (t[mode], t)
            except Exception as exc:  # noqa: BLE001
                m["status"] = "ERROR"
                m["error"] = short(exc)
                m["traceback"] = traceback.format_exc(limit=-4)

    try:
        timings = interleaved({key: fn for key, (fn, _) in live.items()}, opts.budget, opts.rounds)
    except Exception as exc:  # noqa: BLE001
        timings = {}
        for name, mode in live:
            case["tools"][name][mode].update(status="ERROR", error="while timing: " + short(exc))
    for (name, mode), (_, t) in live.items():
        if (name, mode) not in timings:
            continue
        m = case["tools"][name][mode]
        m["time_s"], m["min_s"], m["samples"] = timings[(name, mode)]
        if t.get("compiled"):
            m["compile_s"] = max(m["first_call_s"] - m["time_s"], 0.0)
        label = t.get("labels", {}).get(mode)
        if label:
            m["first_call_overhead_s"] = max(m["first_call_s"] - m["time_s"], 0.0)
            sct_transform.steady(label, m["time_s"])
    live = timings = None

    python_primal = case["python_primal_s"] = (
        case["tools"].get("python / hand", {}).get("primal", {}).get("time_s"))
    sct_rec = case["tools"].get("sct", {})
    for name, rec in case["tools"].items():
        own = rec.get("primal", {}).get("time_s")
        for mode in ("reverse", "forward_grad", "jvp"):
            m = rec.get(mode)
            if not m or "time_s" not in m:
                continue
            if own:
                m["over_own_primal"] = m["time_s"] / own
            if python_primal:
                m["over_python_primal"] = m["time_s"] / python_primal
            s = sct_rec.get(mode, {})
            if "time_s" in s:
                m["sct_over_tool"] = s["time_s"] / m["time_s"]
    log(format_scalar_case(case))
    return case


def format_scalar_case(case):
    rows, notes = [], []
    for name, rec in case["tools"].items():
        if "error" in rec:
            notes.append(f"  ({len(notes) + 1}) {name}: {rec['error']}")
            rows.append([name, "-", f"ERROR ({len(notes)})"] + [""] * 7)
            continue
        p = rec.get("primal", {})
        for mode, label in (("reverse", "reverse grad"), ("forward_grad", "forward grad"), ("jvp", "JVP")):
            m = rec.get(mode)
            if not m:
                continue
            if m.get("status") != "ok":
                detail = m.get("error") or f"rel err {m.get('rel_err', float('nan')):.2g}"
                notes.append(f"  ({len(notes) + 1}) {name} {label}: {detail}")
                rows.append([name, label, f"{m.get('status')} ({len(notes)})"] + [""] * 7)
                continue
            rows.append([name, label, fmt_time(p.get("time_s")), fmt_time(m["time_s"]),
                         fmt_ratio(m.get("over_own_primal")), fmt_ratio(m.get("over_python_primal")),
                         fmt_ratio(m.get("sct_over_tool")),
                         fmt_time(m.get("compile_s", m.get("first_call_overhead_s"))),
                         f"{m['rel_err']:.1e}", str(m["samples"])])
    head = (f"scalar '{case['target']}'  at (x, y) = ({case['x']}, {case['y']}), direction ({case['dx']}, "
            f"{case['dy']});  value {case['value']:.10g};  plain-Python primal "
            f"{fmt_time(case['python_primal_s'])}")
    return head + "\n" + table(
        ["tool", "mode", "primal (own)", "derivative", "/own primal", "/python primal", "sct/tool",
         "compile*", "err", "samples"], rows) + "\n" + "".join(n + "\n" for n in notes)


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

def parse_sizes(text):
    sizes = []
    for part in text.split(";"):
        if part.strip():
            D, K, N = (int(v) for v in part.split(","))
            sizes.append((D, K, N))
    return sizes


def parse_pairs(text):
    """ "l,c;l,c" -> [(l, c), ...]"""
    return [tuple(int(v) for v in part.split(",")) for part in text.split(";") if part.strip()]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    grid = ap.add_mutually_exclusive_group()
    grid.add_argument("--quick", action="store_true", help="small default subset (default)")
    grid.add_argument("--full", action="store_true", help="D in {2,10,20,64} x K in {5..200} x N in {1e3,1e4}")
    grid.add_argument("--sizes", type=parse_sizes, help='explicit GMM sizes "D,K,N;D,K,N"')
    ap.add_argument("--json", metavar="PATH", help="write all results as JSON")
    ap.add_argument("--budget", type=float, help="seconds of timing per measurement "
                    "(default 0.4 quick, 1.5 full)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds over which each measurement's "
                    "budget is spread, visiting all tools in turn (default 3)")
    ap.add_argument("--tools", default="sct,autograd,jax,torch",
                    help="comma-separated peers to try (NumPy/hand is always run)")
    ap.add_argument("--no-gmm", action="store_true")
    ap.add_argument("--no-scalar", action="store_true")
    ap.add_argument("--no-memory", action="store_true", help="skip peak-memory measurement")
    ap.add_argument("--threads", type=int, help="limit every library to this many threads "
                    "(BLAS via threadpoolctl, torch.set_num_threads, XLA flags when 1); "
                    "default: each library's own default")
    ap.add_argument("--lstm", action="store_true", help="ADBench's LSTM (bench/lstm.py) instead of GMM/scalars")
    ap.add_argument("--ba", action="store_true", help="ADBench's bundle adjustment (bench/ba.py) instead of "
                    "GMM/scalars")
    ap.add_argument("--lstm-sizes", type=parse_pairs, help='--lstm: explicit "l,c;l,c" (b = 14)')
    ap.add_argument("--ba-sample", type=int, help="--ba: observations per per-observation call (default 200)")
    ap.add_argument("--tiny", action="store_true", help="--lstm/--ba: tiny sizes, little timing (smoke test)")
    ap.add_argument("--scale", action="store_true", help="the GMM gradient at N = 1e6 ... 1e8 on NumPy, Dask "
                    "(threaded and distributed) and JAX (bench/scale.py); nothing else")
    ap.add_argument("--scale-n", default="1e6,1e7", help="--scale: comma-separated N (default 1e6,1e7)")
    ap.add_argument("--numpy-max", type=float, default=3e7, help="--scale: largest N for NumPy in memory")
    ap.add_argument("--jax-max", type=float, default=3e7, help="--scale: largest N for JAX")
    opts = ap.parse_args(argv)
    if opts.scale:
        from . import scale
        rows = scale.run([int(float(n)) for n in opts.scale_n.split(",")], int(opts.numpy_max),
                         int(opts.jax_max))
        if opts.json:
            with open(opts.json, "w") as fh:
                json.dump({"scale": rows}, fh, indent=1)
        return
    if opts.threads:
        limit_threads(opts.threads)

    adbench = opts.lstm or opts.ba
    if adbench:
        opts.budget = opts.budget or (0.01 if opts.tiny else 1.5)
        if opts.tiny:
            opts.rounds = 1
    if opts.full:
        sizes = [(D, K, N) for N in FULL_N for D in FULL_D for K in FULL_K]
    else:
        sizes = opts.sizes or QUICK_SIZES
    budget = opts.budget = opts.budget or (1.5 if opts.full else 0.4)
    opts.rounds = max(1, opts.rounds)
    wanted = {t.strip() for t in opts.tools.split(",") if t.strip()}

    def log(text):
        print(text, flush=True)

    if os.environ.get("OPENBLAS_CORETYPE") or os.environ.get("OPENBLAS_L2_SIZE"):
        log("warning: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set; they slow current NumPy. Rerun as\n"
            "  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m bench.run ...\n")
    peers = probe_peers(wanted)
    info = machine_info(peers)
    log(f"machine: {info['cpu']}, {info['cores']} cores; Python {info['python']}, NumPy {info['numpy']}; "
        f"BLAS {info['blas']}")
    log("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v))
    for name, why in info["unavailable"].items():
        log(f"skipped {name}: {why}")
    for name, p in peers.items():
        if p.get("note"):
            log(f"note {name}: {p['note']}")
    load = info["load_average_at_start"]
    if load and load[0] > 0.5:
        log(f"warning: load average {load[0]:.2f} before the run; other processes compete for the "
            f"{info['cores']} cores and the numbers will be noisy")
    checked = ("checked (see bench/lstm.py, bench/ba.py)" if adbench
               else f"checked against the hand-written one (rel err <= {RTOL:g})")
    log(f"budget {budget} s per measurement over {opts.rounds} interleaved rounds; gradients "
        f"{checked} before timing\n")

    if adbench:
        return run_adbench(opts, peers, info, log)
    sct_transform = SctTransform()
    results = {"machine": info, "config": {"budget_s": budget, "rtol": RTOL, "sizes": sizes,
                                           "threads": opts.threads or "library defaults",
                                           "rounds": opts.rounds,
                                           "mode": "full" if opts.full else "quick"},
               "gmm": [], "scalar": []}
    t_start = time.perf_counter()
    if not opts.no_gmm:
        tools = gmm_tools(peers, sct_transform)
        for D, K, N in sizes:
            results["gmm"].append(run_gmm_case(D, K, N, tools, opts, sct_transform, log))
        log(format_gmm_summary(results["gmm"]))
    if not opts.no_scalar:
        tools = scalar_tools(peers, sct_transform)
        for target in ("loop", "lecture"):
            results["scalar"].append(run_scalar_target(target, tools, opts, sct_transform, log))
    results["sct_transform"] = sct_transform.records
    if sct_transform.records:
        log(format_transform(sct_transform.records))
    results["total_seconds"] = time.perf_counter() - t_start
    results["machine"]["load_average_at_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    log(f"total {results['total_seconds']:.1f} s")
    log("* compile: JAX first call minus steady call (jit compile); sct first call minus steady call "
        "(transform cost not already paid in sct.grad/sct.jvp)")
    log("peak memory: tracemalloc peak of one call for numpy (hand), sct, autograd; XLA's compiled "
        "memory_analysis (temp + output) for jax, not comparable; torch not measured")
    log("sct/tool: sct's time / the tool's time for the same derivative (> 1: sct slower)")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(results, f, indent=1, default=_json_default)
        log(f"wrote {opts.json}")
    return results


def run_adbench(opts, peers, info, log):
    """``--lstm`` / ``--ba``: ADBench's LSTM and bundle adjustment (bench/lstm.py, bench/ba.py)."""
    from bench import ba, lstm
    results = {"machine": info, "config": {"budget_s": opts.budget, "rounds": opts.rounds, "tiny": opts.tiny,
                                           "threads": opts.threads or "library defaults"}}
    t_start = time.perf_counter()
    if opts.lstm:
        results["lstm"] = lstm.run(peers, opts, log, opts.lstm_sizes)
    if opts.ba:
        results["ba"] = ba.run(peers, opts, log)
    results["total_seconds"] = time.perf_counter() - t_start
    results["machine"]["load_average_at_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    log(f"total {results['total_seconds']:.1f} s; load average at start {info['load_average_at_start']}, "
        f"at end {results['machine']['load_average_at_end']}")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(results, f, indent=1, default=_json_default)
        log(f"wrote {opts.json}")
    return results


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, tuple):
        return list(o)
    return str(o)


def format_gmm_summary(cases):
    names = []
    for c in cases:
        for n in c["tools"]:
            if n not in names:
                names.append(n)
    rows = []
    for c in cases:
        row = [f"{c['D']},{c['K']},{c['N']}"]
        for n in names:
            r = c["tools"].get(n, {})
            row.append(f"{fmt_time(r['gradient_s'])} ({r['grad_over_obj']:.2g}x)" if r.get("status") == "ok"
                       else (r.get("status") or "-"))
        rows.append(row)
    return ("GMM summary: gradient time (gradient/objective ratio)\n"
            + table(["D,K,N"] + names, rows) + "\n")


def format_transform(records):
    rows = [[label, fmt_time(r["request_cold_s"]), fmt_time(r.get("first_call_s")),
             fmt_time(r.get("steady_call_s")), fmt_time(r["request_again_s"]),
             fmt_time(r.get("second_request_first_call_s")), str(r["same_object"])]
            for label, r in records.items()]
    return ("sct transformation (once per process; first call = at the first size measured)\n"
            + table(["function", "request (cold)", "first call", "steady call", "2nd request",
                     "2nd request, first call", "same object"], rows) + "\n")


if __name__ == "__main__":
    main()
