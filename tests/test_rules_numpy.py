"""Every NumPy rule, in both modes, against finite differences and the dot-product test.

One row per rule (or per way of calling it): the function under test (from
``numpy_cases``), the input domain of each argument, and the argument shapes
(crossed with the extra, non-differentiable arguments such as ``axis``).  Each
row runs three checks per shape: the reverse-mode gradient and the forward-mode
gradient against central finite differences (``sct.testing.check_grad``), and
⟨J·u, v⟩ = ⟨u, Jᵀ·v⟩ between the two programs (``check_dot_product``).
"""
from __future__ import annotations

import subprocess
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

import sct
from sct.rules import REGISTRY
from sct.testing import check_dot_product, check_grad

import numpy_cases as nc

FLOAT = "float"  # a Python float (sct's "number" kind), as opposed to the 0-d array ()

UNARY = [FLOAT, (), (3,), (2, 3), (1, 3)]
BINARY = [(FLOAT, FLOAT), ((), (3,)), ((3,), FLOAT), ((3,), (3,)), ((2, 3), (3,)), ((1, 3), (2, 1)),
          ((2, 3), (2, 3)), ((2, 1), (2, 3))]
ONE_SIDED = [((2, 3), (3,), (0,)), ((2, 3), (3,), (1,)), ((3,), FLOAT, (0,)), ((1, 3), (2, 1), (1,))]
CHECKS = ("reverse", "forward", "dot")


@dataclass
class Case:
    """One row: ``fn`` checked at every (shapes, extra arguments, wrt) variant."""

    fn: Callable
    domain: str | tuple = "any"
    variants: list = field(default_factory=list)  # (shapes, extra, wrt or None for every array argument)
    rtol: float = 1e-5
    atol: float = 1e-7


def unary(fn, domain="any", shapes=UNARY, **kw):
    return Case(fn, domain, [((s,), (), None) for s in shapes], **kw)


def binary(fn, domain=("any", "any"), pairs=BINARY, one_sided=ONE_SIDED, **kw):
    variants = [(p, (), None) for p in pairs] + [((a, b), (), w) for a, b, w in one_sided]
    return Case(fn, domain, variants, **kw)


def cross(fn, shapes, extras=((),), domain="any", **kw):
    """Every shape (a tuple of argument shapes) with every tuple of extra arguments."""
    return Case(fn, domain, [(s, e, None) for s in shapes for e in extras], **kw)


def draw(domain: str, shape, rng):
    """An input from ``domain`` of ``shape``: 'any', 'nonzero', 'pos', 'unit' (inside (-1, 1)), 'gt1',
    'zero' (with an exact 0), 'matrix' (invertible), 'spd' (positive definite symmetric part) or
    'realeig' (real, distinct eigenvalues)."""
    size = () if shape == FLOAT else shape
    if domain == "any":
        x = rng.uniform(-1.5, 1.5, size)
    elif domain == "nonzero":
        x = rng.choice([-1.0, 1.0], size) * rng.uniform(0.4, 1.5, size)
    elif domain == "pos":
        x = rng.uniform(0.4, 2.0, size)
    elif domain == "unit":
        x = rng.uniform(-0.8, 0.8, size)
    elif domain == "gt1":
        x = rng.uniform(1.3, 3.0, size)
    elif domain == "zero":  # includes an exact zero
        x = rng.uniform(-1.5, 1.5, size)
        x.flat[0] = 0.0
    elif domain == "matrix":  # (stacks of) well-conditioned square matrices, some with negative determinant
        n = size[-1]
        x = 0.5 * rng.standard_normal(size) + np.diag(rng.choice([-1.0, 1.0], n) * rng.uniform(1.0, 2.0, n))
    elif domain == "spd":  # symmetric positive definite plus a small non-symmetric part (tests symmetrize)
        n = size[-1]
        b = rng.standard_normal(size)
        x = b @ np.swapaxes(b, -1, -2) / n + np.eye(n) + 0.1 * rng.standard_normal(size)
    elif domain == "realeig":  # (stacks of) matrices with real, well-separated eigenvalues
        n = size[-1]
        basis = np.eye(n) + 0.3 * rng.standard_normal(size)
        x = basis @ (np.arange(1.0, n + 1.0)[:, None] * np.linalg.inv(basis))
    else:
        raise ValueError(domain)
    return float(x) if shape == FLOAT else np.asarray(x, dtype=float)


