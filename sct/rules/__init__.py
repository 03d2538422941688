"""Derivative rules, one module per namespace, all in one registry.

``registry`` defines how a rule is declared (:func:`adjoint_rule`,
:func:`tangent_rule`, :func:`nondifferentiable`); ``builtins``, ``math``,
``numpy`` and ``linalg`` declare sct's own rules with exactly that mechanism.
"""
from .registry import (REGISTRY, Rule, adjoint_rule, alias, attribute, method, nondifferentiable, overloaded,
                       tangent_rule)
from . import builtins, math, numpy, linalg, runtime  # noqa: E402,F401  (registration happens on import)

__all__ = ["REGISTRY", "Rule", "adjoint_rule", "attribute", "method", "nondifferentiable", "overloaded",
           "tangent_rule"]
