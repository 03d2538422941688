"""SciPy rules (special, linalg, stats) in both modes, against finite differences and the dot-product test.

SciPy is optional: without it this module is skipped (and sct registers no SciPy rules).
"""
import numpy as np
import pytest

pytest.importorskip("scipy")

import sct  # noqa: E402

import scipy_cases as sc  # noqa: E402
from test_rules_numpy import FLOAT, UNARY, Case, binary, cross, params, run, unary  # noqa: E402

POS_PAIRS = [(FLOAT, FLOAT), ((3,), (3,)), ((2, 3), (3,)), ((1, 3), (2, 1))]

SPECIAL = [
    unary(sc.gammaln, "pos"), unary(sc.digamma, "pos"), unary(sc.polygamma, "pos"), unary(sc.gamma, "pos"),
    unary(sc.loggamma, "pos"), unary(sc.rgamma, "pos"), unary(sc.erf), unary(sc.erfc), unary(sc.erfinv, "unit"),
    unary(sc.erfcinv, "unit"), unary(sc.erfcx), unary(sc.dawsn), unary(sc.ndtr), unary(sc.log_ndtr),
    unary(sc.ndtri, "unit"), unary(sc.expit), unary(sc.logit, "unit"), unary(sc.log_expit), unary(sc.entr, "pos"),
    unary(sc.i0), unary(sc.i1), unary(sc.i1, "zero", shapes=[(3,)]), unary(sc.i0e, "nonzero"),
    unary(sc.i1e, "nonzero"), unary(sc.i1e, "zero", shapes=[(3,)]), unary(sc.exp10), unary(sc.exp2),
    unary(sc.cbrt, "nonzero"), unary(sc.expm1), unary(sc.log1p, "pos"), unary(sc.cosm1), unary(sc.gammainc, "pos"),
    unary(sc.boxcox, "pos"), unary(sc.huber),
    binary(sc.betaln, ("pos", "pos"), pairs=POS_PAIRS, one_sided=[]),
    binary(sc.beta, ("pos", "pos"), pairs=POS_PAIRS, one_sided=[]),
    binary(sc.xlogy, ("any", "pos"), pairs=POS_PAIRS, one_sided=[]),
    binary(sc.xlog1py, ("any", "pos"), pairs=POS_PAIRS, one_sided=[]),
    binary(sc.kl_div, ("pos", "pos"), pairs=POS_PAIRS, one_sided=[]),
    binary(sc.rel_entr, ("pos", "pos"), pairs=POS_PAIRS, one_sided=[]),
]
if hasattr(__import__("scipy.special").special, "softplus"):
    SPECIAL.append(unary(sc.softplus))

AXES = [(None,), (0,), (-1,)]
REDUCTIONS = [
    cross(sc.logsumexp, [((4,),), ((2, 3),)], [(None,), (-1,)]), cross(sc.logsumexp, [((2, 3),)], [(0,)]),
    Case(sc.logsumexp_b, ("any", "pos"), [(((2, 3), (2, 3)), (1, False), None), (((2, 3), (3,)), (None, False), None),
                                          (((2, 3), (2, 1)), (1, True), None), (((4,), (4,)), (None, True), (0,))]),
    cross(sc.softmax, [((4,),), ((2, 3),)], [(None,), (-1,)]), cross(sc.softmax, [((2, 3),)], [(0,)]),
    cross(sc.log_softmax, [((4,),), ((2, 3),)], [(None,), (-1,)]), cross(sc.log_softmax, [((2, 3),)], [(0,)]),
]

LINALG = [
    Case(sc.solve_triangular, ("matrix", "any"), [
        (((3, 3), (3,)), (True, 0, False), None), (((3, 3), (3, 2)), (False, 0, False), None),
        (((3, 3), (3,)), (True, 1, False), None), (((3, 3), (3, 2)), (False, "T", True), None),
    ]),
    cross(sc.cholesky, [((3, 3),)], [(False,), (True,)], domain="spd"),
    Case(sc.cho_solve, ("spd", "any"), [(((3, 3), (3,)), (False,), None), (((3, 3), (3, 2)), (True,), None)]),
    cross(sc.expm, [((3, 3),), ((2, 2),)]),
    Case(sc.lu_solve, ("matrix", "any"), [(((3, 3), (3,)), (), (1,)), (((3, 3), (3, 2)), (), (1,))]),
    cross(sc.block_diag, [((2, 2), (1, 3), (2,)), (FLOAT, (2, 1), (1, 1))]),
    Case(sc.scipy_inv_det_solve, ("matrix", "any"), [(((3, 3), (3,)), (), None)]),
]