def shape_id(shape):
    return "f" if shape == FLOAT else "x".join(map(str, shape)) or "0d"


def params(cases):
    out = []
    for case in cases:
        for shapes, extra, wrt in case.variants:
            for check in CHECKS:
                parts = [case.fn.__name__, "-".join(shape_id(s) for s in shapes)]
                if extra:
                    parts.append(",".join(map(repr, extra)).replace(" ", ""))
                if wrt is not None:
                    parts.append("wrt" + "".join(map(str, wrt)))
                out.append(pytest.param(case, shapes, extra, wrt, check, id="-".join(parts + [check])))
    return out


def run(case: Case, shapes, extra, wrt, check):
    rng = np.random.default_rng(zlib.crc32(f"{case.fn.__name__}{shapes}{extra}".encode()))
    domains = (case.domain,) * len(shapes) if isinstance(case.domain, str) else case.domain
    args = [draw(d, s, rng) for d, s in zip(domains, shapes)] + list(extra)
    wrt = tuple(range(len(shapes))) if wrt is None else wrt
    if check == "dot":
        check_dot_product(case.fn, args, wrt=wrt)
    else:
        check_grad(case.fn, args, wrt=wrt, modes=(check,), rtol=case.rtol, atol=case.atol)

# ---------------------------------------------------------------- the table

ELEMENTWISE = [
    unary(nc.exp), unary(nc.exp2), unary(nc.expm1),
    unary(nc.log, "pos"), unary(nc.log1p, "pos"), unary(nc.log2, "pos"), unary(nc.log10, "pos"),
    unary(nc.sqrt, "pos"), unary(nc.cbrt, "nonzero"), unary(nc.square), unary(nc.reciprocal, "nonzero"),
    unary(nc.negative), unary(nc.positive),
    unary(nc.absolute, "nonzero"), unary(nc.np_abs, "nonzero"), unary(nc.builtin_abs, "nonzero"),
    unary(nc.fabs, "nonzero"),
    unary(nc.sin), unary(nc.cos), unary(nc.tan, "unit"),
    unary(nc.arcsin, "unit"), unary(nc.arccos, "unit"), unary(nc.arctan),
    unary(nc.sinh), unary(nc.cosh), unary(nc.tanh),
    unary(nc.arcsinh), unary(nc.arccosh, "gt1"), unary(nc.arctanh, "unit"),
    unary(nc.deg2rad), unary(nc.rad2deg), unary(nc.radians), unary(nc.degrees),
    unary(nc.sinc), unary(nc.sinc, "zero", shapes=[(3,), (2, 3)]),
    unary(nc.real), unary(nc.conjugate),
    unary(nc.pow_const), unary(nc.pow_half, "pos"), unary(nc.const_pow), unary(nc.unary_minus),
    unary(nc.unary_plus),
    unary(nc.float64_of, shapes=[FLOAT, ()]), unary(nc.float_of, shapes=[FLOAT, ()]),
]

BINARIES = [
    binary(nc.add), binary(nc.subtract), binary(nc.multiply),
    binary(nc.divide, ("any", "nonzero")), binary(nc.true_divide, ("any", "nonzero")),
    binary(nc.power, ("pos", "any")), binary(nc.float_power, ("pos", "any")),
    binary(nc.mod, ("any", "pos")), binary(nc.fmod, ("any", "pos")),
    binary(nc.maximum), binary(nc.minimum), binary(nc.fmax), binary(nc.fmin),
    binary(nc.arctan2, ("nonzero", "nonzero")), binary(nc.hypot, ("nonzero", "nonzero")),
    binary(nc.logaddexp), binary(nc.logaddexp2),
    binary(nc.op_add), binary(nc.op_sub), binary(nc.op_mul), binary(nc.op_div, ("any", "nonzero")),
    binary(nc.op_pow, ("pos", "any")), binary(nc.op_mod, ("any", "pos")), binary(nc.builtin_pow, ("pos", "any")),
    Case(nc.copysign, ("nonzero", "nonzero"), [(((3,), (3,)), (), (0,)), (((2, 3), (3,)), (), (0,))]),
    unary(nc.ldexp, shapes=[(3,), (2, 3)]),
]

