"""Everyday model programs (tests/programs/user_models.py, issue 11) in both modes.

For every program: sct's gradient equals central finite differences, in reverse
and in forward mode, and the forward and reverse programs agree
(⟨J·u, v⟩ = ⟨u, Jᵀ·v⟩).  Arguments that are dicts or lists of parameters are
compared leaf by leaf with a small finite-difference helper here (sct.testing
handles numbers and arrays).

What sct refuses today is marked ``xfail(strict=True)`` with the missing
feature named; when the feature lands the test passes, pytest reports XPASS as
a failure, and the mark is to be removed.
"""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import sct
from sct.testing import check_dot_product, check_grad

from programs import user_models as ev

# -- what sct refuses, by feature (nothing left: kept for the next program that needs a feature) -----------

def _because(*reasons, raises=sct.TransformError):
    """Expected to fail today for ``reasons`` -- with a refusal: a wrong number (AssertionError) or any other
    exception is a real failure, not an expected one."""
    return pytest.mark.xfail(strict=True, raises=raises, reason="; ".join(reasons))


# per program: marks on the reverse-mode, forward-mode and dot-product tests
KNOWN: dict = {}  # every program passes in both modes (the features each needed: issue 11)


def _cases(kind):
    out = []
    for p in ev.PROGRAMS:
        reasons = KNOWN.get(p.name, {}).get(kind)
        out.append(pytest.param(p, id=p.name, marks=[_because(*reasons)] if reasons else []))
    return out


# -- finite differences and the dot-product test over the leaves of dicts, lists and tuples -------------

def _positions(fn, wrt):
    names = list(inspect.signature(fn).parameters)
    items = wrt if isinstance(wrt, tuple) else (wrt,)
    return [names.index(w) if isinstance(w, str) else w for w in items]


def _leaves(tree, path=()):
    """(path, value) of every number and float array in a dict / list / tuple of them."""
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(tree, (list, tuple)):
        for k, v in enumerate(tree):
            yield from _leaves(v, path + (k,))
    else:
        yield path, tree


def _get(tree, path):
    for k in path:
        tree = tree[k]
    return tree


def _replace(tree, path, value):
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(tree, dict):
        return {k: _replace(v, rest, value) if k == head else v for k, v in tree.items()}
    return type(tree)(_replace(v, rest, value) if k == head else v for k, v in enumerate(tree))


def _rebuild(tree, f):
    if isinstance(tree, dict):
        return {k: _rebuild(v, f) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_rebuild(v, f) for v in tree)
    return f(tree)


def _is_plain(x):
    return isinstance(x, (float, int, np.floating, np.ndarray))


def _fd_leaf(fn, args, i, path, eps=1e-6):
    """Central differences of fn with respect to one leaf of argument i."""
    leaf = _get(args[i], path)
    x = np.array(leaf, dtype=float)
    g = np.zeros(x.shape)
    for idx in np.ndindex(*x.shape):
        values = []
        for sign in (1, -1):
            y = x.copy()
            y[idx] += sign * eps
            y = y if isinstance(leaf, np.ndarray) else float(y)
            moved = list(args)
            moved[i] = _replace(args[i], path, y)
            values.append(float(fn(*moved)))
        g[idx] = (values[0] - values[1]) / (2 * eps)
    return g


def check_grad_tree(fn, args, wrt, mode, rtol=1e-5, atol=1e-6):
    """sct.grad in ``mode`` equals finite differences, leaf by leaf, for arguments that are pytrees."""
    got = sct.grad(fn, wrt=wrt, mode=mode)(*args)
    got = got if isinstance(wrt, tuple) else (got,)
    for g, i in zip(got, _positions(fn, wrt)):
        assert type(g) is type(args[i]) or _is_plain(args[i]), \
            f"the gradient of argument {i} is a {type(g).__name__}, the argument a {type(args[i]).__name__}"
        for path, leaf in _leaves(args[i]):
            if isinstance(leaf, np.ndarray) and not np.issubdtype(leaf.dtype, np.floating):
                continue
            expected = _fd_leaf(fn, args, i, path)
            value = _get(g, path)
            assert np.shape(value) == np.shape(leaf), f"argument {i}, leaf {path}: shape {np.shape(value)}"
            assert np.allclose(value, expected, rtol=rtol, atol=atol), \
                f"{mode} gradient of {fn.__name__}, argument {i}, leaf {path}:\n  sct: {value!r}\n  fd:  {expected!r}"