STATS = [
    Case(sc.norm, ("any", "any", "pos"), [((FLOAT, FLOAT, FLOAT), (), None), (((3,), FLOAT, (3,)), (), None),
                                          (((2, 3), (3,), (2, 1)), (), None)]),
    unary(sc.norm_keywords, shapes=[FLOAT, (3,)]),
    Case(sc.t, ("any", "gt1", "any", "pos"), [(((3,), FLOAT, FLOAT, FLOAT), (), None),
                                              (((2, 3), (3,), (2, 1), (3,)), (), None)]),
    Case(sc.t_cdf, ("any", "any", "pos"), [(((3,), FLOAT, FLOAT), (), None)]),
    Case(sc.gamma_dist, ("pos", "gt1", "pos"), [(((3,), FLOAT, FLOAT), (), None), (((2, 3), (3,), (2, 1)), (), None)]),
    Case(sc.gamma_cdf, ("pos", "pos"), [(((3,), FLOAT), (), None)]),
    Case(sc.beta_dist, ("unit", "gt1", "gt1"), [(((3,), FLOAT, FLOAT), (), None), (((2, 3), (3,), (2, 1)), (), None)]),
    Case(sc.beta_cdf, ("unit", "gt1"), [(((3,), FLOAT), (), None)]),
    unary(sc.poisson, "pos", shapes=[FLOAT, (3,)]),
    Case(sc.mvn, ("any", "any", "spd"), [(((3,), (3,), (3, 3)), (), None), (((4, 3), (3,), (3, 3)), (), None),
                                         (((1, 2), (2,), (2, 2)), (), None)]),
]

CASES = SPECIAL + REDUCTIONS + LINALG + STATS


@pytest.mark.parametrize("case, shapes, extra, wrt, check", params(CASES))
def test_rule(case, shapes, extra, wrt, check):
    run(case, shapes, extra, wrt, check)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("fn, arg", [(sc.polygamma_in_order, 1.2), (sc.lu_factor, np.eye(3) + 0.1),
                                     (sc.lu_solve_in_the_matrix, np.eye(3) + 0.1)])
def test_what_sct_cannot_differentiate_is_refused(fn, arg, mode):
    with pytest.raises(sct.NoRuleError):
        sct.grad(fn, mode=mode)(arg)


SECOND_ORDER = [(sc.gammaln, 1.3), (sc.expit, -0.4), (sc.erf, 0.3), (sc.ndtr, 0.7), (sc.log_ndtr, -0.3),
                (sc.digamma, 2.1), (sc.i1e, 0.8)]


@pytest.mark.parametrize("fn, x", SECOND_ORDER, ids=lambda v: getattr(v, "__name__", repr(v)))
def test_second_derivatives_of_special_functions(fn, x):
    g = sct.grad(fn)
    expected = (g(x + 1e-5) - g(x - 1e-5)) / 2e-5
    assert sct.hessian(fn)(x) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("fn, extra", [(sc.logsumexp, (1,)), (sc.softmax, (1,)), (sc.log_softmax, (None,))],
                         ids=lambda v: getattr(v, "__name__", None) or "")
def test_hessians_of_reductions(fn, extra):
    x = np.array([[0.3, -1.0, 0.5], [1.2, 0.1, -0.4]])
    g = sct.grad(fn)
    basis = np.eye(6).reshape(6, 2, 3)
    expected = np.array([(g(x + 1e-6 * e, *extra) - g(x - 1e-6 * e, *extra)) / 2e-6 for e in basis])
    assert np.allclose(np.reshape(sct.hessian(fn)(x, *extra), (6, 6)), np.reshape(expected, (6, 6)), atol=1e-6)


def test_hessian_of_expm_is_refused_not_wrong():
    with pytest.raises(sct.NoRuleError):
        sct.hessian(sc.expm)(np.eye(2) * 0.5)


def test_scipy_rules_load_only_once_scipy_is_imported():
    import subprocess
    import sys
    code = ("import sys, sct; assert 'scipy' not in sys.modules; from scipy import special; import numpy as np\n"
            "from sct.rules import REGISTRY; assert REGISTRY.lookup(special.gammaln) is not None")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