SELECTION = [
    binary(nc.where),
    unary(nc.where_const),
    unary(nc.clip), unary(nc.clip_upper_only),
    Case(nc.clip_arrays, variants=[(((2, 3), (3,), (2, 3)), (), None), (((3,), FLOAT, (3,)), (), None),
                                   (((2, 3), (3,), (2, 1)), (), (0, 2))]),
]

AXES = [(None,), (0,), (-1,), (1, True), (None, True), ((0, 1),), ((-1, 0), True)]
REDUCTIONS = [
    cross(f, [((2, 3),), ((2, 3, 4),)], AXES) for f in
    (nc.sum_, nc.mean, nc.prod, nc.max_, nc.min_, nc.amax, nc.amin, nc.var, nc.std)
] + [
    unary(nc.sum_, shapes=[FLOAT, (), (3,)]), unary(nc.mean, shapes=[(), (3,)]),
    unary(nc.max_, shapes=[(), (3,)]), unary(nc.prod, shapes=[(), (3,)]),
    cross(nc.prod, [((4,),)], domain="zero"), unary(nc.prod_with_zero, shapes=[(2, 3)]),
    cross(nc.var_ddof, [((2, 3),), ((3, 4),)], [(None,), (0,), (1,)]),
    cross(nc.std_ddof, [((2, 3),), ((3, 4),)], [(None,), (0,), (-1,)]),
    cross(nc.cumsum, [((4,),), ((2, 3),), ((2, 3, 2),)], [(None,), (0,), (-1,)]),
    cross(nc.cumprod, [((4,),), ((2, 3),), ((2, 3, 2),)], [(None,), (0,), (-1,)]),
    cross(nc.cumprod, [((4,),), ((2, 3),)], [(None,), (0,)], domain="zero"),
    unary(nc.cumprod_with_zero, shapes=[(4,)]),
    unary(nc.trace, shapes=[(3, 3), (2, 3)]), unary(nc.trace_offset, shapes=[(3, 3), (3, 4)]),
    unary(nc.trace_axes, shapes=[(2, 3, 3), (4, 2, 3)]),
]

CONTRACTIONS = [
    cross(nc.matmul, [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)), ((2, 2, 3), (3, 4)),
                      ((2, 2, 3), (2, 3, 4)), ((1, 2, 3), (4, 3, 2)), ((3,), (2, 3, 4)), ((2, 2, 3), (3,))]),
    cross(nc.matmul_op, [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((2, 2, 3), (3, 4))]),
    cross(nc.dot, [(FLOAT, (3,)), ((2, 3), ()), ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)),
                   ((2, 3, 4), (4,)), ((2, 3, 4), (3, 4, 2)), ((4,), (2, 4, 3))]),
    cross(nc.inner, [(FLOAT, (3,)), ((3,), (3,)), ((2, 3), (3,)), ((3,), (4, 3)), ((2, 3), (4, 3)),
                     ((2, 2, 3), (4, 3)), ((3,), (2, 4, 3))]),
    cross(nc.outer, [((3,), (4,)), ((2, 2), (3,)), (FLOAT, (3,))]),
    cross(nc.vdot, [((3,), (3,)), ((2, 3), (3, 2))]),
    Case(nc.tensordot, variants=[
        (((2, 3, 4), (3, 4, 2)), (), None), (((2, 3, 4), (3, 4, 2)), (2,), None), (((2, 3), (3, 4)), (1,), None),
        (((2, 3), (4,)), (0,), None), (((3, 2, 4), (2, 3, 5)), (([1, 0], [0, 1]),), None),
        (((3, 2), (4, 3)), ((0, 1),), None), (((2, 3, 4), (4, 5, 2)), (([0, 2], [2, 0]),), None),
        (((2, 3, 4), (4, 5, 2)), (([-1], [0]),), (1,)),
    ]),
    cross(nc.tensordot_pairs, [((3, 2, 4), (2, 5, 3))]),
    Case(nc.einsum1, variants=[
        (((2, 3),), ("ij->ji",), None), (((2, 3),), ("ij->",), None), (((2, 3),), ("ij->i",), None),
        (((3, 3),), ("ii->i",), None), (((3, 3),), ("ii->",), None), (((3, 3),), ("ii",), None),
        (((2, 3, 4),), ("ijk->kij",), None), (((2, 3, 3),), ("bii->b",), None),
    ]),
    Case(nc.einsum2, variants=[
        (((2, 3), (3, 4)), ("ij,jk->ik",), None), (((3,), (3,)), ("i,i->",), None),
        (((3,), (4,)), ("i,j->ij",), None), (((2, 3), (2, 3)), ("ij,ij->i",), None),
        (((2, 3), (3, 4)), ("ij,jk",), None), (((2, 2, 3), (2, 3, 4)), ("bij,bjk->bik",), None),
        (((2, 3), (4,)), ("ij,k->i",), None), (((3, 3), (3,)), ("ii,i->i",), None),
        (((2, 3), (3, 4)), ("ij,jk->kji",), (1,)),
    ]),
    Case(nc.einsum3, variants=[
        (((2, 3), (3, 4), (4, 2)), ("ij,jk,kl->il",), None), (((3,), (3, 3), (3,)), ("i,ij,j->",), None),
        (((2, 3), (3,), (2,)), ("ij,j,i->",), (0, 2)),
    ]),
    cross(nc.kron, [((2,), (3,)), ((2, 2), (2, 3)), ((2,), (2, 3)), ((2, 1, 2), (3, 2)), (FLOAT, (2, 2))]),
]

