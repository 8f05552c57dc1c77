"""node_edu.linear: an exact SymPy oracle for the linear ODE dz/dt = A z.

For dz/dt = A z everything is known in closed form, so this is the ground truth that the
lessons (03, 04, 05, 07) and the tests hold the solvers and the adjoint against::

    from node_edu.linear import LinearODE
    sys = LinearODE([[0, -1], [1, 0]], [1, 0], t0=0, t1=1)
    sys.solution(sys.t)                  # exp(A (t - t0)) z0 as a formula in t
    sys.euler(10)                        # (I + hA)^N z0 and its error, exactly
    sys.adjoint(sys.t, [1, 0])           # exp(A^T (t1 - t)) a1: constant iff A^T a1 = 0
    g = sys.gradients([[0, 1], [1, 1]], times=[0.5, 1])   # mean loss over two times
    g.dz0, g.dA, g.dt, g.dt0, g.dLdz     # exact gradients; dLdz: the jumps of a(t)
    g.adjoint(sys.t)                     # a(t) as a Piecewise formula; .adjoint_pieces()
    g.adjoint_on_grid(ts)                # float64 [len(ts), n], for plots
    sys.euler_gradients([[0, 1], [1, 1]], 8, times=[0.5, 1])   # discretise-then-optimise
    g.compare(dz0=z0.grad, dA=A.grad)    # relative errors of numerical gradients (a table)

Conventions (Chen et al. 2018, "Neural Ordinary Differential Equations"):

- Flow: z(t) = exp(A (t - t0)) z0 on [t0, t1], t0 < t1.
- Loss over observation times t0 <= t_1 < ... < t_m <= t1 with targets y_i:
  L = c * sum_i |z(t_i) - y_i|^2, with c = 1/m for ``loss="mean"`` (the default, the mean
  over observations of the squared Euclidean norm) and c = 1 for ``loss="sum"``.
  Note: ``torch.nn.functional.mse_loss`` also averages over the n components, i.e. it is
  our "mean" loss divided by n.
- Adjoint: a(t) = dL/dz(t), da/dt = -A^T a (a row-vector a^T df/dz written as a column),
  integrated from t1 back to t0 starting at a(t1^+) = 0. At each observation time it
  jumps UP by dL/dz(t_i) = 2 c (z(t_i) - y_i): a(t_i^-) = a(t_i^+) + dL/dz(t_i). Between
  jumps a(t) = exp(A^T (t_i - t)) a(t_i^-), and da/dt = -exp(A^T (t_i - t)) A^T a(t_i^-):
  a(t) is constant there exactly when A^T a(t_i^-) = 0, which a nonzero A allows for some
  starts (A = [[0, 1], [0, 0]], a = (0, 1)); constant for every start only when A = 0. (The
  "da/dt = 0" argument forgets that df/dz = A.) At t = t_i we report a(t_i^-).
- Gradients: dL/dz0 = a(t0); dL/dA = integral_{t0}^{t1} a(t) z(t)^T dt (with the jumps);
  dL/dt_i = dL/dz(t_i) . A z(t_i); dL/dt0 = -sum_{t_i > t0} dL/dt_i.
- Euler (discretise-then-optimise): z_{k+1} = (I + hA) z_k, h = (t1 - t0)/N, gradients
  by exact backpropagation through the N steps; they differ from the continuous ones by
  O(h).

Exactness: inputs become exact SymPy numbers (floats via their shortest decimal, so 0.1
is 1/10). exp(A t) comes from the Jordan form, so real, complex, repeated and defective
eigenvalues, singular and zero A are all exact. When SymPy needs longer than
``timeout`` seconds (default 2; e.g. a 3 x 3 A whose characteristic polynomial is an
irreducible cubic), the numbers come from mpmath with ``dps`` >= 30 digits instead: the
result says so (``exact=False``, ``method``) and a :class:`NumericFallbackWarning` is
issued. The time limit is a SIGALRM timer on the main thread and a waiting thread
elsewhere (see ``_timeout.py``).
"""

from node_edu.linear.results import EulerResult, GradientReport, Gradients, compare
from node_edu.linear.system import LOSSES, LinearODE, NumericFallbackWarning

__all__ = [
    "LOSSES",
    "EulerResult",
    "GradientReport",
    "Gradients",
    "LinearODE",
    "NumericFallbackWarning",
    "compare",
]
