"""Python that users write around their model code, found by red-team runs on code nobody here wrote:
decorators, helpers rebound between calls, methods hidden by instance attributes, lambdas as helpers.
Each is differentiated right (numbers against finite differences) or refused, never a stale or wrong
number and never an internal error."""
import functools

import numpy as np
import pytest

import sct
from sct.testing import numerical_grad

from programs import patchable


def _doubled(fn):
    @functools.wraps(fn)
    def wrapper(x):
        return 2.0 * fn(x)
    return wrapper


def _clipped(fn):
    @functools.wraps(fn)
    def wrapper(x):
        return fn(np.clip(x, -0.5, 0.5))
    return wrapper


@_doubled
def _square_doubled(x):
    return x ** 2


@_clipped
def _sum_of_squares_clipped(x):
    return np.sum(x ** 2)


def _calls_the_decorated(x):
    return _square_doubled(x) + 1.0


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_decorator_with_functools_wraps_is_differentiated_as_it_runs(mode):
    """inspect follows ``__wrapped__`` to the undecorated source; sct reads the wrapper's own code, which is
    what runs (the gradient was that of the undecorated function: 6 where 12 is right)."""
    assert sct.grad(_square_doubled, mode=mode)(3.0) == pytest.approx(12.0)
    assert sct.grad(_calls_the_decorated, mode=mode)(3.0) == pytest.approx(12.0)
    x = np.array([0.3, -0.7])
    np.testing.assert_allclose(sct.grad(_sum_of_squares_clipped, mode=mode)(x), [0.6, 0.0])


class _Holder:
    pass


_HOLDER = _Holder()
_HOLDER.f = patchable.act


class _Model:
    def reg(self, x):
        return x ** 2

    def loss(self, x):
        return _Model.reg(self, x)

    def act(self, x):
        return x ** 2

    def through_self(self, x):
        return self.act(x)


def _module_attribute(x):
    return patchable.act(x)


def _object_attribute(x):
    return _HOLDER.f(x)


def _cube_method(self, x):
    return x ** 3


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_helper_rebound_on_a_module_object_or_class_is_read_at_the_next_call(mode, monkeypatch):
    """``helpers.act = other`` (monkeypatch, reload), ``obj.f = other``, ``Cls.m = other``: the next call of
    the same gradient runs the new helper, as Python would (the program kept the old one)."""
    model = _Model()
    grads = [sct.grad(_module_attribute, mode=mode), sct.grad(_object_attribute, mode=mode),
             sct.grad(model.loss, mode=mode)]
    assert [g(0.5) for g in grads] == pytest.approx([1.0, 1.0, 1.0])
    monkeypatch.setattr(patchable, "act", patchable.cube)
    monkeypatch.setattr(_HOLDER, "f", patchable.cube)
    monkeypatch.setattr(_Model, "reg", _cube_method)
    assert [g(0.5) for g in grads] == pytest.approx([0.75, 0.75, 0.75])


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_an_instance_attribute_hiding_a_method_is_not_the_method(mode):
    """``model.act = cube`` makes ``self.act(x)`` call cube; sct followed the class's ``act`` (4 where 12 is
    right): refused now, located."""
    model = _Model()
    assert sct.grad(model.through_self, mode=mode)(2.0) == pytest.approx(4.0)
    model.act = patchable.cube
    with pytest.raises(sct.NoRuleError, match=r"self\.act"):
        sct.grad(model.through_self, mode=mode)(2.0)


_square = lambda z: z ** 2  # noqa: E731


class _WithLambdas:
    scale = staticmethod(lambda z: 3.0 * z)
    squared = lambda self, z: z ** 2  # noqa: E731

    def loss(self, w):
        return np.sum(self.squared(w)) + np.sum(_WithLambdas.scale(w))


def _calls_a_global_lambda(x):
    return _square(x) * 2.0


def _closure_over(h):
    def inner(x):
        return np.sum(h(x))
    return inner


@pytest.mark.parametrize("options", [{}, {"mode": "forward"}, {"calls": "joint"}, {"calls": "split"}])
def test_lambdas_defined_outside_are_helpers_like_any_function(options):
    """A lambda's name is ``<lambda>``: generated names made from it were not identifiers (a SyntaxError in
    the reverse-mode program)."""
    assert sct.grad(_calls_a_global_lambda, **options)(0.5) == pytest.approx(2.0)
    x = np.array([0.3, -0.7])
    for fn in (_WithLambdas().loss, _closure_over(lambda z: z ** 3)):  # (a lambda in a `for` header)
        np.testing.assert_allclose(sct.grad(fn, **options)(x), numerical_grad(fn, (x,), 0)[0], rtol=1e-7)


class _WithStaticAndClassMethods:
    factor = 2.0

    @staticmethod
    def act(w):
        return np.tanh(w)

    @classmethod
    def scale(cls, w):
        return cls.factor * w

    def loss(self, w):
        return np.sum(self.act(w) * self.scale(w))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_static_and_class_methods_called_through_self(mode):
    """``self.act(w)`` with ``act`` a staticmethod is ``Cls.act(w)``; a classmethod's is ``Cls.scale(Cls, w)``
    (both were refused as methods of an unknown object)."""
    model, x = _WithStaticAndClassMethods(), np.array([0.3, -0.7])
    np.testing.assert_allclose(sct.grad(model.loss, mode=mode)(x), numerical_grad(model.loss, (x,), 0)[0],
                               rtol=1e-7)
