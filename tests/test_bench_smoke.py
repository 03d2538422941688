"""Fast checks of the benchmark harness (bench/): the hand-written gradients
match finite differences, and every installed peer computes the same
objective and gradient as the NumPy reference on a tiny problem."""

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ is not an installed package

from bench import gmm_objective as gmm  # noqa: E402
from bench import scalar_loop as sl  # noqa: E402

N, K, D = 6, 3, 4


def installed(name):
    return importlib.util.find_spec(name) is not None


def needs(name):
    return pytest.mark.skipif(not installed(name), reason=f"{name} not installed")


@pytest.fixture(scope="module")
def data():
    alphas, means, icf, x = gmm.make_gmm_data(N, K, D, seed=3)
    return alphas, means, 5.0 * icf, x  # larger icf: off-diagonal terms matter


def objective(alphas, means, icf, x):
    return float(gmm.gmm_numpy(*gmm.gmm_numpy_args(alphas, means, icf, x)))


def loop_reference(alphas, means, icf, x):
    """The ADBench objective written out point by point, entry by entry."""
    n, d = x.shape
    total = 0.0
    for i in range(n):
        terms = []
        for k in range(len(alphas)):
            q, l = icf[k, :d], icf[k, d:]
            xc = x[i] - means[k]
            z = np.exp(q) * xc
            p = 0
            for col in range(d):           # strictly-lower entries, column-major
                for row in range(col + 1, d):
                    z[row] += l[p] * xc[col]
                    p += 1
            terms.append(alphas[k] + q.sum() - 0.5 * z @ z)
        total += np.logaddexp.reduce(terms)
    lse_alphas = np.logaddexp.reduce(alphas)
    prior = 0.5 * (np.sum(np.exp(icf[:, :d]) ** 2) + np.sum(icf[:, d:] ** 2))
    nw = d + 1  # Wishart n = D + m + 1 with m = 0, gamma = 1
    log_gamma_d = 0.25 * d * (d - 1) * math.log(math.pi) + sum(
        math.lgamma(0.5 * nw + 0.5 * (1 - j)) for j in range(1, d + 1))
    C = nw * d * (-0.5 * math.log(2.0)) - log_gamma_d
    return -0.5 * n * d * math.log(2 * math.pi) + total - n * lse_alphas + prior - len(alphas) * C


def test_numpy_objective_matches_entrywise_reference(data):
    assert objective(*data) == pytest.approx(loop_reference(*data), rel=1e-12)


def test_hand_gradient_matches_central_differences(data):
    alphas, means, icf, x = data
    grads = gmm.gmm_grad_hand(alphas, means, icf, x)
    params = [alphas.copy(), means.copy(), icf.copy()]
    h = 1e-6
    for p, g in zip(params, grads):
        assert g.shape == p.shape
        fd = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            fp = objective(*params, x)
            p[idx] = old - h
            fm = objective(*params, x)
            p[idx] = old
            fd[idx] = (fp - fm) / (2 * h)
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6 * np.max(np.abs(fd)))


def check_peer(f_val, grads, data):
    alphas, means, icf, x = data
    assert float(f_val) == pytest.approx(objective(*data), rel=1e-12)
    for g, ref in zip(grads, gmm.gmm_grad_hand(alphas, means, icf, x)):
        np.testing.assert_allclose(np.asarray(g), ref, rtol=1e-9, atol=1e-12)


@needs("autograd")
def test_autograd_agrees(data):
    obj, grad = gmm.build_autograd()
    check_peer(obj(*data), grad(*data), data)


@needs("jax")
def test_jax_agrees(data):
    obj, grad, to_device = gmm.build_jax()
    A = to_device(*data)
    check_peer(obj(*A), grad(*A), data)


@needs("torch")
def test_torch_agrees(data):
    obj, grad, to_tensor = gmm.build_torch()
    T = to_tensor(*data)
    check_peer(obj(*T).item(), [g.numpy() for g in grad(*T)], data)


# -- scalar targets ---------------------------------------------------------

