"""Checkers for lesson 08: a ResNet is Euler's method; the RNODE regularised dynamics."""

import torch

from node_edu.checks.base import Mistake, exercise, expect_tensor, passed
from node_edu.solutions import lesson08
from node_edu.solvers import odeint

DT = torch.float64


def _close(a, b, tol=1e-10):
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=tol, atol=tol))


def _euler(f, z0, t1, n_steps, h=None, frozen=False, t_of_k=None):
    """The Euler map, written out here as the typical slips would make it."""
    h = t1 / n_steps if h is None else h
    z = z0
    for k in range(n_steps):
        t = 0.0 if frozen else (k * h if t_of_k is None else t_of_k(k))
        z = z + h * f(torch.tensor(t, dtype=z0.dtype), z)
    return z


def _field(t, z):
    """A nonlinear field that depends on t, so a wrong time in the blocks shows."""
    W = torch.tensor([[0.4, -1.1], [0.9, -0.3]], dtype=z.dtype, device=z.device)
    return torch.tanh(z @ W.T) * torch.cos(2 * torch.as_tensor(t, dtype=z.dtype)) + 0.3 * t


@exercise("08.resnet_forward", solution=lesson08.resnet_forward, hints=(
    "A ResNet block is z <- z + h f(t, z): exactly one step of Euler's method with step h.",
    "Over [0, t1] with depth blocks the step is h = t1 / depth, and block k (k = 0, ...,"
    " depth - 1) evaluates f at t = k h.",
    "Loop `for k in range(depth)`, call f with `torch.tensor(k * h, dtype=z0.dtype)`,"
    " and return the final z only (never change z0 in place).",
))  # fmt: skip
def resnet_forward(fn):
    """Lesson 08 exercise: ``fn(f, z0, depth, t1)`` is a ResNet of ``depth`` residual blocks
    z <- z + h f(t_k, z), h = t1/depth, t_k = k h, returning the last z [batch, dim].

    Oracles: for a linear field the closed form (I + hA)^N z0 (``torch.linalg.matrix_power``);
    for a nonlinear, time-dependent field ``ne.odeint(method="euler")`` on the grid
    ``linspace(0, t1, depth + 1)``. Wrong step, wrong number of blocks, a frozen or wrong
    time, all states returned, the exact flow instead, z0 changed in place are named.
    """
    gen = torch.Generator().manual_seed(8)
    A = torch.tensor([[-0.2, -1.5], [1.5, -0.2]], dtype=DT)
    z0 = torch.randn(3, 2, generator=gen, dtype=DT)
    for f, depth, t1 in (((lambda t, z: z @ A.T), 7, 1.5), (_field, 12, 2.0)):
        given = z0.clone()
        out = fn(f, given, depth, t1)
        if not torch.equal(given, z0):
            raise Mistake("your function changed z0 in place; build new tensors (z = z + ...)")
        if isinstance(out, torch.Tensor) and out.shape == (depth + 1, *z0.shape):
            raise Mistake("return only the output of the last block, [batch, dim], not every z")
        out = expect_tensor(out, "the output", like=z0)
        if f is _field:
            t = torch.linspace(0.0, t1, depth + 1, dtype=DT)
            expected = odeint(f, z0, t, method="euler")[-1]
        else:
            M = torch.linalg.matrix_power(torch.eye(2, dtype=DT) + (t1 / depth) * A, depth)
            expected = z0 @ M.T
        if _close(out, expected):
            continue
        slips = [
            (_euler(f, z0, t1, depth, h=1.0), "each block takes a step of 1; a ResNet over"
             f" [0, t1] with {depth} blocks takes h = t1 / depth"),
            (_euler(f, z0, t1, depth, h=1.0 / depth), "your step is 1/depth; over [0, t1]"
             " it is h = t1 / depth"),
            (_euler(f, z0, t1, depth + 1, h=t1 / depth), f"that is {depth + 1} blocks; use exactly"
             " depth (range(depth) runs k = 0, ..., depth - 1)"),
            (_euler(f, z0, t1, depth - 1, h=t1 / depth), f"that is {depth - 1} blocks; use exactly"
             " depth"),
            (_euler(f, z0, t1, depth, frozen=True), "every block calls f at t = 0; block k"
             " runs at t = k h"),
            (_euler(f, z0, t1, depth, t_of_k=float), "block k calls f at t = k; it runs at"
             " t = k h"),
            (_euler(f, z0, t1, depth, t_of_k=lambda k, h=t1 / depth: (k + 1) * h), "block k calls f"
             " at t = (k + 1) h, the end of its step; Euler evaluates at its start, t = k h"),
            (odeint(f, z0, torch.tensor([0.0, t1], dtype=DT), rtol=1e-10, atol=1e-12)[-1],
             "that is the exact flow of the ODE; a ResNet is Euler's method, with its O(h) error"),
        ]  # fmt: skip
        for wrong, why in slips:
            if _close(out, wrong, 1e-8):
                raise Mistake(why)
        err = float((out - expected).abs().max())
        raise Mistake(f"with depth {depth} and t1 {t1} your output is off by {err:.3g}")
    return passed("your ResNet is Euler's method step for step ((I + hA)^N z0 and ne.odeint)")


