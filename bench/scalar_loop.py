"""Scalar targets: a 1000-step loop with a data-dependent branch, and the
lecture example f(x1, x2) = x1*x2 + sin(x1).

``loop`` and ``lecture`` are plain Python on floats using the ``math``
module, for sct.  Each peer gets the same computation in its own idiom:

* autograd: autograd.numpy functions on floats (autograd has no ``math``);
* JAX without jit: the same Python loop and ``if`` on jax.numpy values
  (allowed outside jit: the branch sees concrete values);
* JAX with jit: ``jax.lax.fori_loop`` with ``jax.lax.cond`` for the branch
  (a Python ``if`` on a traced value is an error under jit, and unrolling
  1000 Python iterations would make compilation, not running, the cost);
* PyTorch eager: 0-d float64 tensors, ``.backward()`` for reverse mode and
  ``torch.autograd.forward_ad`` dual tensors for forward mode;
* by hand: a reverse sweep that stores the loop's intermediate ``t`` and
  branch choices, and a forward (tangent) sweep.
"""

import math

import numpy as np

STEPS = 1000


# ---------------------------------------------------------------------------
# plain Python, for sct
# ---------------------------------------------------------------------------

def loop(x, y):
    """A driven, contracting recurrence t and a branch on its sign."""
    s = 0.0
    t = x
    for i in range(1000):
        t = 0.5 * t + y * math.sin(0.1 * i + x)
        if t > 0.0:
            s = s + t * math.exp(-t * y)
        else:
            s = s + x * math.cos(t)
    return s


def lecture(x1, x2):
    """The lecture example."""
    return x1 * x2 + math.sin(x1)


# ---------------------------------------------------------------------------
# by hand
# ---------------------------------------------------------------------------

def loop_grad_hand(x, y):
    """Reverse mode by hand: forward sweep records t before each update and
    the branch taken; backward sweep runs the adjoints in reverse order."""
    s = 0.0
    t = x
    ts = [0.0] * STEPS      # t after the update of step i
    pos = [False] * STEPS   # branch taken at step i
    for i in range(STEPS):
        t = 0.5 * t + y * math.sin(0.1 * i + x)
        ts[i] = t
        pos[i] = t > 0.0
        if pos[i]:
            s = s + t * math.exp(-t * y)
        else:
            s = s + x * math.cos(t)
    xb = 0.0
    yb = 0.0
    tb = 0.0                # adjoint of t after step i (s-bar is 1 throughout)
    for i in range(STEPS - 1, -1, -1):
        t = ts[i]
        if pos[i]:
            e = math.exp(-t * y)
            # s += t e^{-t y}:  d/dt = e (1 - t y),  d/dy = -t^2 e
            tb += e * (1.0 - t * y)
            yb += -t * t * e
        else:
            # s += x cos t:  d/dx = cos t,  d/dt = -x sin t
            xb += math.cos(t)
            tb += -x * math.sin(t)
        a = 0.1 * i + x
        # t = 0.5 t_prev + y sin(a)
        yb += tb * math.sin(a)
        xb += tb * y * math.cos(a)
        tb = 0.5 * tb
    xb += tb                # t_0 = x
    return xb, yb


def loop_jvp_hand(x, y, dx, dy):
    """Forward (tangent) mode by hand: returns (loop(x, y), directional derivative)."""
    s = 0.0
    ds = 0.0
    t = x
    dt = dx
    for i in range(STEPS):
        a = 0.1 * i + x
        t, dt = (0.5 * t + y * math.sin(a),
                 0.5 * dt + dy * math.sin(a) + y * math.cos(a) * dx)
        if t > 0.0:
            e = math.exp(-t * y)
            s = s + t * e
            ds = ds + dt * e - t * e * (dt * y + t * dy)
        else:
            s = s + x * math.cos(t)
            ds = ds + dx * math.cos(t) - x * math.sin(t) * dt
    return s, ds


def lecture_grad_hand(x1, x2):
    return x2 + math.cos(x1), x1


def lecture_jvp_hand(x1, x2, dx1, dx2):
    return x1 * x2 + math.sin(x1), dx1 * x2 + x1 * dx2 + math.cos(x1) * dx1


# ---------------------------------------------------------------------------
# peers
# ---------------------------------------------------------------------------

