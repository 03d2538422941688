"""Everyday model programs (tests/programs/user_models.py, issue 11) in both modes.

For every program: sct's gradient equals central finite differences, in reverse
and in forward mode, and the forward and reverse programs agree
(⟨J·u, v⟩ = ⟨u, Jᵀ·v⟩).  Arguments that are dicts or lists of parameters are
compared in structure and leaf by leaf by sct.testing, as for any user.

What sct refuses today is marked ``xfail(strict=True)`` with the missing
feature named; when the feature lands the test passes, pytest reports XPASS as
a failure, and the mark is to be removed.
"""
from __future__ import annotations

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


# -- the tests ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("program", _cases("reverse"))
def test_reverse_mode_matches_finite_differences(program):
    """sct.testing compares a pytree argument's gradient in structure, then leaf by leaf."""
    check_grad(program.fn, program.args(), program.wrt, modes=("reverse",), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("program", _cases("forward"))
def test_forward_mode_matches_finite_differences(program):
    check_grad(program.fn, program.args(), program.wrt, modes=("forward",), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("program", _cases("dot"))
def test_dot_product_identity(program):
    check_dot_product(program.fn, program.args(), program.wrt)


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