SHAPES = [
    unary(nc.reshape, shapes=[(2, 3), (6,)]), unary(nc.reshape_method, shapes=[(2, 3), (6,)]),
    unary(nc.reshape_method_tuple, shapes=[(2, 3), (3, 2)]),
    unary(nc.ravel, shapes=[(), (3,), (2, 3)]), unary(nc.ravel_method, shapes=[(2, 3)]),
    unary(nc.flatten_method, shapes=[(2, 3)]),
    unary(nc.transpose, shapes=[(3,), (2, 3), (2, 3, 4)]), unary(nc.transpose_axes, shapes=[(2, 3, 4)]),
    unary(nc.transpose_method, shapes=[(2, 3, 4)]), unary(nc.transpose_attr, shapes=[(3,), (2, 3)]),
    unary(nc.swapaxes, shapes=[(2, 3), (2, 3, 4)]), unary(nc.swapaxes_method, shapes=[(2, 3)]),
    unary(nc.moveaxis, shapes=[(2, 3, 4)]), unary(nc.expand_dims, shapes=[(3,), (2, 3)]),
    unary(nc.squeeze, shapes=[(1, 3), (3, 1, 2)]), unary(nc.squeeze_axis, shapes=[(1, 3)]),
    unary(nc.broadcast_to, shapes=[FLOAT, (), (3,), (1, 3), (2, 1)]),
    cross(nc.concatenate, [((3,), (2,)), ((2, 3), (1, 3))]),
    cross(nc.concatenate_axis1, [((2, 3), (2, 1))]), cross(nc.concatenate_flat, [((2, 3), (2,))]),
    unary(nc.concatenate_const, shapes=[(3,)]),
    cross(nc.stack, [((3,), (3,)), ((2, 3), (2, 3)), (FLOAT, FLOAT)]),
    cross(nc.stack_last, [((3,), (3,)), ((2, 3), (2, 3))]),
    cross(nc.hstack, [((3,), (2,)), ((2, 3), (2, 1)), (FLOAT, (2,))]),
    cross(nc.vstack, [((3,), (3,)), ((2, 3), (1, 3)), ((3,), (2, 3))]),
    cross(nc.column_stack, [((3,), (3,)), ((3, 2), (3,))]),
    unary(nc.split_unpack, shapes=[(4,), (2, 3)]), unary(nc.split_indices, shapes=[(2, 4)]),
    unary(nc.split_one_piece, shapes=[(3,), (6, 2)]), unary(nc.array_split, shapes=[(5,)]),
    unary(nc.hsplit, shapes=[(6,), (2, 3)]), unary(nc.vsplit, shapes=[(2, 3), (4, 2)]),
    unary(nc.tile, shapes=[FLOAT, (3,), (2, 3)]), unary(nc.tile_tuple, shapes=[(3,), (2, 3), (2, 1, 3, 2)]),
    unary(nc.repeat, shapes=[FLOAT, (3,), (2, 3)]), unary(nc.repeat_axis, shapes=[(2, 3)]),
    unary(nc.repeat_method, shapes=[(2, 3)]),
    unary(nc.flip, shapes=[(3,), (2, 3)]), unary(nc.flip_axis, shapes=[(2, 3)]),
    unary(nc.fliplr, shapes=[(2, 3)]), unary(nc.flipud, shapes=[(3,), (2, 3)]),
    unary(nc.roll, shapes=[(4,), (2, 3)]), unary(nc.roll_axis, shapes=[(2, 3)]),
    unary(nc.sort, shapes=[(4,), (2, 3)]), unary(nc.sort_axis, shapes=[(3, 2)]),
    unary(nc.sort_flat, shapes=[(2, 3)]),
    unary(nc.take, shapes=[(3,), (2, 3)]), unary(nc.take_axis, shapes=[(2, 3), (2, 3, 2)]),
    unary(nc.diag_vector, shapes=[(3,)]), unary(nc.diag_vector_offset, shapes=[(3,)]),
    unary(nc.diag_matrix, shapes=[(3, 3), (2, 3), (3, 2)]), unary(nc.diag_matrix_offset, shapes=[(3, 3), (3, 4)]),
    unary(nc.diagonal, shapes=[(3, 3), (2, 3), (3, 2, 2)]), unary(nc.diagonal_offset_axes, shapes=[(2, 3, 4)]),
    unary(nc.tril, shapes=[(3, 3), (2, 3, 3)]), unary(nc.triu, shapes=[(3, 3), (2, 4)]),
    unary(nc.array_of_numbers, shapes=[(3,)]), unary(nc.array_nested, shapes=[(3,)]),
    unary(nc.array_of_arrays, shapes=[(3,)]), unary(nc.asarray, shapes=[(2,)]), unary(nc.copy),
    unary(nc.ascontiguousarray, shapes=[(3,), (2, 3)]),
]