def check_dot_product_tree(fn, args, wrt, seed=0, rtol=1e-8):
    """⟨J·u, v⟩ = ⟨u, Jᵀ·v⟩ with u a random tangent of the same structure as each wrt argument."""
    rng = np.random.default_rng(seed)
    positions = _positions(fn, wrt)
    u = [_rebuild(args[i], lambda x: rng.standard_normal(np.shape(x)) if np.ndim(x) else float(rng.standard_normal()))
         for i in positions]
    value, tangent = sct.jvp(fn, wrt=wrt)(*args, *u)
    v = float(rng.standard_normal())
    adjoints = sct.vjp(fn, wrt=wrt)(*args, v)
    adjoints = adjoints if isinstance(wrt, tuple) else (adjoints,)
    lhs = float(tangent) * v
    rhs = sum(float(np.sum(np.asarray(_get(a, path)) * np.asarray(du)))
              for a, ui in zip(adjoints, u) for path, du in _leaves(ui))
    assert np.isclose(lhs, rhs, rtol=rtol, atol=1e-10), f"<J u, v> = {lhs!r} but <u, J^T v> = {rhs!r}"


def _plain(program, args):
    return all(_is_plain(args[i]) for i in _positions(program.fn, program.wrt))


# -- the tests ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("program", _cases("reverse"))
def test_reverse_mode_matches_finite_differences(program):
    args = program.args()
    if _plain(program, args):
        check_grad(program.fn, args, program.wrt, modes=("reverse",), rtol=1e-5, atol=1e-6)
    else:
        check_grad_tree(program.fn, args, program.wrt, "reverse")


@pytest.mark.parametrize("program", _cases("forward"))
def test_forward_mode_matches_finite_differences(program):
    args = program.args()
    if _plain(program, args):
        check_grad(program.fn, args, program.wrt, modes=("forward",), rtol=1e-5, atol=1e-6)
    else:
        check_grad_tree(program.fn, args, program.wrt, "forward")


@pytest.mark.parametrize("program", _cases("dot"))
def test_dot_product_identity(program):
    args = program.args()
    if _plain(program, args):
        check_dot_product(program.fn, args, program.wrt)
    else:
        check_dot_product_tree(program.fn, args, program.wrt)


# -- the code around the gradients, as the users call it ------------------------------------------------

@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_black_scholes_greeks_are_the_closed_forms(mode):
    S, K, T, r, sigma = ev.bs_args()
    d1 = (math.log(S / K) + (r + 0.5 * sigma ** 2) * T) / (sigma * math.sqrt(T))
    pdf = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    delta, vega = sct.grad(ev.bs_call, wrt=("S", "sigma"), mode=mode)(S, K, T, r, sigma)
    assert delta == pytest.approx(ev.norm_cdf(d1), rel=1e-12)
    assert vega == pytest.approx(S * pdf * math.sqrt(T), rel=1e-12)
    assert ev.greeks(S, K, T, r, sigma)["delta"] == pytest.approx(delta, rel=1e-12)
    gamma = sct.hessian(ev.bs_call, wrt="S")(S, K, T, r, sigma)
    assert gamma == pytest.approx(pdf / (S * sigma * math.sqrt(T)), rel=1e-10)


def test_lennard_jones_forces_obey_newtons_third_law():
    (positions,) = ev.lj_args()
    F = ev.forces(positions)
    assert F.shape == positions.shape
    assert np.allclose(F.sum(axis=0), 0.0, atol=1e-12)
    assert np.allclose(F, -sct.grad(ev.lj_energy, mode="forward")(positions), rtol=1e-12)


def test_the_two_convolutions_agree():
    args = ev.conv_args()
    assert np.allclose(ev.conv1d(args[1], args[0]), np.convolve(args[1], args[0]))
    for mode in ("reverse", "forward"):
        loops = sct.grad(ev.conv_loss_loops, wrt=(0, 1), mode=mode)(*args)
        numpy = sct.grad(ev.conv_loss_numpy, wrt=(0, 1), mode=mode)(*args)
        for a, b in zip(loops, numpy):
            assert np.allclose(a, b, rtol=1e-12, atol=1e-14)


def test_newton_finds_the_rosenbrock_minimum():
    x = ev.newton(ev.rosenbrock, ev.rosenbrock_args()[0])
    assert np.allclose(x, 1.0, atol=1e-8)


def test_newton_on_a_partial():
    x = ev.newton(ev.rosenbrock_b10, ev.rosenbrock_args()[0])
    assert np.allclose(x, 1.0, atol=1e-8)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_gp_objective_through_a_lambda(mode):
    params, X, y = ev.gp_args()
    g = sct.grad(ev.gp_objective_lambda, mode=mode)(params)
    check = sct.grad(ev.gp_log_marginal_likelihood, mode=mode)(params, X, y)
    assert set(g) == set(params)
    for k in params:
        assert g[k] == pytest.approx(-check[k], rel=1e-12)
