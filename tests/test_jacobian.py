"""sct.jacobian / jacfwd / jacrev, sct.hvp and sct.hessian with several wrt: finite differences, and the
modes against each other, on a table of maps (numbers and arrays in and out, loops, matrices)."""
import math
import pickle

import numpy as np
import pytest

import sct

RNG = np.random.default_rng(7)
A = RNG.normal(size=(4, 4))


def tanh_matmul(x):
    return np.tanh(A @ x) * x


def loop_map(x):
    y = np.zeros(len(x))
    y[0] = x[0]
    for i in range(1, len(x)):
        y[i] = y[i - 1] * np.sin(x[i]) + x[i] ** 2
    return y


def curve(t):
    return np.array([np.cos(t), np.sin(t) * t, t ** 3])


def cubes(x):
    return np.sum(x ** 3) + x[0] * x[1]


def two_args(x, s):
    return np.exp(s * x) + s ** 2


def gram(M):
    return M @ M.T


def lecture(x1, x2):
    return x1 * x2 + math.sin(x1)


# (name, function, wrt, arguments)
MAPS = [
    ("tanh_matmul R4->R4", tanh_matmul, 0, (RNG.normal(size=4),)),
    ("loop_map R5->R5", loop_map, 0, (RNG.normal(size=5),)),
    ("curve R->R3", curve, 0, (0.7,)),
    ("cubes R3->R", cubes, 0, (RNG.normal(size=3),)),
    ("two_args (R3, R)->R3", two_args, (0, 1), (RNG.normal(size=3), 0.4)),
    ("gram R2x3->R2x2", gram, 0, (RNG.normal(size=(2, 3)),)),
    ("lecture (R, R)->R", lecture, (0, 1), (0.7, -1.3)),
]


def finite_jacobian(fn, args, position, h=1e-6):
    """Central differences, in the layout out.shape + x.shape."""
    x = args[position]
    flat = np.atleast_1d(np.asarray(x, dtype=float)).ravel()
    columns = []
    for i in range(flat.size):
        step = np.zeros(flat.size)
        step[i] = h
        def at(delta):
            moved = (flat + delta).reshape(np.shape(x))
            moved = float(moved) if np.ndim(x) == 0 else moved
            return np.asarray(fn(*args[:position], moved, *args[position + 1:]), dtype=float)
        columns.append((at(step) - at(-step)) / (2 * h))
    out_shape = columns[0].shape
    return np.stack(columns, axis=-1).reshape(out_shape + np.shape(x))


def _positions(fn, wrt):
    return (wrt,) if isinstance(wrt, int) else wrt