CONSTRUCTION = [unary(nc.constructors, shapes=[(3,)]), unary(nc.empty_then_fill, shapes=[FLOAT, (3,)])]

INDEXING = [
    unary(nc.index_int, shapes=[(3,), (3, 2)]), unary(nc.index_negative, shapes=[(3,), (3, 2)]),
    unary(nc.index_slice, shapes=[(3,), (3, 2)]), unary(nc.index_step, shapes=[(5,), (3, 2)]),
    unary(nc.index_reverse, shapes=[(4,), (2, 3)]), unary(nc.index_ellipsis, shapes=[(3,), (2, 3), (2, 2, 3)]),
    unary(nc.index_none, shapes=[(3,)]), unary(nc.index_multi, shapes=[(2, 3), (3, 3)]),
    unary(nc.index_row, shapes=[(2, 3)]), unary(nc.index_column, shapes=[(2, 3), (3, 3)]),
    unary(nc.index_slices_2d, shapes=[(3, 4)]),
    unary(nc.index_int_array, shapes=[(3,), (4, 2)]), unary(nc.index_list, shapes=[(3,), (3, 2)]),
    unary(nc.index_repeated, shapes=[(2,), (3, 2)]), unary(nc.index_mask, "nonzero", shapes=[(5,), (2, 3)]),
    unary(nc.index_const_mask, shapes=[(3,), (3, 2)]), unary(nc.index_array_pair, shapes=[(2, 3)]),
    unary(nc.index_in_loop, shapes=[(4,)]), unary(nc.index_2d_loop, shapes=[(2, 3)]),
    unary(nc.iterate_rows, shapes=[(3, 2)]),
    unary(nc.write_loop, shapes=[(3,), (4,)]), unary(nc.write_row_add, shapes=[(3,)]),
    unary(nc.write_rows_in_loop, shapes=[(3,)]), unary(nc.write_slice, shapes=[(3,)]),
    unary(nc.write_overwrite, shapes=[(3,), (4,)]), unary(nc.write_aug_mul, shapes=[(3,)]),
    unary(nc.write_column, shapes=[(3,)]), unary(nc.write_mask, "nonzero", shapes=[(4,)]),
    unary(nc.write_recurrence, shapes=[(4,)]), unary(nc.write_outer_loop, shapes=[(3,)]),
    unary(nc.write_broadcast, shapes=[(3,)]), unary(nc.write_fancy, shapes=[(3,)]),
]

