"""Methods, classmethods, staticmethods, functools.partial and callable objects given to sct (issue 11).

sct reads the Python function behind each (a method's function, the partial's function, the class's
``__call__``) and binds what the callable binds (self, cls, the partial's arguments); ``wrt`` counts and
names the parameters a call still passes.
"""
import functools
import inspect
import pickle

import numpy as np
import pytest

import sct
from programs import callables as c
from sct.testing import check_dot_product, check_grad, numerical_grad

RNG = np.random.default_rng(11)
A, B, W = RNG.normal(size=(4, 3)), RNG.normal(size=4), RNG.normal(size=3)
Q = c.Quadratic(A, B)
PARTIALS = c.make_partials()

# (name, the callable, its arguments, wrt, the same function written out with everything passed)
CALLABLES = [
    ("bound method", Q.loss, (W,), 0, lambda w: c.Quadratic.loss(Q, w)),
    ("bound method, wrt by name", Q.loss, (W,), "w", lambda w: c.Quadratic.loss(Q, w)),
    ("bound method, two parameters", Q.two, (1.5, W), (0, 1), lambda a, w: c.Quadratic.two(Q, a, w)),
    ("bound method calling a method through its class", Q.through_class, (W,), 0,
     lambda w: c.Quadratic.through_class(Q, w)),
    ("bound method calling a module function", Q.uses_helper, (W,), 0, lambda w: c.Quadratic.uses_helper(Q, w)),
    ("staticmethod, from the class", c.Quadratic.cubes, (W,), 0, lambda w: np.sum(w ** 3)),
    ("staticmethod, from an instance", Q.cubes, (W,), 0, lambda w: np.sum(w ** 3)),
    ("classmethod (cls bound)", c.Quadratic.powers, (np.abs(W),), 0, lambda w: np.sum(w ** 3.0)),
    ("callable object", Q, (W,), 0, lambda w: c.Quadratic.__call__(Q, w)),
    ("partial, positional", PARTIALS["positional"], (W,), 0, lambda w: c.scaled_square(3.0, w)),
    ("partial, keyword", PARTIALS["keyword"], (W,), 0, lambda x: c.affine(x, 2.0)),
    ("partial of a partial", PARTIALS["nested"], (W,), 0, lambda x: c.affine(x, 2.0, 0.5)),
    ("partial of a bound method", functools.partial(Q.two, 2.0), (W,), 0, lambda w: c.Quadratic.two(Q, 2.0, w)),
]
IDS = [row[0] for row in CALLABLES]


@pytest.mark.parametrize("name, fn, args, wrt, plain", CALLABLES, ids=IDS)
def test_gradients_of_callables_match_finite_differences(name, fn, args, wrt, plain):
    check_grad(fn, args, wrt)  # both modes
    check_dot_product(fn, args, wrt)  # jvp and vjp


@pytest.mark.parametrize("name, fn, args, wrt, plain", CALLABLES, ids=IDS)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_callables_differentiate_as_the_function_written_out(name, fn, args, wrt, plain, mode):
    got = sct.value_and_grad(fn, wrt=wrt, mode=mode)(*args)
    expected = numerical_grad(plain, args, wrt)
    assert got[0] == pytest.approx(plain(*args), rel=1e-12)
    for g, e in zip(got[1] if isinstance(wrt, tuple) else (got[1],), expected):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)


SECOND_ORDER = [
    ("hessian", lambda fn: sct.hessian(fn), lambda w: 2 * 2.0 * 0.5 * A.T @ A),
    ("hvp", lambda fn: (lambda w: sct.hvp(fn)(w, np.ones(3))), lambda w: 2.0 * A.T @ A @ np.ones(3)),
    ("jacobian of the gradient", lambda fn: sct.jacobian(sct.grad(fn)), lambda w: 2.0 * A.T @ A),
    ("forward over reverse", lambda fn: sct.jacobian(sct.grad(fn), mode="forward"), lambda w: 2.0 * A.T @ A),
]


@pytest.mark.parametrize("name, make, expected", SECOND_ORDER, ids=[s[0] for s in SECOND_ORDER])
@pytest.mark.parametrize("which", ["bound method", "callable object", "partial"])
def test_second_derivatives_of_callables(name, make, expected, which):
    fn = {"bound method": Q.loss, "callable object": Q,
          "partial": functools.partial(c.Quadratic.loss, Q)}[which]
    np.testing.assert_allclose(make(fn)(W), expected(W), rtol=1e-10, atol=1e-12)


