"""ADBench's LSTM (issue 15): sct against autograd, JAX and PyTorch, in one interleaved run.

    python -m bench.run --lstm                    # l = 2, 4 x c = 256, 1024, b = 14
    python -m bench.run --lstm --tiny             # tiny sizes, little timing (the smoke test)
    python -m bench.run --lstm --lstm-sizes "2,256;4,1024" --json out.json

The target is ``bench.adbench_lstm.lstm_objective`` as a NumPy user writes it (Python loops over time
steps and layers, a ``sigmoid`` helper, slices of the gate array, writes into a copy of the state); the
gradient is with respect to ``main_params`` and ``extra_params``, as in ADBench.  Each peer has the same
model in its own idiom:

* **autograd**: the same code on ``autograd.numpy``; the new state is a list of rows stacked with
  ``anp.stack`` (autograd has no writes into arrays); ``autograd.grad(..., argnum=(0, 1))``.
* **JAX (jit)**: ``jax.lax.scan`` over the time steps, a Python loop over the layers (unrolled when
  traced: ``l`` is a shape), ``jax.nn.sigmoid``, ``jnp.stack`` for the new state; objective and
  ``jax.grad(..., argnums=(0, 1))`` each under ``jax.jit``, float64.
* **PyTorch (eager)**: the same loops on float64 tensors, ``torch.sigmoid``/``torch.tanh``,
  ``torch.stack`` for the new state; the objective under ``no_grad``, the gradient by ``.backward()``.
* **sct**: ``sct.grad(lstm_objective, wrt=(0, 1))`` on the NumPy code itself.  While sct refuses it
  (``return ..., new_state`` after writes into ``new_state``), the row is ERROR with sct's message and a
  second row, **sct (copy)**, differentiates ``lstm_objective_copy``: the same code with
  ``lstm_predict`` returning ``new_state.copy()``, as sct's hint says.

Checks before timing: every objective equals the NumPy one (rel 1e-10); every gradient agrees with a
central difference of the NumPy objective along a random direction (rel 1e-6) and with the first gradient
that passed (max |g - g_ref| / max |g_ref| <= 1e-6 per array).  A tool that fails is listed as MISMATCH or
ERROR with the reason and is not timed.
"""
from __future__ import annotations

import numpy as np

from bench import adbench_lstm as lstm
from bench.adbench_lstm import lstm_model
from bench.run import (failed_cell, fmt_ratio, fmt_time, interleaved_or_error, ratios_to, record_times, rel_err,
                       short, table, timed)

B = 14
SIZES = [(2, 256), (2, 1024), (4, 256), (4, 1024)]  # (layers l, characters c)
TINY_SIZES = [(2, 6)]
OBJECTIVE_RTOL = 1e-10
FD_RTOL = 1e-6
GRAD_RTOL = 1e-6


# ---------------------------------------------------------------------------- sct's "today" baseline

def lstm_predict_copy(main_params, extra_params, state, x):
    """``lstm_predict`` with the one change sct's refusal hints at: it returns ``new_state.copy()``."""
    new_state = state.copy()
    x = x * extra_params[0]
    for i in range(0, state.shape[0], 2):
        hidden, cell = lstm_model(main_params[i], main_params[i + 1], state[i], state[i + 1], x)
        new_state[i] = hidden
        new_state[i + 1] = cell
        x = hidden
    return x * extra_params[1] + extra_params[2], new_state.copy()


def lstm_objective_copy(main_params, extra_params, state, sequence):
    """``lstm_objective`` calling ``lstm_predict_copy``: the same number."""
    total = 0.0
    count = 0
    inp = sequence[0]
    for t in range(sequence.shape[0] - 1):
        ypred, state = lstm_predict_copy(main_params, extra_params, state, inp)
        ynorm = ypred - np.log(np.sum(np.exp(ypred)) + 2.0)
        ygold = sequence[t + 1]
        total = total + np.sum(ygold * ynorm)
        count = count + ygold.shape[0]
        inp = ygold
    return -total / count


# ---------------------------------------------------------------------------- peers, each in its own idiom

