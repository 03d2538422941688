"""The runtime generated code calls: broadcasting helpers and the matrix-product adjoint's layout choice."""
import itertools

import numpy as np
import pytest

from sct.runtime.broadcast import sum_axes, unbroadcast
from sct.rules.numpy import _matmul_adjoint

SHAPES = [(5, 1000, 2), (3, 4, 5, 100), (10000,), (2, 3, 4000), (4000, 3), (7, 3)]


@pytest.mark.parametrize("shape", SHAPES)
def test_sum_axes_matches_numpy_for_every_set_of_axes(shape):
    g = np.random.default_rng(0).normal(size=shape)
    for r in range(1, len(shape) + 1):
        for axes in itertools.combinations(range(len(shape)), r):
            assert np.allclose(sum_axes(g, axes), np.sum(g, axis=axes), rtol=1e-13, atol=1e-10), axes
            assert np.shape(sum_axes(g, axes)) == np.shape(np.sum(g, axis=axes))


def test_sum_axes_on_views_and_other_dtypes():
    g = np.random.default_rng(1).normal(size=(50, 200, 3))
    view = g.transpose(1, 0, 2)                       # not contiguous
    assert np.allclose(sum_axes(view, (1,)), view.sum(axis=1))
    wide = np.broadcast_to(g[:, :1, :], g.shape)       # zero strides
    assert np.allclose(sum_axes(wide, (1,)), wide.sum(axis=1))
    f32 = g.astype(np.float32)
    assert sum_axes(f32, (0,)).dtype == np.float32


def test_unbroadcast_sums_the_broadcast_axes():
    g = np.arange(2 * 3000 * 4, dtype=float).reshape(2, 3000, 4)
    assert np.allclose(unbroadcast(g, np.zeros((2, 1, 4))), g.sum(axis=1, keepdims=True))
    assert np.allclose(unbroadcast(g, np.zeros(4)), g.sum(axis=(0, 1)))
    assert np.allclose(unbroadcast(g, np.zeros((3000, 1))), g.sum(axis=(0, 2))[:, None])
    assert unbroadcast(g, 1.0) == pytest.approx(g.sum())


@pytest.mark.parametrize("xs, ys", [((4, 300, 8), (4, 8, 8)), ((4, 8, 8), (4, 8, 300)), ((300, 8), (8,)),
                                    ((8,), (8, 300)), ((2, 1, 30, 8), (5, 8, 6))])
def test_matmul_adjoint_is_right_whichever_operand_is_copied(xs, ys):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=xs), rng.normal(size=ys)
    g = rng.normal(size=np.shape(x @ y))
    dx, dy = rng.normal(size=xs), rng.normal(size=ys)
    # <g, dx @ y + x @ dy> = <x_bar, dx> + <y_bar, dy>
    lhs = np.sum(g * (dx @ y + x @ dy))
    rhs = np.sum(_matmul_adjoint(g, x, y, 0) * dx) + np.sum(_matmul_adjoint(g, x, y, 1) * dy)
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_shape_only_keeps_shape_and_dtype_and_no_data():
    from sct.runtime import shape_only
    x = np.ones((300, 400))
    stand_in = shape_only(x)
    assert stand_in.shape == x.shape and stand_in.dtype == x.dtype
    assert stand_in.strides == (0, 0) and not stand_in.flags.writeable
    assert np.allclose(unbroadcast(np.ones((2, 300, 400)), stand_in), 2.0)
    assert shape_only(2.5) == 2.5
    small = np.ones(1)
    assert shape_only(small) is small