def test_grad_of_grad_of_a_bound_method():
    k = c.Quadratic(A, B, scale=2.0)
    second = sct.grad(sct.grad(k.two, wrt="a"), wrt="a", mode="forward")
    assert second(1.5, W) == 0.0  # linear in a
    mixed = sct.grad(sct.grad(k.two, wrt="w"), wrt="a", mode="forward")
    with pytest.raises(sct.ArgumentError):  # the inner gradient is an array: grad refuses a non-scalar
        mixed(1.5, W)
    jac = sct.jacobian(sct.grad(k.two, wrt="w"), wrt="a")(1.5, W)
    np.testing.assert_allclose(jac, np.cos(W) * B[:3], rtol=1e-12)


# ------------------------------------------------------------------ self's attributes

@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_attributes_of_self_are_read_when_the_derivative_runs(mode):
    """Like a closure variable holding data (README, "Soundness rules"): self is an argument of the
    program, so self.A, self.scale are read at each call; a number rebound to an array is followed."""
    q = c.Quadratic(A.copy(), B.copy())
    g = sct.grad(q.weighted, mode=mode)
    np.testing.assert_allclose(g(W), numerical_grad(q.weighted, (W,))[0], rtol=1e-6)
    programs = len(sct.derived_programs(g))
    q.A = 2.0 * A + 1.0                # an array attribute rebound
    q.scale = 3.0                      # a number attribute rebound
    np.testing.assert_allclose(g(W), numerical_grad(q.weighted, (W,))[0], rtol=1e-6)
    q.scale = np.array([1.0, -2.0, 0.5])  # a number attribute now an array
    np.testing.assert_allclose(g(W), numerical_grad(q.weighted, (W,))[0], rtol=1e-6)
    q.b[:] = 7.0                       # an array attribute changed in place
    np.testing.assert_allclose(g(W), numerical_grad(q.weighted, (W,))[0], rtol=1e-6)
    assert len(sct.derived_programs(g)) == programs  # read when it runs: nothing rebuilt


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_one_program_serves_every_instance(mode):
    first, second = c.Quadratic(A, B, scale=1.0), c.Quadratic(2.0 * A, -B, scale=4.0)
    for q in (first, second):
        np.testing.assert_allclose(sct.grad(q.loss, mode=mode)(W), numerical_grad(q.loss, (W,))[0], rtol=1e-6)
    assert sct.source(sct.grad(first.loss), W) == sct.source(sct.grad(second.loss), W)


def test_the_program_of_a_method_takes_self():
    text = sct.source(sct.grad(Q.loss), W)
    assert text.startswith("def loss_grad(self, w):")
    assert "with respect to w;" in text and "self.A" in text


# ------------------------------------------------------------------ methods sct made

DECORATED = c.Decorated(1.5)


def _sin_loss(scale, w):
    return scale * np.sum(np.sin(w) * w)


METHODS = [
    ("grad", lambda d: d.grad_loss(W), lambda: numerical_grad(lambda w: _sin_loss(1.5, w), (W,))[0]),
    ("value_and_grad, forward", lambda d: d.value_and_grad_loss(W)[1],
     lambda: numerical_grad(lambda w: _sin_loss(1.5, w), (W,))[0]),
    ("grad, wrt=1 counts after self", lambda d: d.grad_second(2.0, W), lambda: 2 * 1.5 * 2.0 * W),
    ("grad, wrt by name", lambda d: d.grad_named(2.0, W), lambda: 2 * 1.5 * 2.0 * W),
    ("jvp", lambda d: d.jvp_loss(W, np.ones(3))[1], lambda: 1.5 * np.cos(W)),
    ("vjp", lambda d: d.vjp_loss(W, np.ones(3)), lambda: 1.5 * np.cos(W)),
    ("hessian", lambda d: d.hessian_loss(W), lambda: np.diag(1.5 * 6 * W)),
    ("jacobian", lambda d: d.jacobian_loss(W), lambda: np.diag(1.5 * np.cos(W))),
    ("hvp", lambda d: d.hvp_loss(W, np.ones(3)), lambda: 1.5 * 6 * W),
    ("read from the class, called with the instance", lambda d: type(d).grad_loss(d, W),
     lambda: numerical_grad(lambda w: _sin_loss(1.5, w), (W,))[0]),
    ("staticmethod over grad", lambda d: d.static_grad(W), lambda: 3 * W ** 2),
    ("grad over staticmethod", lambda d: d.grad_static(W), lambda: 3 * W ** 2),
    ("grad over staticmethod, from the class", lambda d: type(d).grad_static(W), lambda: 3 * W ** 2),
    ("grad over classmethod", lambda d: d.grad_class(W), lambda: 2 * 4.0 * W),
    ("grad over classmethod, from a subclass", lambda d: c.Sub.grad_class(W), lambda: 2 * 5.0 * W),
]


@pytest.mark.parametrize("name, call, expected", METHODS, ids=[m[0] for m in METHODS])
def test_derivatives_decorating_methods_bind_like_functions(name, call, expected):
    np.testing.assert_allclose(call(DECORATED), expected(), rtol=1e-6, atol=1e-9)