@pytest.mark.parametrize("target", ["loop", "lecture"])
def test_scalar_hand_derivatives(target):
    f = {"loop": sl.loop, "lecture": sl.lecture}[target]
    grad = {"loop": sl.loop_grad_hand, "lecture": sl.lecture_grad_hand}[target]
    jvp = {"loop": sl.loop_jvp_hand, "lecture": sl.lecture_jvp_hand}[target]
    x, y = 0.7, 0.9
    h = 1e-6
    fd = ((f(x + h, y) - f(x - h, y)) / (2 * h), (f(x, y + h) - f(x, y - h)) / (2 * h))
    g = grad(x, y)
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    value, der = jvp(x, y, 1.0, -0.5)
    assert value == f(x, y)
    assert der == pytest.approx(g[0] - 0.5 * g[1], rel=1e-12)


def test_loop_takes_both_branches():
    t, positive = 0.7, 0
    for i in range(sl.STEPS):
        t = 0.5 * t + 0.9 * math.sin(0.1 * i + 0.7)
        positive += t > 0.0
    assert 100 < positive < 900


def check_scalar(out, target):
    x, y = 0.7, 0.9
    ref = {"loop": sl.loop_grad_hand, "lecture": sl.lecture_grad_hand}[target](x, y)
    f, grad, jvp, args, jvp_args = out
    assert float(f(*args)) == pytest.approx({"loop": sl.loop, "lecture": sl.lecture}[target](x, y), rel=1e-12)
    np.testing.assert_allclose(sl.as_float_pair(grad(*args)), ref, rtol=1e-9)
    _, der = sl.as_float_pair(jvp(*jvp_args))
    assert der == pytest.approx(ref[0] - 0.5 * ref[1], rel=1e-9)


@needs("autograd")
@pytest.mark.parametrize("target", ["lecture"])  # the 1000-step loop is checked by bench.run itself
def test_autograd_scalar(target):
    f, g, j = sl.build_autograd()[target]
    check_scalar((f, g, j, (0.7, 0.9), (0.7, 0.9, 1.0, -0.5)), target)


@needs("jax")
@pytest.mark.parametrize("target", ["loop"])
def test_jax_jit_scalar(target):
    import jax.numpy as jnp
    f, g, j = sl.build_jax(jit=True)[target]
    v = [jnp.float64(a) for a in (0.7, 0.9, 1.0, -0.5)]
    check_scalar((f, g, j, v[:2], v), target)


@needs("torch")
@pytest.mark.parametrize("target", ["lecture"])  # the 1000-step loop is checked by bench.run itself
def test_torch_scalar(target):
    import torch
    f, g, j = sl.build_torch()[target]
    leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (0.7, 0.9)]
    plain = [torch.tensor(a, dtype=torch.float64) for a in (0.7, 0.9, 1.0, -0.5)]
    x, y = 0.7, 0.9
    ref = {"loop": sl.loop_grad_hand, "lecture": sl.lecture_grad_hand}[target](x, y)
    assert float(f(*plain[:2])) == pytest.approx({"loop": sl.loop, "lecture": sl.lecture}[target](x, y))
    np.testing.assert_allclose(sl.as_float_pair(g(*leaves)), ref, rtol=1e-9)
    assert sl.as_float_pair(j(*plain))[1] == pytest.approx(ref[0] - 0.5 * ref[1], rel=1e-9)


# -- the harness itself -------------------------------------------------------

def test_harness_runs_numpy_only(tmp_path, capsys):
    from bench import run
    path = tmp_path / "out.json"
    run.main(["--sizes", "2,3,20", "--budget", "0.01", "--tools", "", "--no-scalar", "--json", str(path)])
    result = json.loads(path.read_text())
    rec = result["gmm"][0]["tools"]["numpy (hand)"]
    assert rec["status"] == "ok" and rec["gradient_s"] > 0 and rec["peak_gradient_bytes"] > 0
    assert result["machine"]["unavailable"]["sct"] == "not selected (--tools)"
    assert "GMM summary" in capsys.readouterr().out