def test_max_and_min_share_the_derivative_between_tied_elements():
    import sct

    def top(x):
        return np.sum(np.max(x, axis=1)) + np.min(x)

    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.5, 1.0]])   # a tie for the max of row 0; one min
    expected = np.array([[0.0, 0.5, 0.5], [1.0, 1.0, 0.0]])
    for mode in ("reverse", "forward"):
        assert np.allclose(sct.grad(top, mode=mode)(x), expected)
    y = np.array([[1.0, 3.0, 2.0], [2.0, 0.5, 1.0]])   # no ties
    assert np.allclose(sct.grad(top)(y), [[0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])


@pytest.mark.parametrize("shape, index", [
    ((4, 10), (slice(None), np.array([[0, 3], [3, 9]]))),
    ((10,), np.array([1, 1, 2, -1])),
    ((6, 5), (np.array([0, 0, 5]), slice(1, 4))),
    ((3, 4, 5), (np.array([0, 2, 0]), slice(None), np.array([4, 4, 1]))),
    ((5, 3), np.array([True, False, True, True, False])),
    ((1000,), np.array([3, 3])),                       # far larger than g: np.add.at
])
def test_add_at_accumulates_repeated_indices_like_numpy(shape, index):
    from sct.runtime import add_at
    rng = np.random.default_rng(3)
    x = rng.normal(size=shape)
    g = rng.normal(size=np.shape(x[index]))
    expected = np.zeros(shape)
    np.add.at(expected, index, g)
    assert np.allclose(add_at(0.0, x, index, g), expected, rtol=1e-13)
    acc = rng.normal(size=shape)
    np.add.at(acc_copy := acc.copy(), index, g)
    assert np.allclose(add_at(acc, x, index, g), acc_copy, rtol=1e-13)


def test_add_into_writes_only_its_own_float_array_in_place():
    from sct.runtime import add_at, add_into
    x, g = np.arange(6.0), np.array([1.0, 2.0])
    acc = add_into(0.0, x, slice(1, 3), g)
    assert acc.tolist() == [0, 1, 2, 0, 0, 0]
    assert add_into(acc, x, np.s_[-1:-5:-2], g) is acc  # written in place
    assert acc.tolist() == [0, 1, 2, 2, 0, 1]
    assert add_into(acc, x, np.array([0, 0]), g) is acc and acc[0] == 3.0  # repeated indices accumulate
    # what add_at would have copied (read-only, narrower dtype, another shape) goes through add_at
    frozen = np.zeros(6)
    frozen.flags.writeable = False
    for other in (frozen, np.zeros(6, dtype=np.float32), np.zeros((1, 6))):
        before = other.copy()
        out = add_into(other, x, 0, 1.0)
        assert out is not other and np.array_equal(other, before)
        assert np.array_equal(out, add_at(before, x, 0, 1.0))
    # x[:, None]'s adjoint from zero is g reshaped (no new array): a view of g, never written afterwards
    m, column = np.zeros((3, 2)), np.ones((3, 1, 2))
    view = add_into(0.0, m, np.s_[:, None], column)
    assert view.base is not None and np.array_equal(view, np.ones((3, 2)))
    out = add_into(view, m, 0, np.array([1.0, 2.0]))
    assert out is not view and np.array_equal(column, np.ones((3, 1, 2))) and out[0].tolist() == [2.0, 3.0]
    # a list's adjoint: the item replaced in place; a zero builds a new list
    items = add_into(0.0, (x, x), 1, g)
    assert items[0] == 0.0 and items[1] is g
    assert add_into(items, (x, x), 0, g) is items and items[0] is g


def test_add_into_adds_through_views_and_assigns_into_a_new_buffer():
    """The in-place fast paths (a row's view, a new buffer's assignment) add what ``acc[index] += g`` adds."""
    from sct.runtime import add_into
    m = np.arange(12.0).reshape(4, 3)
    acc = add_into(0.0, m, 1, np.array([1.0, 2.0, 3.0]))
    acc = add_into(acc, m, 1, np.array([1.0, 1.0, 1.0]))
    acc = add_into(acc, m, slice(2, 4), np.ones((2, 3)))
    acc = add_into(acc, m, (0, slice(0, 2)), np.array([5.0, 6.0]))
    np.testing.assert_array_equal(acc, [[5, 6, 0], [2, 3, 4], [1, 1, 1], [1, 1, 1]])
    v = np.zeros(4)
    acc = add_into(0.0, v, 2, 1.5)  # (an element of a vector: a number, no view)
    acc = add_into(acc, v, 2, 1.5)
    np.testing.assert_array_equal(acc, [0, 0, 3.0, 0])
    ints = add_into(0.0, np.arange(3), slice(0, 2), np.array([0.25, 0.5], dtype=np.float32))
    assert ints.dtype == np.float64 and ints.tolist() == [0.25, 0.5, 0.0]


@pytest.mark.parametrize("bounds, lengths", [
    ((0, 2, 2, 5, 5, None), (2, 3, 3)),           # tiles: one concatenate
    ((None, 2, 2, 5, 5, 8), (2, 3, 3)),
    ((0, 2, 1, 4, 5, None), (2, 3, 3)),           # overlaps and leaves a gap
    ((0, 3, 3, 5, 5, 100), (3, 2, 3)),            # past the end (NumPy clips)
    ((0, 2, -6, -3, -3, None), (2, 3, 3)),        # from the end: the same elements, added one by one
    ((5, None, 2, 5, 0, 2), (3, 3, 2)),           # out of order
    ((0, 4, 4, 4, 4, None), (4, 0, 4)),           # an empty slice
])
def test_join_slices_equals_adding_each_piece(bounds, lengths):
    from sct.runtime import add_at, join_slices
    x = np.linspace(-1.0, 1.0, 8)
    rng = np.random.default_rng(len(lengths))
    pieces = tuple(rng.standard_normal(n) for n in lengths)
    expected = 0.0
    for k, g in enumerate(pieces):
        expected = add_at(expected, x, slice(bounds[2 * k], bounds[2 * k + 1]), g)
    got = join_slices(x, bounds, pieces)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)
    assert all(not np.shares_memory(got, g) for g in pieces)


