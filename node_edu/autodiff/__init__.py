"""A small automatic-differentiation engine over numpy arrays, readable in one sitting.

Reverse mode builds a graph of ``Node`` objects while your function runs, then walks it
backwards once (a vector-Jacobian product, VJP). Forward mode carries ``Dual`` numbers
(value, tangent) through the same primitives and needs no graph (a Jacobian-vector
product, JVP). The names and meanings mirror ``torch.func``::

    y, vjp_fn = ad.vjp(f, x1, x2)        # vjp_fn(v) -> (v^T dy/dx1, v^T dy/dx2)
    y, y_dot = ad.jvp(f, (x1,), (v,))    # y_dot = (dy/dx1) v
    ad.grad(f, argnums=0)(x1, x2)        # f must return one number
    ad.jacobian(f, mode="rev")(x)        # one VJP per output, or mode="fwd": one JVP per input

Every primitive is defined once, next to its two derivative rules: ``vjp`` (reverse:
given the output's adjoint g, return each input's adjoint) and ``jvp`` (forward: given
each input's tangent, return the output's tangent). ``ad.trace`` returns the whole graph
(nodes, edges, values, adjoints, tangents) so a lesson can draw it and step through the
sweeps. Only first derivatives are supported: nesting ``grad`` inside ``grad`` raises a
clear ``TypeError`` (use ``torch.func`` for higher order).

Conventions: values are float numpy arrays; an adjoint has its node's shape; numpy
broadcasting is allowed, and the reverse rule sums the adjoint over broadcast axes.
Reference: Baydin et al., "Automatic differentiation in machine learning: a survey",
JMLR 18 (2018), whose running example f(x1, x2) = ln(x1) + x1 x2 - sin(x2) lesson 01 uses.

Modules: ``engine`` (primitives and their rules, Node, Dual), ``graph`` (trace, Graph and
its two sweeps), ``api`` (vjp, jvp, grad, jacobian, count_passes), ``estimators``
(finite differences; gradients through a black box by finite differences or SPSA),
``batching`` (a hand-written vmap batching rule for one torch operation; ``probe`` and
``count_vectors``, which count the VJPs and JVPs that pass a point of a torch function).
"""

from node_edu.autodiff.api import count_passes, grad, jacobian, jvp, vjp
from node_edu.autodiff.batching import MatVec, count_vectors, matvec, probe
from node_edu.autodiff.engine import (
    PRIMITIVES,
    Dual,
    Node,
    Primitive,
    cos,
    exp,
    log,
    sin,
    sum,
    tanh,
)
from node_edu.autodiff.estimators import (
    blackbox,
    counted,
    estimate_vjp,
    finite_difference,
    finite_difference_errors,
    finite_difference_optimum,
    spsa_mean,
)
from node_edu.autodiff.graph import Graph, trace

__all__ = [
    "PRIMITIVES",
    "blackbox",
    "counted",
    "estimate_vjp",
    "finite_difference",
    "finite_difference_errors",
    "finite_difference_optimum",
    "Dual",
    "Graph",
    "Node",
    "Primitive",
    "cos",
    "count_passes",
    "count_vectors",
    "exp",
    "grad",
    "jacobian",
    "jvp",
    "MatVec",
    "matvec",
    "probe",
    "log",
    "sin",
    "spsa_mean",
    "sum",
    "tanh",
    "trace",
    "vjp",
]