def test_harness_scalar_formatting():
    from bench import run
    case = {"target": "lecture", "x": 0.7, "y": 0.9, "dx": 1.0, "dy": -0.5, "value": 1.0,
            "python_primal_s": 1e-7,
            "tools": {"sct": {"primal": {"status": "ok", "time_s": 1e-7},
                              "reverse": {"status": "ok", "time_s": 2e-7, "rel_err": 0.0, "samples": 5,
                                          "over_own_primal": 2.0, "sct_over_tool": 1.0},
                              "jvp": {"status": "ERROR", "error": "NotImplementedError: x"}},
                      "broken": {"error": "ImportError: y"}}}
    text = run.format_scalar_case(case)
    assert "reverse grad" in text and "NotImplementedError: x" in text and "ImportError: y" in text


def test_jacobian_bench_maps_agree_in_both_modes():
    from bench import jacobian as jb
    for which in ("dense", "loop"):
        x, A, fn, entries = jb.tools(which, 4)
        forward, reverse = entries[0][2](), entries[1][2]()
        np.testing.assert_allclose(forward, reverse, rtol=1e-12, atol=1e-14)


def test_calls_bench_runs_at_a_tiny_size(tmp_path, capsys):
    """bench/calls.py (helpers against inlined code, the pure-Python GMM, per-call overhead) checks every
    gradient before timing it: at a tiny size, the checks and the tables."""
    from bench import calls
    path = tmp_path / "calls.json"
    calls.main(["--tiny", "--json", str(path)] + ([] if installed("autograd") else ["--no-autograd"]))
    result = json.loads(path.read_text())
    assert {row["scheme"] for row in result["ode"]} == {"Euler", "RK4"}
    assert result["gmm"]["times_s"]["sct gradient"] > 0
    assert "Per-call overhead" in capsys.readouterr().out


# -- ADBench's LSTM and bundle adjustment (bench/lstm.py, bench/ba.py) ----------

ADBENCH_PEERS = ("sct", "autograd", "jax", "torch")


def test_adbench_lstm_and_ba_at_tiny_sizes(tmp_path):
    """`bench.run --lstm --ba --tiny`: every installed peer computes the NumPy objective / residuals and
    gradient / Jacobian blocks (central differences of the NumPy code, and agreement between the tools) at
    tiny sizes.  sct's rows (the LSTM as written, a batched BA Jacobian when sct has one) are either checked or
    sct's own refusal, never a wrong number; its rows of the LSTM copy workaround and the per-observation BA
    Jacobian are checked."""
    from bench import run
    path = tmp_path / "adbench.json"
    run.main(["--lstm", "--ba", "--tiny", "--json", str(path)])
    result = json.loads(path.read_text())
    (case,) = result["lstm"]
    rows = {"lstm": case["tools"], "ba": result["ba"]["tools"]}
    for bench_name, tools in rows.items():
        for name, rec in tools.items():
            peer = name.split()[0]
            if peer == "sct" and name != "sct (copy)" and rec["status"] == "ERROR":
                assert rec["refused"], rec["error"]  # sct's own refusal (the LSTM as written, today), never a crash
                continue
            assert rec["status"] == "ok", (bench_name, name, rec)
            assert installed(peer)
        for peer in ADBENCH_PEERS:
            if installed(peer):
                assert any(n.split()[0] == peer for n in tools), (bench_name, peer)
    assert case["tools"]["sct (copy)"]["gradient_s"] > 0
    assert result["ba"]["tools"]["sct"]["jacobian_per_observation_s"] > 0


def test_adbench_ba_tries_a_batched_sct(monkeypatch, capsys):
    """When sct offers `sct.vmap`, the BA harness times a batched sct row (here a stand-in that loops)."""
    import sct
    from bench import run

    def vmap(fn):
        def batched(*args):
            blocks = [fn(*row) for row in zip(*args)]
            return tuple(np.stack(parts) for parts in zip(*blocks))
        return batched
    monkeypatch.setattr(sct, "vmap", vmap, raising=False)
    result = run.main(["--ba", "--tiny", "--tools", "sct"])
    rec = result["ba"]["tools"]["sct (sct.vmap(sct.jacobian(...)))"]
    assert rec["status"] == "ok" and rec["form"] == "batched" and rec["observations_per_call"] == 24