def build_autograd():
    """autograd: (objective, gradient), both on NumPy arrays; the gradient is a tuple
    (d main_params, d extra_params)."""
    import autograd
    import autograd.numpy as anp

    def sigmoid(x):
        return 1.0 / (1.0 + anp.exp(-x))

    def model(weight, bias, hidden, cell, inp):
        gates = anp.concatenate((inp, hidden, inp, hidden)) * weight + bias
        b = hidden.shape[0]
        forget = sigmoid(gates[0:b])
        ingate = sigmoid(gates[b:2 * b])
        outgate = sigmoid(gates[2 * b:3 * b])
        change = anp.tanh(gates[3 * b:])
        cell = cell * forget + ingate * change
        hidden = outgate * anp.tanh(cell)
        return hidden, cell

    def predict(main_params, extra_params, state, x):
        x = x * extra_params[0]
        new_state = []
        for i in range(0, state.shape[0], 2):
            hidden, cell = model(main_params[i], main_params[i + 1], state[i], state[i + 1], x)
            new_state += [hidden, cell]
            x = hidden
        return x * extra_params[1] + extra_params[2], anp.stack(new_state)

    def objective(main_params, extra_params, state, sequence):
        total = 0.0
        count = 0
        inp = sequence[0]
        for t in range(sequence.shape[0] - 1):
            ypred, state = predict(main_params, extra_params, state, inp)
            ynorm = ypred - anp.log(anp.sum(anp.exp(ypred)) + 2.0)
            ygold = sequence[t + 1]
            total = total + anp.sum(ygold * ynorm)
            count = count + ygold.shape[0]
            inp = ygold
        return -total / count

    return objective, autograd.grad(objective, argnum=(0, 1))


def build_jax():
    """JAX: (objective, gradient, to_device), both jitted, float64; ``lax.scan`` over time steps."""
    from bench.gmm_objective import _jax
    jax = _jax()
    import jax.numpy as jnp

    def model(weight, bias, hidden, cell, inp):
        b = hidden.shape[0]
        gates = jnp.concatenate((inp, hidden, inp, hidden)) * weight + bias
        forget = jax.nn.sigmoid(gates[0:b])
        ingate = jax.nn.sigmoid(gates[b:2 * b])
        outgate = jax.nn.sigmoid(gates[2 * b:3 * b])
        change = jnp.tanh(gates[3 * b:])
        cell = cell * forget + ingate * change
        return outgate * jnp.tanh(cell), cell

    def predict(main_params, extra_params, state, x):
        x = x * extra_params[0]
        new_state = []
        for i in range(0, state.shape[0], 2):  # layers: a static count, unrolled at trace time
            hidden, cell = model(main_params[i], main_params[i + 1], state[i], state[i + 1], x)
            new_state += [hidden, cell]
            x = hidden
        return x * extra_params[1] + extra_params[2], jnp.stack(new_state)

    def objective(main_params, extra_params, state, sequence):
        def step(carry, ygold):
            state, inp = carry
            ypred, state = predict(main_params, extra_params, state, inp)
            ynorm = ypred - jnp.log(jnp.sum(jnp.exp(ypred)) + 2.0)
            return (state, ygold), jnp.sum(ygold * ynorm)

        _, terms = jax.lax.scan(step, (state, sequence[0]), sequence[1:])
        return -jnp.sum(terms) / sequence[1:].size

    def to_device(*arrays):
        return tuple(jnp.asarray(a, dtype=jnp.float64) for a in arrays)

    return jax.jit(objective), jax.jit(jax.grad(objective, argnums=(0, 1))), to_device


