"""sct/invariants.py catches the bugs it is there for (the suite runs it on every generated program)."""
import ast

import pytest

from sct.invariants import InvariantError, check


def _check(source, primal=None):
    check(ast.parse(source), source, "f_grad", ast.parse(primal).body[0] if primal else None)


def test_a_lost_parenthesis_is_caught():
    tree = ast.parse("def f_grad(z):\n    return math.cos(z + (-0.5) ** 2)\n")
    wrong = "def f_grad(z):\n    return math.cos(z + -0.5 ** 2)\n"
    with pytest.raises(InvariantError, match="does not parse back"):
        check(tree, wrong, "f_grad")
    check(tree, ast.unparse(tree), "f_grad")  # the standard library prints it right


def test_a_keyword_name_is_caught():
    tree = ast.Module(body=[ast.FunctionDef(
        name="f_grad", args=ast.arguments(posonlyargs=[], args=[ast.arg("x")], kwonlyargs=[], kw_defaults=[],
                                          defaults=[]),
        body=[ast.Assign(targets=[ast.Name("match", ast.Store())], value=ast.Name("x", ast.Load())),
              ast.Return(ast.Name("match", ast.Load()))], decorator_list=[], returns=None)], type_ignores=[])
    ast.fix_missing_locations(tree)
    with pytest.raises(InvariantError, match="keyword"):
        check(tree, ast.unparse(tree), "f_grad")


def test_a_made_up_name_shadowing_a_global_is_caught():
    primal = "def f(x):\n    return sum(x) * t1\n"
    with pytest.raises(InvariantError, match="sum"):
        _check("def f_grad(x):\n    sum = 1.0\n    return sum(x)\n", primal)
    _check("def f_grad(x):\n    t2 = sum(x)\n    return t2 * t1\n", primal)


def test_a_read_before_assignment_is_caught_on_the_path_that_misses_it():
    with pytest.raises(InvariantError, match="dy"):
        _check("def f_grad(x, y, dx):\n    if x > 0:\n        dy = dx\n    return dy\n")
    _check("def f_grad(x, dx):\n    t1 = x > 0\n    if t1:\n        a = x\n    if t1:\n        return a\n    return x\n")
    _check("def f_grad(x):\n    for i in range(3):\n        if i > 0:\n            y = p\n        p = x\n    return p\n")


def test_one_branch_test_folded_in_one_sweep_and_not_in_the_other_is_one_test():
    from sct.invariants import _assigned_names, _Flow
    tree = ast.parse("def f_grad(x):\n    if x > (-0.82) ** 2:\n        t = x\n    if x > (-0.82) ** 2:\n"
                     "        y = t\n    return x\n")
    fn = tree.body[0]
    fn.body[1].test.comparators[0].left = ast.Constant(-0.82)  # as a pass folds it
    _Flow(_assigned_names(fn), "f_grad").block(fn.body, {"x"})  # the second `if` knows `t`: no InvariantError


def test_a_branch_test_whose_arithmetic_one_sweep_folded_is_one_test():
    # the backward sweep re-evaluates `math.sqrt(0.28 ** 2 + 0.5) > 0.36` with `0.28 ** 2` folded (fuzz 308/917)
    _check("def f_grad(x):\n    if math.sqrt(0.28 ** 2 + 0.5) > 0.36:\n        t = x\n"
           "    if math.sqrt(0.07840000000000001 + 0.5) > 0.36:\n        y = t\n    return x\n")
    with pytest.raises(InvariantError, match="t"):  # a different number is a different test
        _check("def f_grad(x):\n    if math.sqrt(0.28 ** 2 + 0.5) > 0.36:\n        t = x\n"
               "    if math.sqrt(0.08 + 0.5) > 0.36:\n        y = t\n    return x\n")


def test_a_branch_test_read_through_a_temporary_assigned_once_is_one_test():
    # the forward sweep tests `t17 > t18` (t17 = t16 ** 3, fused no further); the backward sweep recomputes
    # the test into a name, `t22 = t16 ** 3 > t18; if t22:` (fuzz 411/1538: a false alarm)
    _check("def f_grad(x, t16, t18):\n    t17 = t16 ** 3\n    if t17 > t18:\n        t23 = x\n"
           "    t22 = t16 ** 3 > t18\n    if t22:\n        y = t23\n    return x\n")
    with pytest.raises(InvariantError, match="t23"):  # a name assigned twice is not read through
        _check("def f_grad(x, t16, t18):\n    t17 = t16 ** 3\n    if t17 > t18:\n        t23 = x\n"
               "    t17 = t16 ** 2\n    t22 = t16 ** 3 > t18\n    if t22:\n        y = t23\n    return x\n")


def test_a_program_whose_branch_test_is_folded_in_the_backward_sweep_differentiates():
    import math
    import numpy as np
    import sct

    def f(x, y):
        if np.sum(x) >= -0.78:
            for el in x:
                y = np.tanh(y * el)
        elif math.sqrt(0.28 ** 2 + 0.5) > 0.36:
            x = x / (1.0 + ((-0.53) + np.sum(y)) ** 2)
        return np.sum(x ** 2) + np.sum(y)

    y = np.array([-0.72, 0.92])
    for x in (np.array([0.675, 0.505]), np.array([-2.0, -1.5])):  # both branches
        sct.testing.check_grad(f, (x, y), wrt=(0, 1))