def test_decorated_method_reads_the_instance_it_is_called_on():
    small, large = c.Decorated(1.0), c.Decorated(10.0)
    np.testing.assert_allclose(large.grad_loss(W), 10.0 * small.grad_loss(W), rtol=1e-12)
    large.scale = 20.0
    np.testing.assert_allclose(large.grad_loss(W), 20.0 * small.grad_loss(W), rtol=1e-12)


# ------------------------------------------------------------------ metadata, source, pickling

METADATA = [
    # (name, the derivative, __name__, __qualname__, __doc__ starts, signature, repr contains)
    ("bound method", lambda: sct.grad(Q.loss), "loss_grad", "Quadratic.loss_grad", "The objective", "(w)",
     "<sct.grad of bound method Quadratic.loss, wrt='w'"),
    ("callable object", lambda: sct.grad(Q), "Quadratic_grad", "Quadratic_grad", "Called like a function",
     "(w)", "<sct.grad of Quadratic object (its __call__), wrt='w'"),
    ("partial", lambda: sct.grad(PARTIALS["positional"]), "scaled_square_grad", "scaled_square_grad",
     "a times the sum", "(w)", "<sct.grad of functools.partial(scaled_square, 3.0), wrt='w'"),
    ("partial, keyword", lambda: sct.jvp(PARTIALS["keyword"]), "affine_jvp", "affine_jvp", None,
     "(x, *, scale=2.0, shift=0.0)", "<sct.jvp of functools.partial(affine, scale=2.0), wrt='x'"),
    ("classmethod", lambda: sct.grad(c.Quadratic.powers), "powers_grad", "Quadratic.powers_grad", None, "(w)",
     "<sct.grad of classmethod Quadratic.powers, wrt='w'"),
    ("decorated method, bound", lambda: DECORATED.grad_loss, "grad_loss_grad", "Decorated.grad_loss_grad",
     "The gradient of scale", "(w)", "<sct.grad of bound method Decorated.grad_loss, wrt='w'"),
    ("decorated method, from the class", lambda: c.Decorated.grad_loss, "grad_loss_grad",
     "Decorated.grad_loss_grad", "The gradient of scale", "(self, w)",
     "<sct.grad of method Decorated.grad_loss, wrt='w'"),
]


@pytest.mark.parametrize("name, make, short, qualified, doc, signature, shown", METADATA,
                         ids=[m[0] for m in METADATA])
def test_metadata_of_derivatives_of_callables(name, make, short, qualified, doc, signature, shown):
    made = make()
    assert made.__name__ == short and made.__qualname__ == qualified
    assert made.__module__ == c.__name__
    assert (made.__doc__ or "").startswith(doc) if doc else made.__doc__ is None
    assert str(inspect.signature(made)) == signature
    assert repr(made).startswith(shown)


SOURCES = [
    ("bound method", lambda: sct.grad(Q.loss), (W,), "def loss_grad(self, w):"),
    ("callable object", lambda: sct.grad(Q, mode="forward"), (W,), "def __call___jvp(self, w, *, dw):"),
    ("partial", lambda: sct.vjp(PARTIALS["positional"]), (W, 1.0),
     "def scaled_square_vjp(a, w, *, scaled_square_bar):"),
    ("decorated method", lambda: DECORATED.grad_loss, (W,), "def grad_loss_grad(self, w):"),
    ("hessian of a bound method", lambda: sct.hessian(Q.loss), (W,), "def loss_grad_call_jvp_batched(self, w, *, dw):"),
]


@pytest.mark.parametrize("name, make, args, first", SOURCES, ids=[s[0] for s in SOURCES])
def test_source_of_derivatives_of_callables(name, make, args, first):
    made = make()
    assert sct.source(made, *args).startswith(first)  # with the call's arguments (self, a partial's: supplied)
    made(*args)
    assert sct.source(made).startswith(first)  # the program of the latest call


PICKLED = [
    ("bound method", lambda: sct.grad(Q.loss), (W,)),
    ("callable object", lambda: sct.value_and_grad(Q, mode="forward"), (W,)),
    ("partial", lambda: sct.grad(PARTIALS["nested"]), (W,)),
    ("classmethod", lambda: sct.grad(c.Quadratic.powers), (np.abs(W),)),
    ("decorated method, bound", lambda: DECORATED.grad_loss, (W,)),
    ("decorated method, from the class", lambda: c.Decorated.grad_loss, (DECORATED, W)),
    ("decorated classmethod", lambda: c.Sub.grad_class, (W,)),
    ("decorated function", lambda: c.decorated_function, (W,)),
    ("hessian of a bound method", lambda: sct.hessian(Q.loss), (W,)),
]