def build_torch():
    """PyTorch eager, float64: (objective, gradient, to_tensor); ``gradient`` clears and returns the
    ``.grad`` of the two parameter tensors (leaves with requires_grad=True, from ``to_tensor``)."""
    import torch

    def model(weight, bias, hidden, cell, inp):
        b = hidden.shape[0]
        gates = torch.cat((inp, hidden, inp, hidden)) * weight + bias
        forget = torch.sigmoid(gates[0:b])
        ingate = torch.sigmoid(gates[b:2 * b])
        outgate = torch.sigmoid(gates[2 * b:3 * b])
        change = torch.tanh(gates[3 * b:])
        cell = cell * forget + ingate * change
        return outgate * torch.tanh(cell), cell

    def predict(main_params, extra_params, state, x):
        x = x * extra_params[0]
        new_state = []
        for i in range(0, state.shape[0], 2):
            hidden, cell = model(main_params[i], main_params[i + 1], state[i], state[i + 1], x)
            new_state += [hidden, cell]
            x = hidden
        return x * extra_params[1] + extra_params[2], torch.stack(new_state)

    def objective(main_params, extra_params, state, sequence):
        total = 0.0
        count = 0
        inp = sequence[0]
        for t in range(sequence.shape[0] - 1):
            ypred, state = predict(main_params, extra_params, state, inp)
            ynorm = ypred - torch.log(torch.exp(ypred).sum() + 2.0)
            ygold = sequence[t + 1]
            total = total + (ygold * ynorm).sum()
            count = count + ygold.shape[0]
            inp = ygold
        return -total / count

    def gradient(main_params, extra_params, state, sequence):
        main_params.grad = extra_params.grad = None
        objective(main_params, extra_params, state, sequence).backward()
        return main_params.grad, extra_params.grad

    def to_tensor(main_params, extra_params, state, sequence):
        params = tuple(torch.tensor(a, dtype=torch.float64, requires_grad=True)
                       for a in (main_params, extra_params))
        return params + tuple(torch.tensor(a, dtype=torch.float64) for a in (state, sequence))

    return objective, gradient, to_tensor


# ---------------------------------------------------------------------------- the harness

def lstm_tools(peers):
    """name -> setup(data) returning dict(objective, gradient[, to_numpy, compiled]) of zero-argument
    callables; a setup may raise (the tool is then ERROR for that size)."""
    tools = {}
    if not peers["sct"].get("skip"):
        import sct

        def sct_setup(fn):
            def setup(*data):
                g = sct.grad(fn, wrt=(0, 1))  # cached by sct: a second size reuses the program
                return dict(objective=lambda: fn(*data), gradient=lambda: g(*data), first_call_is_transform=True)
            return setup
        tools["sct"] = sct_setup(lstm.lstm_objective)
        tools["sct (copy)"] = sct_setup(lstm_objective_copy)

    if not peers["autograd"].get("skip"):
        ag_obj, ag_grad = build_autograd()
        tools["autograd"] = lambda *data: dict(objective=lambda: ag_obj(*data), gradient=lambda: ag_grad(*data))

    if not peers["jax"].get("skip"):
        import jax

        def jax_setup(*data):
            j_obj, j_grad, to_device = build_jax()  # fresh jit per size: compile time per shape
            A = to_device(*data)
            return dict(objective=lambda: jax.block_until_ready(j_obj(*A)),
                        gradient=lambda: jax.block_until_ready(j_grad(*A)), compiled=True)
        tools["jax (jit, scan)"] = jax_setup

    if not peers["torch"].get("skip"):
        import torch
        t_obj, t_grad, to_tensor = build_torch()

        def torch_setup(*data):
            T = to_tensor(*data)

            def objective():
                with torch.no_grad():
                    return t_obj(*T)
            return dict(objective=objective, gradient=lambda: t_grad(*T),
                        to_numpy=lambda g: tuple(v.detach().numpy() for v in g))
        tools["torch (eager)"] = torch_setup
    return tools


def _as_float(v):
    return float(np.asarray(v.detach() if hasattr(v, "detach") else v))


def _directional_fd(data, v, h=1e-5):
    """Central difference of the NumPy objective along v = (v_main, v_extra)."""
    main, extra, state, seq = data
    fp = lstm.lstm_objective(main + h * v[0], extra + h * v[1], state, seq)
    fm = lstm.lstm_objective(main - h * v[0], extra - h * v[1], state, seq)
    return (fp - fm) / (2 * h)


def check_tool(rec, t, f_ref, fd, v, g_ref):
    """Warm up (first calls) and check one tool; fills ``rec``; returns its gradient as NumPy or None."""
    to_numpy = t.get("to_numpy", lambda g: tuple(np.asarray(a) for a in g))
    rec["objective_first_call_s"], f_val = timed(t["objective"])
    rec["gradient_first_call_s"], g_val = timed(t["gradient"])
    g = to_numpy(g_val)
    rec["objective_rel_err"] = abs(_as_float(f_val) - f_ref) / max(abs(f_ref), 1e-300)
    an = sum(float(np.sum(np.asarray(a) * d)) for a, d in zip(g, v))
    rec["fd_rel_err"] = abs(an - fd) / max(abs(fd), 1e-300)
    rec["gradient_rel_err"] = rel_err(g, g_ref) if g_ref is not None else 0.0
    ok = (rec["objective_rel_err"] <= OBJECTIVE_RTOL and rec["fd_rel_err"] <= FD_RTOL
          and rec["gradient_rel_err"] <= GRAD_RTOL)
    rec["status"] = "ok" if ok else "MISMATCH"
    return g if ok else None