METHODS = [
    unary(nc.method_sum, shapes=[(2, 3)]), unary(nc.method_mean, shapes=[(2, 3)]),
    unary(nc.method_max_min, shapes=[(2, 3)]), cross(nc.method_dot, [((2, 3), (3,)), ((2, 3), (3, 2))]),
    unary(nc.method_copy, shapes=[(), (3,)]), unary(nc.method_astype, shapes=[(3,), (2, 3)]),
    unary(nc.method_astype_int, shapes=[(3,)]), unary(nc.attributes, shapes=[(3,), (2, 3)]),
    unary(nc.method_prod, shapes=[(2, 3)]), unary(nc.method_var_std, shapes=[(2, 3)]),
    unary(nc.method_cumsum, shapes=[(2, 3)]), unary(nc.method_cumprod, shapes=[(2, 3)]),
    unary(nc.method_clip, shapes=[(2, 3)]), unary(nc.method_diagonal, shapes=[(3, 3)]),
    unary(nc.method_trace, shapes=[(3, 3)]), unary(nc.method_squeeze, shapes=[(1, 3)]),
    unary(nc.method_take, shapes=[(3,)]), unary(nc.method_item, shapes=[(), (1,), (1, 1)]),
    unary(nc.method_chain, shapes=[(2, 3)]),
]

NONDIFFERENTIABLE = [
    unary(nc.argmax, shapes=[(4,)]), unary(nc.argsort, shapes=[(4,)]),
    unary(nc.floor_round_sign, "nonzero", shapes=[(4,), (2, 3)]), unary(nc.comparisons, shapes=[(4,)]),
    unary(nc.isnan_mask, shapes=[(4,)]), unary(nc.shape_queries, shapes=[(4,), (2, 3)]),
    unary(nc.random_draws, shapes=[(4,), (2, 3)]), unary(nc.legacy_random, shapes=[(4,)]),
    unary(nc.count_and_sort_indices, shapes=[(4,)]),
]

