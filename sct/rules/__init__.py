"""Derivative rules, one module per namespace, all in one registry.

``registry`` defines how a rule is declared (:func:`adjoint_rule`,
:func:`tangent_rule`, :func:`nondifferentiable`, and the kinds :func:`elementwise`,
:func:`linear`, :func:`bilinear` that give both modes from one declaration); ``builtins``, ``math``,
``numpy`` and ``linalg`` declare sct's own rules with exactly that mechanism.
"""
from .registry import (REGISTRY, Rule, adjoint_rule, alias, attribute, bilinear, context_manager, effect_only,
                       elementwise, linear, method, nondifferentiable, overloaded, replaced_by, result_kind,
                       returns_view, tangent_rule)
from . import builtins, math, numpy, linalg, runtime  # noqa: E402,F401  (registration happens on import)

import importlib  # noqa: E402

# SciPy is optional: its rules (``scipy.py``) register once the user's code has imported SciPy
REGISTRY.defer("scipy", lambda: importlib.import_module(".scipy", __name__))

__all__ = ["REGISTRY", "Rule", "adjoint_rule", "attribute", "bilinear", "context_manager", "effect_only",
           "elementwise", "linear", "method", "nondifferentiable", "replaced_by", "overloaded", "result_kind", "returns_view", "tangent_rule"]
