"""Methods, classmethods, staticmethods, partials and callable objects that sct differentiates
(tests/test_callables.py)."""
import functools

import numpy as np

import sct


def scaled_square(a, w):
    """a times the sum of squares of w."""
    return np.sum(a * w ** 2)


def affine(x, scale, shift=0.0):
    return np.sum(scale * x + shift * x * x)


class Quadratic:
    """0.5 * scale * |A w - b|^2, with A, b and scale held by the object."""

    power = 3.0  # a class attribute, read through cls

    def __init__(self, A, b, scale=2.0):
        self.A = A
        self.b = b
        self.scale = scale

    def loss(self, w):
        """The objective."""
        r = self.A @ w - self.b
        return 0.5 * self.scale * np.sum(r * r)

    def weighted(self, w):
        return np.sum(self.scale * w * w) + np.sum(self.A @ w) + np.sum(self.b) * w[0]

    def residual(self, w):
        return self.A @ w - self.b

    def through_class(self, w):
        r = Quadratic.residual(self, w)  # another method, called through the class: followed
        return np.sum(r * r) * self.scale

    def through_self(self, w):
        r = self.residual(w)  # through self: followed (the program is specialised to self's class)
        return np.sum(r * r)

    def two(self, a, w):
        return a * np.sum(np.sin(w) * self.b[: w.shape[0]])

    def uses_helper(self, w):
        return scaled_square(self.scale, w) + np.sum(self.b) * w[0]

    @staticmethod
    def cubes(w):
        return np.sum(w ** 3)

    @classmethod
    def powers(cls, w):
        return np.sum(w ** cls.power)

    def __call__(self, w):
        """Called like a function: the objective."""
        return 0.5 * self.scale * np.sum((self.A @ w - self.b) ** 2)


class Decorated:
    """Derivatives sct made, as methods: they bind to the instance (or class) they are read from."""

    def __init__(self, scale):
        self.scale = scale

    @sct.grad
    def grad_loss(self, w):
        """The gradient of scale * sum(sin(w) * w)."""
        return self.scale * np.sum(np.sin(w) * w)

    @sct.value_and_grad(mode="forward")
    def value_and_grad_loss(self, w):
        return self.scale * np.sum(np.sin(w) * w)

    @sct.grad(wrt=1)  # positions count after self, as in a call on an instance
    def grad_second(self, a, w):
        return self.scale * a * np.sum(w * w)

    @sct.grad(wrt="w")
    def grad_named(self, a, w):
        return self.scale * a * np.sum(w * w)

    @sct.jvp
    def jvp_loss(self, w):
        return self.scale * np.sin(w)

    @sct.vjp
    def vjp_loss(self, w):
        return self.scale * np.sin(w)

    @sct.hessian
    def hessian_loss(self, w):
        return self.scale * np.sum(w ** 3)

    @sct.jacobian
    def jacobian_loss(self, w):
        return self.scale * np.sin(w)

    @sct.hvp
    def hvp_loss(self, w):
        return self.scale * np.sum(w ** 3)

    @staticmethod
    @sct.grad
    def static_grad(w):
        return np.sum(w ** 3)

    @sct.grad
    @staticmethod
    def grad_static(w):
        return np.sum(w ** 3)

    factor = 4.0

    @sct.grad
    @classmethod
    def grad_class(cls, w):
        return cls.factor * np.sum(w * w)


class Sub(Decorated):
    factor = 5.0


@sct.grad
def decorated_function(x):
    return np.sum(np.sin(x))


def make_partials():
    return {"positional": functools.partial(scaled_square, 3.0),
            "keyword": functools.partial(affine, scale=2.0),
            "nested": functools.partial(functools.partial(affine, shift=0.5), scale=2.0)}


MODEL = Quadratic(np.eye(3), np.ones(3))
HALF = functools.partial(scaled_square, 0.5)


def calls_bound_method(w):
    return MODEL.loss(w)


def calls_partial(w):
    return HALF(w)


def calls_callable_object(w):
    return MODEL(w)


def calls_classmethod(w):
    return Quadratic.powers(w)


def calls_through_the_class(w):
    return Quadratic.loss(MODEL, w) + Quadratic.__call__(MODEL, w) + scaled_square(0.5, w)
