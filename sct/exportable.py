"""The helpers generated code may call, listed for :func:`sct.export`.

A derivative program calls a few functions besides NumPy and ``math``: sct's
runtime (``unbroadcast``, ``add_at``, ...), the helpers its rules name in their
return expressions (``_like``, ``_matmul_adjoint``, ...), and the stand-ins for
overloaded primals (``max2`` for two-argument ``max``).  An exported file carries
their source text (extracted with :mod:`inspect`), so each must be a plain
module-level function whose free names are builtins, ``numpy``/``math``, or
other helpers listed here.  This list is explicit on purpose: a test checks that
every name a rule can put into generated code is in it, and that it is closed
(every global a listed helper reads is listed, a module, or a builtin).

Each entry is importable as ``<module>.<name>``; :data:`HELPERS` maps those
dotted names to the objects.
"""
from __future__ import annotations

import importlib
from typing import Any

_NAMES: dict[str, tuple[str, ...]] = {
    "sct.runtime.broadcast": ("unbroadcast", "sum_axes", "expand", "unreduce", "shape_only", "zeros_like"),
    "sct.runtime.containers": (
        "_SEQUENCES", "indices", "_is_zero", "add", "take", "take_written", "_materialize", "_fancy", "_whole",
        "add_at", "_scatter_add", "_as_items", "zero_at", "last", "drop_last", "snapshot"),
    "sct.rules.builtins": (
        "_log0", "max2", "min2", "max_of", "min_of", "sum_of", "_position_of", "_spread", "_sum_tangents",
        "repeat_seq", "concat_seq", "_sum_repeats", "_part", "_sequence_adjoint"),
    "sct.rules.math": ("log_base",),
    "sct.rules.numpy": (
        "_like", "_sinc_slope", "where_indices", "_clip_parts", "_count", "_extreme_mask", "_spread_last",
        "_interleave", "_reduced_axes", "_others_product", "_cumsum_adjoint", "_cumprod_adjoint",
        "_cumprod_tangent", "_sum_first", "_matmul_adjoint", "_dot_adjoint", "_inner_adjoint", "_kron_adjoint",
        "_tensordot_axes", "_tensordot_adjoint", "_letter_sizes", "_einsum_parts", "_einsum_plan",
        "_einsum_adjoint", "_transposed", "_inverse_axes", "_axes_arg", "_diagonal_index", "_diagonal_adjoint",
        "_join_adjoint", "_hstack_axis", "_as_column", "_unstack", "_split_adjoint", "_tile_adjoint",
        "_repeat_adjoint", "_sorting", "_sort_adjoint", "_sort_tangent", "_take_adjoint", "_diag_adjoint",
        "_array_adjoint", "astype", "item", "_ramp", "einsum1", "einsum2", "einsum3", "reshape_method",
        "transpose_method"),
    "sct.rules.linalg": (
        "_T", "_sym", "_matrix_seed", "_is_zero", "_trace_of_solve", "_slogdet_adjoint", "_slogdet_tangent",
        "_solve", "_solve_adjoint", "_solve_tangent_a", "_phi", "_cholesky_adjoint", "_cholesky_tangent",
        "_eigen_gaps", "_eigh_adjoint", "_eigh_tangent", "_eigvalsh_adjoint", "_eigvalsh_tangent", "_svd_gaps",
        "_check_svd_shape", "_svd_adjoint", "_svd_tangent", "_norm_axes", "_shared", "_norm_slope",
        "_norm_reduced", "norm2", "_norm2_slope", "logabsdet_field", "eigenvalues_field", "eigenvectors_field"),
}


def _load() -> dict[str, Any]:
    out = {}
    for module_name, names in _NAMES.items():
        module = importlib.import_module(module_name)
        for name in names:
            out[f"{module_name}.{name}"] = getattr(module, name)
    return out


#: ``"sct.runtime.broadcast.unbroadcast" -> unbroadcast``, for every exportable helper and constant.
HELPERS: dict[str, Any] = _load()


def dotted_name(obj) -> str | None:
    """The registry's name for ``obj`` (``None``: not an exportable helper)."""
    for name, helper in HELPERS.items():
        if helper is obj:
            return name
    return None