COVERAGE = [
    cross(nc.einsum_sublist, [((2, 3), (3, 4))]), cross(nc.einsum_sublist_transpose, [((2, 3),)]),
    cross(nc.einsum_ellipsis, [((2, 3), (3, 4)), ((2, 2, 3), (2, 3, 4)), ((2, 2, 3), (3, 4))]),
    cross(nc.einsum_ellipsis_implicit, [((3, 3),), ((2, 3, 3),)]),
    cross(nc.cross, [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (2, 3)), ((2,), (2,)), ((4, 2), (2,))]),
    cross(nc.cross_axis, [((3, 2), (3, 2))]),
    cross(nc.diff, [((5,),), ((3, 4),)], [(1, -1), (2, -1), (1, 0)]),
    cross(nc.gradient, [((5,),)], [(1,), (2,)]), cross(nc.gradient_axis, [((3, 4),)], [(0,), (1,)]),
    cross(nc.convolve, [((5,), (3,)), ((3,), (5,)), ((4,), (4,))], [("full",), ("same",), ("valid",)]),
    cross(nc.correlate, [((5,), (3,)), ((3,), (5,)), ((4,), (4,))], [("full",), ("same",), ("valid",)]),
    cross(nc.pad, [((3,),), ((2, 3),)], [("constant",), ("edge",), ("reflect",), ("symmetric",), ("wrap",)]),
    cross(nc.pad_widths, [((2, 3),)]),
    cross(nc.append, [((3,), (2,)), ((2, 3), (2, 3)), ((3,), FLOAT)], [(None,)]),
    cross(nc.append, [((2, 3), (1, 3))], [(0,)]),
    cross(nc.insert, [((3,), FLOAT), ((3,), (2,)), ((2, 3), (2,))]), cross(nc.insert_axis, [((2, 3), (2, 1))]),
    cross(nc.delete, [((4,),), ((2, 3),)]), cross(nc.delete_axis, [((2, 3),)]),
    cross(nc.rollaxis, [((2, 3, 4),)]), cross(nc.rot90, [((2, 3),), ((2, 3, 2),)], [(1,), (2,), (-1,)]),
    unary(nc.atleast, shapes=[FLOAT, (), (3,), (2, 3)]),
    cross(nc.dstack, [((3,), (3,)), ((2, 3), (2, 3)), ((2, 3, 1), (2, 3, 2))]), cross(nc.dsplit, [((2, 2, 4),)]),
    cross(nc.vstack_dtype, [((3,), (2, 3))]),
    cross(nc.partition, [((5,),), ((3, 4),)], [(2, -1), (1, 0), (3, None)]),
    cross(nc.select, [((2, 3), (2, 3), (2, 3)), ((3,), FLOAT, (3,))]),
    unary(nc.nan_to_num, "pos", shapes=[(3,), (2, 3)]), unary(nc.real_if_close, shapes=[(3,), (2, 3)]),
    unary(nc.interp, shapes=[FLOAT, (4,), (2, 3)]),
    cross(nc.polyval, [((3,), (4,)), ((4,), FLOAT), ((1,), (3,)), ((3,), (2, 3))]),
    cross(nc.trapezoid, [((4,),), ((3, 4),)], [(-1,), (0,)]), unary(nc.trapezoid_x, shapes=[(4,), (2, 4)]),
    cross(nc.median, [((5,),), ((4,),), ((3, 4),), ((2, 3, 4),)], [(None,), (0,), (-1,)]),
    cross(nc.quantile, [((5,),), ((3, 4),)], [(0.3, None), (0.0, 0), (1.0, None)]),
    cross(nc.quantile, [((3, 4),)], [(0.75, 1)]),
    cross(nc.percentile, [((3, 4),)], [(30.0, 0, False), (50.0, 1, True)]),
    cross(nc.average, [((3, 4), (3, 4)), ((3, 4), (4,))], [(1,)], domain="pos"),
    cross(nc.average, [((3, 4), (3, 4))], [(None,)], domain="pos"),
    cross(nc.average, [((3, 4), (3,))], [(0,)], domain="pos"), unary(nc.average_plain, shapes=[(3, 4)]),
    cross(nc.cov, [((3, 5),), ((5, 3),)], [(True, None), (False, 0), (True, 2)]), unary(nc.cov_vector, shapes=[(5,)]),
    cross(nc.corrcoef, [((3, 5),), ((5, 2),)], [(True,), (False,)]),
]
COVERAGE += [
    cross(nc.nan_reductions, [((3, 4),)], [(None,), (0,), (1,)]), cross(nc.nancumsum, [((3, 4),)], [(None,), (1,)]),
    cross(nc.ptp, [((3, 4),)], [(None,), (0,)]),
    cross(nc.vecdot, [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (2, 3))]),
    cross(nc.matvec, [((2, 3), (3,)), ((2, 2, 3), (3,))]), cross(nc.vecmat, [((2,), (2, 3)), ((2, 2), (2, 2, 3))]),
    unary(nc.matrix_transpose, shapes=[(2, 3), (2, 2, 3)]), unary(nc.unstack, shapes=[(2, 3)]),
    unary(nc.cumulative, shapes=[(4,), (3, 2)]), unary(nc.ediff1d, shapes=[(4,), (2, 3)]),
    unary(nc.take_along_axis, shapes=[(2, 3)]), unary(nc.resize, shapes=[(2,), (2, 3)]),
    unary(nc.compress_extract, shapes=[(3,), (3, 2)]), unary(nc.column_stack_of_one, shapes=[(3,)]),
]
if hasattr(np, "row_stack"):
    COVERAGE.append(cross(nc.row_stack, [((3,), (3,)), ((2, 3), (1, 3))]))

ZERO_SEEDS = [cross(nc.results_used_in_one_branch, [((6,),)], [(True,), (False,)], domain="pos")]

CASES = ELEMENTWISE + BINARIES + SELECTION + REDUCTIONS + CONTRACTIONS + SHAPES + CONSTRUCTION + INDEXING \
    + METHODS + NONDIFFERENTIABLE + ZERO_SEEDS + COVERAGE


@pytest.mark.parametrize("case, shapes, extra, wrt, check", params(CASES))
def test_rule(case, shapes, extra, wrt, check):
    run(case, shapes, extra, wrt, check)

# ---------------------------------------------------------------- beyond the table

@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_index_tricks_are_refused_not_zero(mode):
    with pytest.raises(sct.NoRuleError):
        sct.grad(nc.index_trick, wrt=(0, 1), mode=mode)(np.ones(2), np.ones(3))


def test_sinc_slope_is_zero_at_zero():
    assert sct.grad(nc.sinc)(np.zeros(3)) == pytest.approx(np.zeros(3))
    assert sct.grad(nc.sinc, mode="forward")(np.zeros(3)) == pytest.approx(np.zeros(3))