@pytest.mark.parametrize("name, fn, wrt, args", MAPS, ids=[m[0] for m in MAPS])
@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_matches_finite_differences(name, fn, wrt, args, mode):
    got = sct.jacobian(fn, wrt=wrt, mode=mode)(*args)
    blocks = (got,) if isinstance(wrt, int) else got
    for block, position in zip(blocks, _positions(fn, wrt)):
        expected = finite_jacobian(fn, args, position)
        assert np.shape(block) == expected.shape
        np.testing.assert_allclose(block, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name, fn, wrt, args", MAPS, ids=[m[0] for m in MAPS])
def test_forward_and_reverse_jacobians_agree(name, fn, wrt, args):
    forward, reverse = sct.jacfwd(fn, wrt=wrt)(*args), sct.jacrev(fn, wrt=wrt)(*args)
    for f, r in zip(*(((forward,), (reverse,)) if isinstance(wrt, int) else (forward, reverse))):
        assert type(f) is type(r)
        np.testing.assert_allclose(f, r, rtol=1e-12, atol=1e-14)


def test_jacobian_layout_and_types():
    x = RNG.normal(size=(2, 3))
    assert sct.jacobian(gram)(x).shape == (2, 2, 2, 3)
    assert isinstance(sct.jacobian(lecture)(0.7, -1.3), float)
    assert sct.jacobian(curve)(0.7).shape == (3,)
    assert sct.jacrev(cubes)(np.ones(3)).shape == (3,)
    with pytest.raises(sct.ArgumentError, match="mode"):
        sct.jacobian(curve, mode="sideways")


def coupled(x, y):
    return np.sum(x[:2] ** 2 * y) + np.sin(y[0]) * x[2] + np.exp(x[0] * y[1])


def test_hessian_blocks_match_finite_differences_of_the_gradient():
    x, y = RNG.normal(size=3), RNG.normal(size=2)
    blocks = sct.hessian(coupled, wrt=(0, 1))(x, y)
    args = (x, y)
    for i in range(2):
        gradient_i = sct.grad(coupled, wrt=i)
        for j in range(2):
            expected = finite_jacobian(gradient_i, args, j)
            assert blocks[i][j].shape == args[i].shape + args[j].shape
            np.testing.assert_allclose(blocks[i][j], expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(blocks[0][1], blocks[1][0].T, rtol=1e-12)
    np.testing.assert_allclose(blocks[0][0], sct.hessian(coupled, wrt=0)(x, y), rtol=1e-14)
    scalar = sct.hessian(lecture, wrt=(0, 1))(0.7, -1.3)
    assert all(isinstance(h, float) for row in scalar for h in row)
    np.testing.assert_allclose(scalar, ((-math.sin(0.7), 1.0), (1.0, 0.0)), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("fn, args", [(cubes, (RNG.normal(size=3),)), (coupled, (RNG.normal(size=3), RNG.normal(size=2))),
                                      (lecture, (0.7, -1.3))])
def test_hvp_is_the_hessian_times_v(fn, args):
    v = RNG.normal(size=np.shape(args[0])) if np.ndim(args[0]) else 0.3
    got = sct.hvp(fn)(*args, v)
    expected = np.dot(np.atleast_2d(sct.hessian(fn)(*args)), np.atleast_1d(v))
    np.testing.assert_allclose(np.atleast_1d(got), expected, rtol=1e-12)
    assert np.shape(got) == np.shape(args[0])


def test_jacobian_and_hvp_pickle():
    x = RNG.normal(size=4)
    for made, args in ((sct.jacrev(tanh_matmul), (x,)), (sct.hvp(cubes), (x[:3], x[1:])),
                       (sct.hessian(coupled, wrt=(0, 1)), (x[:3], x[:2]))):
        again = pickle.loads(pickle.dumps(made))
        np.testing.assert_array_equal(np.asarray(again(*args), dtype=object).ravel()[0],
                                      np.asarray(made(*args), dtype=object).ravel()[0])


def test_source_of_hvp_and_hessian_is_the_tangent_of_the_gradient_program():
    x = RNG.normal(size=3)
    h, H = sct.hvp(cubes), sct.hessian(cubes)
    h(x, x)
    H(x)
    for text in (sct.source(h), sct.source(h, x, x)):
        assert text.startswith("def cubes_grad_call_jvp(x, *, dx):")
    for text in (sct.source(H), sct.source(H, x)):  # the Hessian: all directions in one batched sweep
        assert text.startswith("def cubes_grad_call_jvp_batched(x, *, dx):")


@pytest.mark.parametrize("chunk_size", [None, 1, 2, 4])
def test_one_sweep_for_several_wrt_cut_into_chunks(chunk_size):
    """The forward Jacobian carries every wrt argument's elements in one sweep (or chunks of it, which may
    straddle two arguments): the same blocks as the reverse Jacobian."""
    x, s = RNG.normal(size=3), 0.7
    forward = sct.jacobian(two_args, wrt=(0, 1), mode="forward", chunk_size=chunk_size)(x, s)
    reverse = sct.jacobian(two_args, wrt=(0, 1), mode="reverse")(x, s)
    for f, r in zip(forward, reverse):
        np.testing.assert_allclose(f, r, rtol=1e-12, atol=1e-12)
    grads = sct.grad(lambda x, s: np.sum(two_args(x, s)), wrt=(0, 1), mode="forward")(x, s)
    np.testing.assert_allclose(grads[0], np.sum(reverse[0], axis=0), rtol=1e-12)
    np.testing.assert_allclose(grads[1], np.sum(reverse[1]), rtol=1e-12)


def _pair_output(x):
    return x[0] * x[1], x[2] * x[3]


def _dict_output(x):
    return {"a": x[0] * x[1], "b": x * x[2]}


def _mixed_output(x):
    return x[0] * x[1], x[2:] * x[3]


@pytest.mark.parametrize("fn", [_pair_output, _dict_output, _mixed_output])
@pytest.mark.parametrize("mode", ["forward", "auto", "reverse"])
def test_jacobian_of_a_container_output_is_refused_in_every_mode(fn, mode):
    """Forward mode once failed inside NumPy (stacking the columns of a tuple) before checking the output."""
    with pytest.raises(sct.ArgumentError, match="needs a number or a float array"):
        sct.jacobian(fn, mode=mode)(np.array([0.3, -0.7, 1.1, 0.5]))


def _doubled(x):
    return x * 2.0


def _scaled_by_norm(x):
    return np.sum(x ** 2) * x


@pytest.mark.parametrize("mode", ["forward", "auto", "reverse"])
def test_the_jacobian_of_an_empty_output_is_empty(mode):
    """Reverse mode runs one adjoint sweep per output element: none here (it stacked an empty list)."""
    assert sct.jacobian(_doubled, mode=mode)(np.zeros(0)).shape == (0, 0)


def test_vmap_of_a_jacobian_over_no_examples():
    jac = sct.vmap(sct.jacobian(_scaled_by_norm))
    assert jac(np.zeros((0, 3))).shape == (0, 3, 3)
    x = np.array([[0.3, -0.2, 0.5], [1.0, 0.1, -0.4]])
    np.testing.assert_allclose(jac(x), [sct.jacobian(_scaled_by_norm)(row) for row in x])
