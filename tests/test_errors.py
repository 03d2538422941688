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
    ("uses_nonlocal", "nonlocal", "nonlocal x"),
    ("uses_class", "class", "class A"),
    ("uses_del", "del", "del ys[0]"),
    ("uses_import", "import", "import os"),
    ("uses_dict_unpacking", "unpacks another dict", '{**base, "a": x}'),
    ("uses_set", "set", "{x, 2.0}"),
    ("uses_starred", "*args", "*args"),
    ("uses_for_else", "for ... else", "for i in range(3)"),
    ("uses_attribute_store", "attribute", "x.attr = 3"),
    ("uses_nested_store", "nested subscript", "a[0][1] = x"),
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


# ------------------------------------------------------------------ refusals inside what the function calls

from programs import chain  # noqa: E402
from programs import chain_helpers  # noqa: E402

CHAIN_FILE, HELPERS_FILE = os.path.basename(chain.__file__), os.path.basename(chain_helpers.__file__)

# (function, argument, error, the call in it, [(file, function, line text) of each hop], the refusal)
CHAINS = [
    ("through_two_helpers", np.array([0.3, 0.5]), sct.UnsupportedSyntaxError, "helpers.middle(t)",
     [(CHAIN_FILE, chain.through_two_helpers, "helpers.middle(t)", "through_two_helpers calls middle"),
      (HELPERS_FILE, chain_helpers.middle, "guarded(s)", "middle calls guarded"),
      (HELPERS_FILE, chain_helpers.guarded, "try:", "guarded: sct cannot differentiate a `try` statement")],
     "`try` statement"),
    ("through_one_helper", 0.4, sct.NoRuleError, "helpers.frexp_of(x * 3.0)",
     [(CHAIN_FILE, chain.through_one_helper, "helpers.frexp_of", "through_one_helper calls frexp_of"),
      (HELPERS_FILE, chain_helpers.frexp_of, "math.frexp(x)", "frexp_of: sct has no derivative for math.frexp")],
     "math.frexp"),
    ("helper_writes_its_argument", np.array([0.3, 0.5]), sct.AliasingError, "helpers.writes_argument(y)",
     [(CHAIN_FILE, chain.helper_writes_its_argument, "helpers.writes_argument(y)",
       "helper_writes_its_argument calls writes_argument"),
      (HELPERS_FILE, chain_helpers.writes_argument, "a[0] = 2.0", "writes_argument: sct cannot differentiate "
                                                                   "an in-place write into the argument `a`")],
     "argument `a`"),
    ("helper_then_library", np.array([0.3, 0.5]), sct.NoRuleError, "integrates(x)",
     [(CHAIN_FILE, chain.helper_then_library, "integrates(x)", "helper_then_library calls integrates"),
      (CHAIN_FILE, chain.integrates, "scipy.integrate.trapezoid(x * x)",
       "integrates: sct has no derivative rule for scipy.integrate.trapezoid")],
     "library internals"),
]


@pytest.mark.parametrize("name, arg, error, call, hops, reason", CHAINS, ids=[c[0] for c in CHAINS])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_refusal_inside_a_callee_is_located_at_the_users_call_with_the_chain(name, arg, error, call, hops, reason,
                                                                             mode):
    fn = getattr(chain, name)
    with pytest.raises(error) as info:
        sct.grad(fn, mode=mode)(arg)
    err = info.value
    assert isinstance(err, sct.TransformError)
    # located at the call in the function given to sct, whose line is shown
    assert os.path.basename(err.location.filename) == CHAIN_FILE
    assert err.location.line == _line_of(fn, call) and call in err.location.text
    message = str(err)
    assert message.startswith(f"{err.location.filename}:{err.location.line}:{err.location.col}: in the call of ")
    assert reason in message and err.hint and f"hint: {err.hint}" in message
    # the chain, outermost first, down to the line refused
    assert len(err.chain) == len(hops)
    for hop, (file, where, text, said) in zip(err.chain, hops):
        assert os.path.basename(hop.location.filename) == file
        assert hop.location.line == _line_of(where, text)
        assert hop.text.startswith(said)
        assert f"{hop.location}  {hop.text}" in message
    assert err.inner == err.chain[-1].location
    assert message.index("call chain (outermost first):") < message.index("hint:")