class _MLP:
    """f(t, z) = W2 tanh(W1 z + b1 + t), whose Jacobian is known in closed form."""

    def __init__(self, gen, d=3, hidden=6):
        self.W1 = torch.randn(hidden, d, generator=gen, dtype=DT).requires_grad_()
        self.b1 = torch.randn(hidden, generator=gen, dtype=DT).requires_grad_()
        self.W2 = (0.5 * torch.randn(d, hidden, generator=gen, dtype=DT)).requires_grad_()

    def __call__(self, t, z):
        return torch.tanh(z @ self.W1.T + self.b1 + t) @ self.W2.T

    def jacobians(self, t, z, W1):
        """df/dz = W2 diag(1 - tanh(a)^2) W1 per sample, a = W1 z + b1 + t: [batch, d, d]."""
        s = 1 - torch.tanh(z @ W1.T + self.b1.detach() + t) ** 2  # [batch, hidden]
        return torch.einsum("ih,bh,hj->bij", self.W2.detach(), s, W1)


def _rnode_oracle(mlp, t, z, eps):
    """What the right answer and each slip give, from the closed-form Jacobian; and the
    gradient of sum_b ||eps_b^T J_b||^2 w.r.t. W1 by autograd through that closed form."""
    W1 = mlp.W1.detach().clone().requires_grad_()
    J = mlp.jacobians(t, z, W1)
    epsJ = torch.einsum("bi,bij->bj", eps, J)
    (grad_W1,) = torch.autograd.grad(epsJ.pow(2).sum(), W1)
    J, epsJ = J.detach(), epsJ.detach()
    with torch.no_grad():
        dz = mlp(t, z)
    return dict(
        dz=dz, kinetic=dz.pow(2).sum(1), jacobian=epsJ.pow(2).sum(1),
        trace=(epsJ * eps).sum(1), jvp=torch.einsum("bij,bj->bi", J, eps).pow(2).sum(1),
        exact=J.pow(2).sum((1, 2)), grad_W1=grad_W1,
    )  # fmt: skip