def test_prod_with_zeros_is_exact():
    x = np.array([2.0, 0.0, 3.0, 0.0])
    assert np.all(sct.grad(nc.prod)(x) == 0.0)
    x = np.array([2.0, 0.0, 3.0, 5.0])
    w = nc.weights(np.prod(x))
    assert sct.grad(nc.prod)(x) == pytest.approx(np.array([0.0, 30.0, 0.0, 0.0]) * w)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_function_without_rule_is_refused_with_its_name_and_place(mode):
    with pytest.raises(sct.NoRuleError) as info:
        sct.grad(nc.no_rule, mode=mode)(np.ones(3))
    message = str(info.value)
    line = nc.no_rule.__code__.co_firstlineno + 1
    assert "np.fft.fft" in message
    assert f"numpy_cases.py:{line}:" in message


@pytest.mark.parametrize("fn", [
    np.argmax, np.argmin, np.argsort, np.floor, np.ceil, np.round, np.around, np.sign, np.isnan, np.isfinite,
    np.equal, np.less, np.greater_equal, np.shape, np.ndim, np.size, np.zeros, np.ones, np.eye,
    np.arange, np.zeros_like, np.ones_like, np.count_nonzero, np.random.default_rng,
], ids=lambda f: f.__name__)
def test_nondifferentiable_functions_are_registered(fn):
    assert REGISTRY.is_nondiff(fn)


def test_every_numpy_rule_is_exercised_by_a_case():
    """Each np.* rule is called by some function in numpy_cases (which the tables run)."""
    source = Path(nc.__file__).read_text()
    missing = [rule.name for rule in REGISTRY.rules.values()
               if rule.name.startswith("np.") and rule.name + "(" not in source]
    assert not missing


def test_coverage_table_is_up_to_date():
    """docs/coverage.md is generated from the registry (a fresh process: tests register rules of their own)."""
    script = Path(__file__).resolve().parents[1] / "tools" / "rule_table.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_rule_with_a_numpy_primal_has_both_modes():
    """A rule for a NumPy function that lacks one mode would break the table's forward or reverse rows."""
    for rule in REGISTRY.rules.values():
        if rule.name.startswith("np.") and rule.select is None:
            assert rule.adjoint is not None and rule.tangent is not None, rule.name

# ---------------------------------------------------------------- core regressions these tests found

def test_np_sort_is_not_an_in_place_sort():
    x = np.array([0.3, -1.0, 2.0])
    check_grad(nc.np_sort_call, [x])


def test_forward_store_does_not_write_into_another_tangent():
    x = np.array([0.5, 2.0, -1.0])
    direction = np.array([1.0, 0.0, 0.0])
    assert sct.grad(nc.tangent_alias_write, mode="forward")(x) == pytest.approx([1.0, 2.0, 0.0])
    sct.jvp(nc.tangent_alias_write)(x, direction)
    assert direction.tolist() == [1.0, 0.0, 0.0]  # the caller's direction is left alone


def test_scatter_at_an_index_array():
    check_grad(nc.gather, [np.array([0.5, -1.0, 2.0])], modes=("reverse",))


def test_a_call_without_derivative_may_use_arguments_the_rule_lacks():
    assert sct.grad(nc.inactive_call_form)(2.0) == pytest.approx(float(np.sum(nc.CONST, initial=1.0)))


def test_hessian_of_a_nested_loop_over_a_matrix():
    x = np.array([[0.3, -0.7], [1.1, 0.4]])
    H = sct.hessian(nc.nested_loop_2d)(x)
    g = sct.grad(nc.nested_loop_2d)
    eps = 1e-6
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        assert np.allclose(H[(...,) + idx], (g(x + e) - g(x - e)) / (2 * eps), atol=1e-6)


def test_hessian_after_a_slice_write_and_a_rebinding():
    x = np.array([0.3, -0.7, 1.1])
    assert np.allclose(sct.hessian(nc.fill_then_rebind)(x), 2.0 * np.eye(3))


def test_zero_seed_reaches_structural_rules():
    # a result used only on the branch not taken: its adjoint is the symbolic zero 0.0
    check_grad(nc.where_indices, [np.array([0.5, -1.0, 2.0])])
