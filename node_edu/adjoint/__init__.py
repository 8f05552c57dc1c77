"""The adjoint method (Chen et al. 2018, Algorithm 1), and what it saves.

``odeint_adjoint`` (re-exported as ``ne.odeint_adjoint``) lives in ``method``;
``memory`` counts the bytes autograd keeps for a backward pass, the adjoint's against
backprop through the solver (lessons 04 and 06).
"""

from node_edu.adjoint.method import ADJOINTS, odeint_adjoint

__all__ = ["ADJOINTS", "odeint_adjoint"]