@pytest.mark.parametrize("name, make, args", PICKLED, ids=[p[0] for p in PICKLED])
def test_derivatives_of_callables_pickle(name, make, args):
    made = make()
    again = pickle.loads(pickle.dumps(made))
    for a, b in zip(np.atleast_1d(again(*args)[1] if name == "callable object" else again(*args)),
                    np.atleast_1d(made(*args)[1] if name == "callable object" else made(*args))):
        np.testing.assert_array_equal(a, b)
    assert repr(again) == repr(made)


def test_pickled_decorated_methods_are_found_by_name():
    data = pickle.dumps(DECORATED.grad_loss)
    assert b"grad_loss" in data and b"def " not in data


# ------------------------------------------------------------------ what is refused

REFUSED = [
    ("wrt names self", lambda: sct.grad(Q.loss, wrt="self"), sct.ArgumentError, "supplies itself"),
    ("wrt position past the parameters after self", lambda: sct.grad(Q.loss, wrt=1), sct.ArgumentError,
     "positions count the parameters after self"),
    ("wrt names the partial's argument", lambda: sct.grad(PARTIALS["positional"], wrt="a"), sct.ArgumentError,
     "supplies itself"),
    ("wrt position past what the partial leaves", lambda: sct.grad(PARTIALS["positional"], wrt=1),
     sct.ArgumentError, "positions count the parameters the partial leaves"),
    ("a class", lambda: sct.grad(c.Quadratic), sct.SourceError, "it is a class"),
    ("a ufunc", lambda: sct.grad(np.sin), sct.SourceError, "ufunc (C code)"),
    ("a builtin", lambda: sct.grad(abs), sct.SourceError, "builtin (C code)"),
    ("a method of a builtin type", lambda: sct.grad((1.0).__add__), sct.SourceError, "C code"),
    ("export of a bound method", lambda: sct.export(Q.loss), sct.ExportError, "sct.export(Quadratic.loss"),
    ("export of a partial", lambda: sct.export(PARTIALS["keyword"]), sct.ExportError, "binds some of them"),
]


@pytest.mark.parametrize("name, make, error, text", REFUSED, ids=[r[0] for r in REFUSED])
def test_what_is_refused_when_made(name, make, error, text):
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")):
        make()


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_method_called_through_self_is_followed(mode):
    """``self.residual(w)``: the program is specialised to self's class (its kind is ``object Quadratic``),
    so the call is ``Quadratic.residual(self, w)``, differentiated like any call of your functions."""
    check_grad(Q.through_self, (W,), modes=(mode,))
    check_dot_product(Q.through_self, (W,))
    assert sct.grad(Q.through_self, mode=mode)(W) == pytest.approx(
        sct.grad(Q.through_class, mode=mode)(W) / Q.scale, rel=1e-12)
    text = sct.source(sct.grad(Q.through_self, mode=mode), W)
    assert "self object Quadratic" in text and ("residual_jvp(self, w" in text if mode == "forward"
                                                 else "residual_fwd(self, w)" in text)
    if mode == "reverse":
        assert "Quadratic_residual(self, w)" in sct.source(sct.grad(Q.through_self, calls="joint"), W)
    other = c.Quadratic(2.0 * A, B)  # another instance of the class: the same program, its own attributes
    assert sct.grad(other.through_self, mode=mode)(W) == pytest.approx(
        numerical_grad(other.through_self, (W,))[0], rel=1e-6)


CALLED_INSIDE = [
    ("bound method", c.calls_bound_method, "MODEL.loss(w)", "a bound method", "Quadratic.loss(MODEL, ...)"),
    ("partial", c.calls_partial, "HALF(w)", "a functools.partial object", "call scaled_square itself"),
    ("callable object", c.calls_callable_object, "MODEL(w)", "a Quadratic object", "Quadratic.__call__(MODEL, ...)"),
    ("classmethod", c.calls_classmethod, "Quadratic.powers(w)", "a classmethod", "make it a staticmethod"),
]


@pytest.mark.parametrize("name, fn, call, what, instead", CALLED_INSIDE, ids=[r[0] for r in CALLED_INSIDE])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_callables_called_inside_a_differentiated_function_are_refused_with_what_works(name, fn, call, what,
                                                                                       instead, mode):
    with pytest.raises(sct.NoRuleError) as info:
        sct.grad(fn, mode=mode)(W)
    err = info.value
    assert err.location.line == inspect.getsourcelines(fn)[1] + 1 and call in err.location.text
    assert what in err.message and instead in err.hint


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_what_works_instead_works(mode):
    m = c.MODEL
    expected = numerical_grad(lambda w: c.Quadratic.loss(m, w) + m(w) + c.scaled_square(0.5, w), (W,))[0]
    np.testing.assert_allclose(sct.grad(c.calls_through_the_class, mode=mode)(W), expected, rtol=1e-6)
