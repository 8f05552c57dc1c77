"""Implicit fixed-step methods for stiff problems: implicit Euler and the trapezoidal rule.

Both are *theta methods*: one step from (t, z) to (t + h, z1) solves::

    z1 = z + h ((1 - theta) f(t, z) + theta f(t + h, z1))

for z1: theta = 1 is implicit (backward) Euler, order 1; theta = 1/2 is the trapezoidal
rule (Crank-Nicolson), order 2. On dz/dt = lambda z a step multiplies z by
R(w) = (1 + (1 - theta) w) / (1 - theta w), w = h lambda: |R(w)| <= 1 on the whole left
half-plane (A-stability), so no step size is too large for a decaying mode, unlike every
explicit method (``reference.stability_function`` evaluates R).

The equation G(z1) = z1 - z - h (1 - theta) f(t, z) - h theta f(t + h, z1) = 0 is solved by
Newton's method: z1 <- z1 - M^{-1} G(z1) with M = I - h theta J and J = df/dz at z1 from
``torch.func.jacrev``, solved by ``torch.linalg.solve``. The state is flat (N numbers, a
batch included), so J is N x N: building it costs N vector-Jacobian products (vmapped)
and the solve O(N^3); fine for the small systems of the course, costly for large states.

Gradients (backprop through ``ne.odeint``): the Newton iterations run without a graph;
then one more Newton step is taken *with* the graph from the converged z1*, with M held
constant. Its derivative is dz1/dp = -M^{-1} dG/dp, exactly the implicit-function theorem,
so autograd never differentiates through the iterations or through the Jacobian.

``stats.nfe`` counts calls of func: one per Newton iteration (the Jacobian comes from that
same call, by vmapped VJPs), one more per step when a graph is recorded. ``odeint_adjoint``
refuses these methods (see its docstring).
"""

import math
from dataclasses import dataclass

import torch

from node_edu.errors import SolverError

NEWTON_MAX_ITERATIONS = 10


@dataclass(frozen=True)
class ThetaMethod:
    """An implicit theta method (see the module docstring): ``name``, ``order``, ``theta``."""

    name: str
    order: int
    theta: float
    implicit = True
    adaptive = False


IMPLICIT_EULER = ThetaMethod(name="implicit_euler", order=1, theta=1.0)
TRAPEZOID = ThetaMethod(name="trapezoid", order=2, theta=0.5)
IMPLICIT = {m.name: m for m in (IMPLICIT_EULER, TRAPEZOID)}


def theta_step(f, method, clock, dt, t_float, y, h, k1):
    """One step of the theta method from time t_float (= t_start + dt), state y [N].

    f: f(t, y) on the flat state; clock: a ``rk.Clock``; k1 = f(t, y).
    Returns (y1, k_end) with k_end = f(t + h, y1), read off the solved equation
    (k_end = (y1 - y - h (1 - theta) k1) / (h theta)) at no extra evaluation.
    Raises SolverError when Newton's method does not converge.
    """
    theta, t1 = method.theta, clock(dt + h)
    known = y + (h * (1 - theta)) * k1  # the explicit part of the step
    eps = torch.finfo(y.dtype).eps
    tol = eps ** (2 / 3)  # float64: 4e-11, float32: 2e-5 (relative to the state's size)
    eye = torch.eye(y.numel(), dtype=y.dtype, device=y.device)

    def f_twice(z):  # jacrev returns J and, as "aux", f itself: one evaluation for both
        fz = f(t1, z)
        return fz, fz

    z, converged, residual = y.detach(), False, float("nan")
    with torch.no_grad():
        for _ in range(NEWTON_MAX_ITERATIONS):
            J, fz = torch.func.jacrev(f_twice, has_aux=True)(z)
            G = z - known.detach() - (h * theta) * fz
            M = eye - (h * theta) * J
            residual = torch.linalg.vector_norm(G).item() / (1 + torch.linalg.vector_norm(z).item())
            converged = residual <= tol
            if converged or not math.isfinite(residual):
                break
            z = z - torch.linalg.solve(M, G)
    if not converged:
        raise SolverError(
            f"{method.name}: Newton's method did not converge (relative residual "
            f"{residual:.3g} after at most {NEWTON_MAX_ITERATIONS} iterations) in the step "
            f"from t={t_float:.6g} to t={t_float + h:.6g}. Try a smaller step_size, or check "
            "func (a Jacobian that is singular or changes quickly slows Newton down)."
        )
    if torch.is_grad_enabled():
        # One Newton step with the graph, from the solution z*, M held constant: its
        # derivative is -M^{-1} dG/dp (implicit-function theorem). Its value changes z*
        # only by the (tiny) Newton correction. Skipped when nothing requires grad.
        fz = f(t1, z)
        if fz.requires_grad or known.requires_grad:
            z = z - torch.linalg.solve(M, z - known - (h * theta) * fz)
    k_end = (z - known) / (h * theta)
    return z, k_end