@exercise("08.regularised_dynamics", solution=lesson08.regularised_dynamics, hints=(
    "The state is [z, E_K, E_J]: z = state[:, :-2]. The two accumulators never enter f;"
    " their derivatives are ||f||^2 and ||eps^T df/dz||^2, one number per sample.",
    "eps^T (df/dz) is a vector-Jacobian product: torch.autograd.grad(dz, z, eps,"
    " create_graph=True) returns it in one backward pass (create_graph: the loss will be"
    " differentiated through it).",
    "Return torch.cat([dz, kinetic[:, None], jacobian[:, None]], dim=1): shape [batch, dim + 2],"
    " with the squared norms summed over the coordinates (dim=1), not over the batch.",
))  # fmt: skip
def regularised_dynamics(fn):
    """Lesson 08 exercise: ``fn(f, t, state, eps)`` returns d/dt [z, E_K, E_J] =
    [f(t, z), ||f||^2, ||eps^T df/dz||^2] ``[batch, dim + 2]`` for ``state`` [batch, dim + 2]
    (which requires grad) and a probe ``eps`` [batch, dim].

    Oracle: the closed-form Jacobian of f = W2 tanh(W1 z + b1 + t), W2 diag(1 - tanh^2) W1,
    and the gradient of the Jacobian term w.r.t. W1 by autograd through that formula. The
    trace estimate (eps^T J eps), the JVP (J eps), unsquared norms, the exact ||J||_F^2, a
    mean over the coordinates and an answer that cannot be differentiated are named.
    """
    gen = torch.Generator().manual_seed(80)
    mlp = _MLP(gen)
    batch, d = 5, 3
    z = torch.randn(batch, d, generator=gen, dtype=DT)
    acc = torch.rand(batch, 2, generator=gen, dtype=DT) + 1.0  # E_K, E_J so far: must not matter
    eps = (2 * torch.randint(0, 2, (batch, d), generator=gen) - 1).to(DT)
    t = torch.tensor(0.3, dtype=DT)
    ref = _rnode_oracle(mlp, t, z, eps)
    state = torch.cat([z, acc], dim=1).requires_grad_()
    raw = fn(mlp, t, state, eps.clone())
    out = expect_tensor(raw, "the derivative of the state", like=state.detach())
    if not _close(out[:, :d], ref["dz"]):
        raise Mistake("the first dim columns must be dz/dt = f(t, z), z = state[:, :-2]")
    kinetic, jac = out[:, d], out[:, d + 1]
    if _close(kinetic, ref["jacobian"]) and _close(jac, ref["kinetic"]):
        raise Mistake("the last two columns are swapped: [..., ||f||^2, ||eps^T J||^2]")
    if _close(kinetic, ref["kinetic"].sqrt()):
        raise Mistake("dE_K/dt is ||f||^2, the squared norm; yours is ||f||")
    if _close(kinetic, ref["kinetic"] / d):
        raise Mistake("sum the squares over the coordinates; yours is their mean")
    if not _close(kinetic, ref["kinetic"]):
        raise Mistake("column dim (dE_K/dt) must be ||f(t, z)||^2 per sample")
    for key, why in (
        ("trace", "that is eps^T J eps, Hutchinson's estimate of the trace (lesson 07); the"
         " Frobenius norm needs ||eps^T J||^2"),
        ("jvp", "that is ||J eps||^2 (a Jacobian-vector product); this exercise asks for the"
         " vector-Jacobian product eps^T J, one backward pass"),
        ("exact", "that is the exact ||J||_F^2, which costs dim backward passes; estimate it"
         " with the one probe eps: ||eps^T J||^2"),
    ):  # fmt: skip
        if _close(jac, ref[key]) and not _close(ref[key], ref["jacobian"]):
            raise Mistake(why)
    if _close(jac, ref["jacobian"].sqrt()):
        raise Mistake("dE_J/dt is ||eps^T J||^2, the squared norm; yours is ||eps^T J||")
    if _close(jac, ref["jacobian"] / d):
        raise Mistake("sum the squares of eps^T J over the coordinates; yours is their mean")
    if not _close(jac, ref["jacobian"]):
        raise Mistake("column dim + 1 (dE_J/dt) must be ||eps^T df/dz||^2 per sample")
    no_graph = Mistake(
        "the Jacobian term cannot be differentiated: pass create_graph=True to"
        " torch.autograd.grad, since training backpropagates through it"
    )
    if not raw[:, d + 1].requires_grad:
        raise no_graph
    try:  # a VJP taken without create_graph has freed (or never built) the graph we need
        (g,) = torch.autograd.grad(raw[:, d + 1].sum(), mlp.W1, allow_unused=True)
    except RuntimeError:
        raise no_graph from None
    if g is None or not _close(g, ref["grad_W1"], 1e-8):
        raise no_graph
    return passed(
        "your regularised dynamics match the closed-form Jacobian (values and their gradient)"
    )
