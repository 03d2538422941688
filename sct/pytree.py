"""Pytrees: arguments that are nested containers of numbers and arrays.

A *pytree* is a number or a float array (a *leaf*), or a list, tuple, dict,
NamedTuple or dataclass instance of pytrees.  sct differentiates with respect to
a pytree argument as JAX does: the gradient has the argument's structure (the
same keys, fields and nesting; a leaf the function does not depend on gets a
zero of its shape), and so do tangents (``jvp``) and cotangents (``vjp``).

Inside generated code a container's derivative is a container of derivatives
(see ``sct/runtime/containers.py``); these helpers are for the API's side: its
leaves in a fixed order (a dict's in insertion order, a record's in field order),
rebuilding a container of the same structure around new leaves, and the
structure check of a tangent given by the caller.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator

import numpy as np


def is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and isinstance(getattr(type(x), "_fields", None), tuple)


def is_dataclass_instance(x) -> bool:
    return dataclasses.is_dataclass(x) and not isinstance(x, type)


def is_container(x) -> bool:
    """A list, tuple, dict, NamedTuple or dataclass instance (not a leaf)."""
    return isinstance(x, (list, tuple, dict)) or is_dataclass_instance(x)


def children(x) -> list[tuple[Any, Any]]:
    """``(key, child)`` of a container, in order: list positions, dict keys, record field names."""
    if isinstance(x, dict):
        return list(x.items())
    if is_namedtuple(x):
        return list(zip(x._fields, x))
    if isinstance(x, (list, tuple)):
        return list(enumerate(x))
    if is_dataclass_instance(x):
        return [(f.name, getattr(x, f.name)) for f in dataclasses.fields(x)]
    raise TypeError(f"not a container: {type(x).__name__}")


def rebuild(like, values: list, records_as_dicts: bool = False) -> Any:
    """A container of ``like``'s type and keys holding ``values`` (in ``children`` order): a dict with the
    same keys, a NamedTuple of the same class, a dataclass instance by ``dataclasses.replace`` (or, with
    ``records_as_dicts``, a dict by field name: how generated code holds a dataclass's derivatives, which
    need not satisfy its ``__post_init__``)."""
    if isinstance(like, dict):
        return dict(zip(like.keys(), values))
    if is_namedtuple(like):
        return type(like)(*values)
    if isinstance(like, (list, tuple)):
        return type(like)(values)
    if is_dataclass_instance(like):
        fields = dataclasses.fields(like)
        if records_as_dicts:
            return {f.name: v for f, v in zip(fields, values)}
        return dataclasses.replace(like, **{f.name: v for f, v in zip(fields, values) if f.init})
    raise TypeError(f"not a container: {type(like).__name__}")


def leaves(x) -> list:
    """The leaves of ``x`` in order (``x`` itself for a leaf)."""
    if not is_container(x):
        return [x]
    return [leaf for _, child in children(x) for leaf in leaves(child)]


def unflatten(like, flat: Iterator | list, records_as_dicts: bool = False) -> Any:
    """``like``'s structure around the leaves ``flat`` (in ``leaves`` order)."""
    return _unflatten(like, iter(flat), records_as_dicts)


def _unflatten(like, flat: Iterator, records_as_dicts: bool):
    if not is_container(like):
        return next(flat)
    return rebuild(like, [_unflatten(child, flat, records_as_dicts) for _, child in children(like)],
                   records_as_dicts)


def map_leaves(fn: Callable, x, *rest) -> Any:
    """``fn`` applied to each leaf of ``x`` (and the leaves of ``rest``, of the same structure)."""
    others = [leaves(conform(r, x)) for r in rest]
    return unflatten(x, [fn(leaf, *(o[i] for o in others)) for i, leaf in enumerate(leaves(x))])


def size(x) -> int:
    """The number of numbers in ``x`` (its leaves' sizes, summed)."""
    return sum(int(np.size(leaf)) for leaf in leaves(x))


def _child(container, key):
    if isinstance(container, (dict, list, tuple)) and not is_namedtuple(container):
        return container[key]
    return getattr(container, key)


def mismatch(given, like, name: str, leaves_too: bool = True) -> str | None:
    """Why ``given`` (a tangent the caller passed) does not have the structure of the argument ``like``
    (None: it does).  Containers must match: a dict the same keys (in any order), a NamedTuple or dataclass
    instance the same type, a list or tuple as many items; leaves the same shape (unless not ``leaves_too``:
    a batched tangent's leaves have a leading axis more)."""
    if is_container(like):
        if isinstance(like, dict):
            if not isinstance(given, dict) or set(given) != set(like):
                keys = list(given) if isinstance(given, dict) else f"a {type(given).__name__}"
                return f"{name} should be a dict with the keys {list(like)}, not {keys}"
        elif is_namedtuple(like) or is_dataclass_instance(like):
            if type(given) is not type(like):
                return f"{name} should be a {type(like).__name__}, not a {type(given).__name__}"
        elif not isinstance(given, (list, tuple)) or is_namedtuple(given) or len(given) != len(like):
            what = f"{len(given)} items" if isinstance(given, (list, tuple)) else f"a {type(given).__name__}"
            return f"{name} should be a {type(like).__name__} of {len(like)} items, not {what}"
        for key, child in children(like):
            found = mismatch(_child(given, key), child, f"{name}.{key}" if isinstance(key, str) and not
                             isinstance(like, dict) else f"{name}[{key!r}]", leaves_too)
            if found:
                return found
        return None
    if is_container(given):
        return f"{name} should be a number or an array of shape {np.shape(like)}, not a {type(given).__name__}"
    if leaves_too and np.shape(given) != np.shape(like):
        return f"{name} has shape {np.shape(given)}, the argument {np.shape(like)}"
    return None


def conform(given, like, records_as_dicts: bool = False):
    """``given`` (of ``like``'s structure, see ``mismatch``) with ``like``'s containers: a dict's keys in
    ``like``'s order, a list where ``like`` has a list."""
    if not is_container(like):
        return given
    return rebuild(like, [conform(_child(given, key), child, records_as_dicts) for key, child in children(like)],
                   records_as_dicts)
