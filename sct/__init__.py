"""sct — source-to-source automatic differentiation for Python and NumPy.

``sct.grad(f)`` reads f's source and writes a new Python function computing its
derivative, in forward (tangent) or reverse (adjoint) mode; ``sct.source`` shows it.
"""
from . import pytree
from .api import (derived_programs, grad, hessian, hvp, jacfwd, jacobian, jacrev, jvp, source, value_and_grad,
                  vjp, vmap)
from .checkpoint import checkpointed
from .errors import (AliasingError, ArgumentError, ExportError, NoRuleError, NotBatchable, SourceError,
                     TransformError, UnsupportedSyntaxError, VmapError)
from .export import export
from . import testing  # sct.testing.check_grad, check_dot_product: checks users run on their functions
from .rules import adjoint_rule, context_manager, effect_only, nondifferentiable, tangent_rule
from .parse import follow
from .rules.registry import batched_tangent_rule, broadcasts, not_batchable

__all__ = [
    "grad", "value_and_grad", "jvp", "vjp", "hessian", "hvp", "jacobian", "jacfwd", "jacrev", "vmap", "source", "derived_programs", "export",
    "follow",
    "checkpointed",
    "adjoint_rule", "tangent_rule", "nondifferentiable", "context_manager", "effect_only", "batched_tangent_rule", "broadcasts", "not_batchable",
    "TransformError", "UnsupportedSyntaxError", "SourceError", "NoRuleError", "AliasingError", "ArgumentError", "ExportError",
    "NotBatchable", "VmapError", "testing",
]
__version__ = "0.1.0"