def build_autograd():
    """Returns dict name -> (primal, grad, jvp) for 'loop' and 'lecture'.
    grad(x, y) -> (gx, gy); jvp(x, y, dx, dy) -> (value, derivative)."""
    import autograd
    import autograd.numpy as anp

    def loop_ag(x, y):
        s = 0.0
        t = x
        for i in range(STEPS):
            t = 0.5 * t + y * anp.sin(0.1 * i + x)
            if t > 0.0:
                s = s + t * anp.exp(-t * y)
            else:
                s = s + x * anp.cos(t)
        return s

    def lecture_ag(x1, x2):
        return x1 * x2 + anp.sin(x1)

    out = {}
    for name, f in (("loop", loop_ag), ("lecture", lecture_ag)):
        jvp = autograd.make_jvp(f, argnum=(0, 1))
        out[name] = (f, autograd.grad(f, argnum=(0, 1)),
                     lambda x, y, dx, dy, jvp=jvp: jvp(x, y)((dx, dy)))
    return out


def build_jax(jit):
    """Returns dict name -> (primal, grad, jvp), taking and returning JAX
    float64 scalars (asynchronous: block_until_ready when timing).

    jit=False: the Python loop with a Python ``if`` on jax.numpy values.
    jit=True:  lax.fori_loop + lax.cond, everything under jax.jit."""
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def loop_py(x, y):
        s = 0.0
        t = x
        for i in range(STEPS):
            t = 0.5 * t + y * jnp.sin(0.1 * i + x)
            if t > 0.0:
                s = s + t * jnp.exp(-t * y)
            else:
                s = s + x * jnp.cos(t)
        return s

    def loop_lax(x, y):
        def body(i, carry):
            s, t = carry
            t = 0.5 * t + y * jnp.sin(0.1 * i + x)
            s = s + jax.lax.cond(t > 0.0,
                                 lambda t: t * jnp.exp(-t * y),
                                 lambda t: x * jnp.cos(t),
                                 t)
            return s, t
        s, _ = jax.lax.fori_loop(0, STEPS, body, (jnp.zeros_like(x), x))
        return s

    def lecture_j(x1, x2):
        return x1 * x2 + jnp.sin(x1)

    out = {}
    for name, f in (("loop", loop_lax if jit else loop_py), ("lecture", lecture_j)):
        grad = jax.grad(f, argnums=(0, 1))

        def jvp(x, y, dx, dy, f=f):
            return jax.jvp(f, (x, y), (dx, dy))

        if jit:
            f, grad, jvp = jax.jit(f), jax.jit(grad), jax.jit(jvp)
        out[name] = (f, grad, jvp)
    return out


def build_torch():
    """Returns dict name -> (primal, grad, jvp) on 0-d float64 tensors.
    grad takes leaf tensors with requires_grad=True and returns their .grad;
    jvp uses forward-mode dual tensors."""
    import torch
    import torch.autograd.forward_ad as fwad

    def loop_t(x, y):
        s = 0.0
        t = x
        for i in range(STEPS):
            t = 0.5 * t + y * torch.sin(0.1 * i + x)
            if t > 0.0:
                s = s + t * torch.exp(-t * y)
            else:
                s = s + x * torch.cos(t)
        return s

    def lecture_t(x1, x2):
        return x1 * x2 + torch.sin(x1)

    out = {}
    for name, f in (("loop", loop_t), ("lecture", lecture_t)):
        def primal(x, y, f=f):
            with torch.no_grad():
                return f(x, y)

        def grad(x, y, f=f):
            x.grad = None
            y.grad = None
            f(x, y).backward()
            return x.grad, y.grad

        def jvp(x, y, dx, dy, f=f):
            with fwad.dual_level():
                res = fwad.unpack_dual(f(fwad.make_dual(x, dx), fwad.make_dual(y, dy)))
                return res.primal, res.tangent

        out[name] = (primal, grad, jvp)
    return out


def scalar_inputs():
    """The evaluation point and tangent direction used by the benchmark."""
    return {"loop": (0.7, 0.9), "lecture": (0.7, 0.9)}, (1.0, -0.5)


def as_float_pair(values):
    return tuple(float(np.asarray(v)) for v in values)