LIBRARY = [
    ("integrates", np.array([0.3, 0.5, 0.9]), "scipy.integrate.trapezoid(x * x)", "scipy.integrate.trapezoid",
     "scipy/integrate/_quadrature.py, in site-packages", "sct.follow('scipy')"),
    ("standard_library", np.array([0.3, 0.5]), "statistics.fmean", "statistics.fmean",
     "statistics.py, in the standard library", "sct.follow('statistics')"),
]


@pytest.mark.parametrize("name, arg, call, label, where, follow", LIBRARY, ids=[c[0] for c in LIBRARY])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_library_internals_are_not_followed(name, arg, call, label, where, follow, mode):
    fn = getattr(chain, name)
    with pytest.raises(sct.NoRuleError) as info:
        sct.grad(fn, mode=mode)(arg)
    err = info.value
    message = str(err)
    assert f"{CHAIN_FILE}:{_line_of(fn, call)}:" in message and call in message
    assert f"sct has no derivative rule for {label}, and does not differentiate library internals" in message
    assert where.replace("/", os.sep) in message and follow in err.hint and "sct.adjoint_rule" in err.hint
    assert not err.chain  # refused at the user's line: nothing inside the library was read


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_library_call_on_constants_runs_as_it_is(mode):
    x = np.array([0.3, 0.5])
    assert sct.grad(chain.integrates_a_constant, mode=mode)(x) == pytest.approx([4.5, 4.5])


INSTALLED = {
    "userpkg/__init__.py": "",
    "userpkg/helpers.py": "import numpy as np\n\n\ndef spread(x):\n    return np.sum(x * x) + 1.0\n",
    "userpkg/model.py": "from userpkg import helpers\n\n\ndef loss(x):\n    return 2.0 * helpers.spread(x)\n",
}


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A package of the user's, installed (its files in a site-packages directory)."""
    root = tmp_path / "site-packages"
    for path, text in INSTALLED.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    monkeypatch.syspath_prepend(str(root))
    from sct import parse
    monkeypatch.setattr(parse, "_FOLLOWED", set())
    import importlib
    return importlib.import_module("userpkg.model")


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_user_code_installed_as_a_package_is_followed_within_it(installed, mode):
    x = np.array([0.3, -0.5])
    np.testing.assert_allclose(sct.grad(installed.loss, mode=mode)(x), 4.0 * x)  # loss calls helpers.spread


def test_sct_follow_lets_calls_into_an_installed_package_be_followed(installed):
    helpers = installed.helpers

    def _calls_installed(x):
        return helpers.spread(x)
    x = np.array([0.3, -0.5])
    refused = r"helpers\.spread, and does not differentiate library internals \(userpkg\.helpers\.spread"
    with pytest.raises(sct.NoRuleError, match=refused) as info:
        sct.grad(_calls_installed)(x)
    assert "sct.follow('userpkg')" in info.value.hint
    sct.follow("userpkg")
    np.testing.assert_allclose(sct.grad(_calls_installed)(x), 2.0 * x)
    np.testing.assert_allclose(sct.grad(_calls_installed, mode="forward")(x), 2.0 * x)
    with pytest.raises(TypeError):
        sct.follow("userpkg.helpers")


def _complex_constant(x):
    return np.abs(np.sum(x[0:3] * (1 + 1j)))


def _complex_dtype(x):
    return np.sum(np.abs(x.astype(np.complex128)) ** 2)


def _complex_dtype_by_name(x):
    return np.sum(np.abs(np.asarray(x, dtype="complex")) ** 2)


@pytest.mark.parametrize("fn, column", [(_complex_constant, 39), (_complex_dtype, 34), (_complex_dtype_by_name, 45)])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_complex_intermediates_are_refused_where_they_are_written(fn, column, mode):
    """sct's rules are those of real functions: a complex intermediate (|z|², a sum times 1j) would get a
    wrong derivative (no conjugates), so the constant or dtype that makes it is refused, located."""
    with pytest.raises(sct.UnsupportedSyntaxError, match="complex numbers") as info:
        sct.grad(fn, mode=mode)(np.array([0.3, 0.6, 0.9, 1.2]))
    assert info.value.location.col == column
    assert info.value.location.text.strip() == inspect.getsource(fn).splitlines()[1].strip()
