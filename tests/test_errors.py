"""Unsupported code raises a TransformError naming the construct, file, line and column."""
import inspect
import math
import os

import numpy as np
import pytest

import sct
from programs import refused

FILE = os.path.basename(refused.__file__)


def _line_of(fn, text):
    lines, start = inspect.getsourcelines(fn)
    for i, line in enumerate(lines):
        if text in line:
            return start + i
    raise AssertionError(f"{text!r} not in {fn.__name__}")


SYNTAX = [
    ("uses_try", "try", "try:"),
    ("uses_with", "with", "with open"),
    ("uses_yield", "yield", "yield x"),
    ("uses_global", "global", "global COUNTER"),
    ("uses_nonlocal", "nested function", "def inner"),
    ("uses_class", "class", "class A"),
    ("uses_nested_def", "nested function", "def sq"),
    ("uses_lambda", "lambda", "lambda y"),
    ("uses_del", "del", "del ys[0]"),
    ("uses_import", "import", "import os"),
    ("uses_walrus", ":=", "y := x"),
    ("uses_dict_unpacking", "unpacks another dict", '{**base, "a": x}'),
    ("uses_set", "set", "{x, 2.0}"),
    ("uses_starred", "starred", "*args"),
    ("uses_for_else", "for ... else", "for i in range(3)"),
    ("uses_attribute_store", "attribute", "x.attr = 3"),
    ("uses_nested_store", "nested subscript", "a[0][1] = x"),
    ("uses_varargs", "*args", "def uses_varargs"),
    ("uses_kwargs", "**kwargs", "def uses_kwargs"),
    ("uses_double_star_call", "**keywords", "max(x, **kw)"),
]


@pytest.mark.parametrize("name, what, text", SYNTAX, ids=[s[0] for s in SYNTAX])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_unsupported_syntax_is_located(name, what, text, mode):
    fn = getattr(refused, name)
    with pytest.raises(sct.UnsupportedSyntaxError) as info:
        sct.grad(fn, mode=mode)(np.ones(3) if name == "uses_attribute_store" else 1.5)
    message = str(info.value)
    assert what in message
    assert f"{FILE}:{_line_of(fn, text)}:" in message
    assert text in message  # the offending source line is shown
    assert isinstance(info.value, sct.TransformError)


def test_async_function_is_refused():
    with pytest.raises(sct.TransformError, match="async"):
        sct.grad(refused.uses_async)(1.0)


ALIASING = [
    ("writes_argument", "x[0] = 2.0", "argument `x`"),
    ("writes_alias", "b = a", "share memory"),
    ("writes_view", "row = a.reshape(-1)", "share memory"),
    ("augmented_shared", "x += 1.0", "in place"),
]


@pytest.mark.parametrize("name, text, what", ALIASING, ids=[a[0] for a in ALIASING])
def test_in_place_writes_that_could_alias_are_refused(name, text, what):
    fn = getattr(refused, name)
    with pytest.raises(sct.AliasingError) as info:
        sct.grad(fn)(np.array([1.0, 2.0, 3.0]) if name in ("writes_argument", "augmented_shared") else 1.5)
    assert what in str(info.value)
    assert f"{FILE}:{_line_of(fn, text)}:" in str(info.value)


def test_refused_in_place_method():
    with pytest.raises(sct.UnsupportedSyntaxError, match=r"\.extend\(\)"):
        sct.grad(refused.uses_extend)(1.0)


def test_caller_array_is_not_changed_by_a_rejected_write():
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(sct.AliasingError):
        sct.grad(refused.writes_argument)(x)
    assert x.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_function_without_rule_or_source(mode):
    with pytest.raises(sct.NoRuleError) as info:
        sct.grad(refused.no_rule_builtin, mode=mode)(1.5)
    message = str(info.value)
    assert "math.frexp" in message
    assert f"{FILE}:{_line_of(refused.no_rule_builtin, 'math.frexp(x)')}:" in message
    assert "sct.adjoint_rule" in message or "tangent_rule" in message


def test_numpy_function_without_rule_names_it():
    with pytest.raises(sct.NoRuleError, match="fft"):
        sct.grad(refused.no_rule_numpy)(np.ones(4))


def test_source_unavailable():
    with pytest.raises(sct.SourceError, match="not a Python function"):
        sct.grad(math.sin)(1.0)
    with pytest.raises(sct.SourceError, match="lambda"):
        sct.grad(lambda x: x * x)(1.0)
    namespace = {}
    exec("def made(x):\n    return x * x\n", namespace)
    with pytest.raises(sct.SourceError, match="cannot read the source"):
        sct.grad(namespace["made"])(1.0)


def test_non_scalar_output_for_grad():
    with pytest.raises(sct.ArgumentError, match="not a scalar"):
        sct.grad(refused.vector_output)(np.ones(3))
    with pytest.raises(sct.ArgumentError, match="not a scalar"):
        sct.grad(refused.vector_output, mode="forward")(np.ones(3))


def test_bad_wrt():
    with pytest.raises(sct.ArgumentError, match="names no parameter"):
        sct.grad(refused.vector_output, wrt=3)
    with pytest.raises(sct.ArgumentError, match="names no parameter"):
        sct.grad(refused.vector_output, wrt="y")
    with pytest.raises(sct.ArgumentError, match="mode"):
        sct.grad(refused.vector_output, mode="sideways")


@pytest.mark.parametrize("value, what", [("a", "str"), (True, "bool"), (1 + 2j, "complex"),
                                         (np.arange(3), "int64"), (np.ones(2, complex), "complex"),
                                         (None, "NoneType")])
def test_arguments_that_are_not_real_numbers(value, what):
    with pytest.raises(sct.ArgumentError, match=what):
        sct.grad(refused.vector_output)(value)


def test_function_returning_none():
    with pytest.raises(sct.ArgumentError, match="not a scalar"):
        sct.grad(refused.nothing_returned)(1.0)


def test_errors_are_transform_errors():
    for cls in (sct.UnsupportedSyntaxError, sct.SourceError, sct.NoRuleError, sct.AliasingError, sct.ArgumentError):
        assert issubclass(cls, sct.TransformError)


def _scaled_by(x, y):
    return x * y


sct.adjoint_rule(_scaled_by)(lambda g, ans, x, y: g * y)     # a lambda rule, differentiable in x only
sct.tangent_rule(_scaled_by)(lambda dx, ans, x, y: dx * y)


def _through_the_constant(a):
    return _scaled_by(2.0, a)


def _through_the_variable(a):
    return _scaled_by(a, 2.0)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_lambda_rules_work_and_an_input_given_to_a_parameter_without_derivative_is_refused(mode):
    assert sct.grad(_through_the_variable, mode=mode)(3.0) == pytest.approx(2.0)
    with pytest.raises(sct.NoRuleError, match="'y'"):
        sct.grad(_through_the_constant, mode=mode)(3.0)