def run_lstm_case(l, c, tools, opts, log):
    data = lstm.make_lstm_data(l, c, B, seed=0)
    f_ref = float(lstm.lstm_objective(*data))
    rng = np.random.default_rng(1)
    v = (rng.standard_normal(data[0].shape), rng.standard_normal(data[1].shape))
    fd = _directional_fd(data, v)
    case = {"l": l, "c": c, "b": B, "objective_value": f_ref, "fd_directional": fd, "tools": {}}
    live, g_ref = {}, None
    for name, setup in tools.items():
        rec = case["tools"][name] = {}
        try:
            t = setup(*data)
            g = check_tool(rec, t, f_ref, fd, v, g_ref)
            if g is not None:
                g_ref = g if g_ref is None else g_ref
                live[name] = t
        except Exception as exc:  # noqa: BLE001 - a refusal or a broken peer must not stop the run
            rec["status"] = "ERROR"
            rec["error"] = short(exc)
            rec["error_message"] = str(exc)
            rec["refused"] = type(exc).__module__.startswith("sct")
    fns = {(name, kind): t[kind] for name, t in live.items() for kind in ("objective", "gradient")}
    timings = interleaved_or_error(fns, opts, case["tools"])
    for name in record_times(live, timings, case["tools"]):
        t, rec = live[name], case["tools"][name]
        if t.get("compiled") or t.get("first_call_is_transform"):
            rec["first_call_overhead_s"] = max(rec["gradient_first_call_s"] - rec["gradient_s"], 0.0)
    sct_s = next((case["tools"][n].get("gradient_s") for n in ("sct", "sct (copy)")
                  if case["tools"].get(n, {}).get("gradient_s")), None)
    ratios_to(sct_s, case["tools"], "gradient_s")
    log(format_lstm_case(case))
    return case


def format_lstm_case(case):
    rows, notes = [], []
    for name, r in case["tools"].items():
        if r.get("status") != "ok":
            errors = {"objective rel err": "objective_rel_err", "fd rel err": "fd_rel_err",
                      "gradient rel err": "gradient_rel_err"}
            rows.append([name, failed_cell(name, r, notes, errors)] + [""] * 7)
            continue
        rows.append([name, fmt_time(r["objective_s"]), fmt_time(r["gradient_s"]), fmt_ratio(r["grad_over_obj"]),
                     fmt_ratio(r.get("sct_over_tool")), fmt_time(r.get("first_call_overhead_s")),
                     f"{r['fd_rel_err']:.1e}", f"{r['gradient_rel_err']:.1e}",
                     f"{r['objective_samples']}/{r['gradient_samples']}"])
    head = (f"LSTM  l={case['l']}  c={case['c']}  b={case['b']}   objective = {case['objective_value']:.10g}")
    return head + "\n" + table(["tool", "objective", "gradient", "grad/obj", "sct/tool", "first call*", "fd err",
                                "grad err", "samples"], rows) + "\n" + "".join(n + "\n" for n in notes)


def format_lstm_summary(cases):
    names = []
    for c in cases:
        names += [n for n in c["tools"] if n not in names]
    rows = []
    for c in cases:
        row = [f"{c['l']},{c['c']}"]
        for n in names:
            r = c["tools"].get(n, {})
            row.append(f"{fmt_time(r['objective_s'])} / {fmt_time(r['gradient_s'])} ({r['grad_over_obj']:.2g}x)"
                       if r.get("status") == "ok" else (r.get("status") or "-"))
        rows.append(row)
    return ("LSTM summary (b = 14): objective / gradient (gradient/objective)\n"
            + table(["l,c"] + names, rows) + "\n")


def run(peers, opts, log, sizes=None):
    """Every size in turn; returns the list of cases (JSON-ready dicts)."""
    sizes = sizes or (TINY_SIZES if opts.tiny else SIZES)
    tools = lstm_tools(peers)
    cases = [run_lstm_case(l, c, tools, opts, log) for l, c in sizes]
    log(format_lstm_summary(cases))
    log("* first call: first gradient call minus steady call (JAX: jit compile; sct: transformation)")
    return cases