def test_join_slices_with_zero_pieces_rows_and_other_dtypes():
    from sct.runtime import add_into, join_slices
    x = np.zeros(6)
    np.testing.assert_array_equal(join_slices(x, (0, 2, 2, None), (np.ones(2), 0.0)), [1, 1, 0, 0, 0, 0])
    assert join_slices(x, (0, 2, 2, None), 0.0) == 0.0  # (a tangent program's zero)
    m = np.zeros((4, 2))
    rows = join_slices(m, (0, 1, 1, None), (np.ones((1, 2)), 2 * np.ones((3, 2))))
    np.testing.assert_array_equal(rows, [[1, 1], [2, 2], [2, 2], [2, 2]])
    ints = join_slices(np.arange(4), (0, 2, 2, None), (np.ones(2), np.ones(2)))
    assert ints.dtype == np.float64
    for dtype in (np.float32, np.complex128):  # (add_into's dtype: x's if double or wider, else double)
        z = np.zeros(4, dtype)
        joined = join_slices(z, (0, 2, 2, None), (np.ones(2), np.ones(2)))
        assert joined.dtype == add_into(add_into(0.0, z, slice(0, 2), np.ones(2)), z, slice(2, 4), np.ones(2)).dtype
    wide = join_slices(x, (0, 3, 3, None), (np.ones(1), np.ones(3)))  # a piece that broadcasts over its slice
    np.testing.assert_array_equal(wide, [1, 1, 1, 1, 1, 1])


def test_join_items_is_the_list_of_the_pieces_for_a_tuple_of_that_length():
    from sct.runtime import add_at, join_items
    h, c = np.ones(3), 2.0
    out = join_items((np.zeros(3), 0.0), (h, c))
    assert type(out) is list and out[0] is h and out[1] == 2.0
    assert join_items([1.0, 2.0], (0.5, 0.25)) == [0.5, 0.25]
    assert join_items((1.0, 2.0), 0.0) == 0.0  # (a tangent program's zero)
    # a longer tuple, or the rows of an array: each piece added at its item
    assert join_items((1.0, 2.0, 3.0), (0.5, 0.25)) == [0.5, 0.25, 0.0]
    m = np.zeros((3, 2))
    rows = join_items(m, (np.ones(2), 2 * np.ones(2)))
    np.testing.assert_array_equal(rows, add_at(add_at(0.0, m, 0, np.ones(2)), m, 1, 2 * np.ones(2)))
