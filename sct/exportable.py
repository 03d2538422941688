"""The helpers generated code may call, listed for :func:`sct.export`.

A derivative program calls a few functions besides NumPy and ``math``: sct's
runtime (``unbroadcast``, ``add_at``, ...), the helpers its rules name in their
return expressions (``_like``, ``_matmul_adjoint``, ...), and the stand-ins for
overloaded primals (``max2`` for two-argument ``max``).  An exported file carries
their source text (extracted with :mod:`inspect`), so each must be a plain
module-level function whose free names are builtins, ``numpy``/``math``, or
other helpers listed here.  The list is every function the rule and
runtime modules define at their top level, so a new helper is exportable as soon
as it is written; a test checks that the list is closed (every global a listed
helper reads is listed, a module, or a builtin).

Each entry is importable as ``<module>.<name>``; :data:`HELPERS` maps those
dotted names to the objects.
"""
from __future__ import annotations

import importlib
import re
import sys
import types
from typing import Any

#: Modules whose module-level functions generated code may call (SciPy's rules only once SciPy is loaded).
_MODULES = ("sct.runtime.namespace", "sct.runtime.broadcast", "sct.runtime.containers", "sct.runtime.checkpoint", "sct.runtime.batched", "sct.runtime.vmapped", "sct.rules.registry", "sct.rules.builtins", "sct.rules.math",
            "sct.rules.numpy", "sct.rules.linalg", "sct.rules.scipy")
_CONSTANT = re.compile(r"_?[A-Z][A-Z0-9_]*$")  # module-level constants are named in capitals


def _load() -> dict[str, Any]:
    """Every function defined (not imported) at the top of the modules above, and their constants."""
    out = {}
    for module_name in _MODULES:
        if module_name.endswith(".scipy") and module_name not in sys.modules:
            continue
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            if isinstance(obj, types.FunctionType) and obj.__module__ == module_name and obj.__name__ == name:
                out[f"{module_name}.{name}"] = obj
            elif _CONSTANT.match(name) and isinstance(obj, (str, int, float, tuple, frozenset, dict)):
                out[f"{module_name}.{name}"] = obj
    return out


#: ``"sct.runtime.broadcast.unbroadcast" -> unbroadcast``, for every exportable helper and constant.
HELPERS: dict[str, Any] = _load()


def dotted_name(obj) -> str | None:
    """The registry's name for ``obj`` (``None``: not an exportable helper)."""
    for attempt in range(2):
        for name, helper in HELPERS.items():
            if helper is obj:
                return name
        if attempt == 0:
            HELPERS.update(_load())  # SciPy's rules may have loaded since
    return None
