"""Lesson 10: an ODE-Net classifier on the digits, a ResNet of the same size, and an MLP.

Chen et al. (2018, section 3) classify MNIST with a network that downsamples the image,
replaces a stack of residual blocks by ONE ODE block, and reads the class off with a
linear head. At the scale of 8 x 8 digits (``node_edu.data.digits``)::

    ODENet   x [batch, 64] -> down: Linear(64, dim)
             -> ODE block: z(1) of dz/dt = f(z), z(0) = down(x), f = W2 tanh(W1 z + b1) + b2
                (RK4, ``steps`` steps of 1/steps; gradient by the adjoint, or by backprop
                through the solver: Chen et al.'s "ODE-Net" and "RK-Net")
             -> head: Linear(dim, 10) -> logits
    ResNet   the same down and head; the ODE block replaced by ``blocks`` residual blocks
             z <- z + h f_k(z), h = 1/blocks, each f_k a field of its own (width ``width``)
    MLP      Linear(64, hidden), tanh, Linear(hidden, 10)

``train`` fits any of them by Adam on the cross-entropy, in seeded minibatches;
``accuracy``, ``count_parameters`` and ``saved_bytes`` (what autograd keeps for the
backward pass of one forward pass) measure them.
"""

import time
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from node_edu.adjoint import odeint_adjoint
from node_edu.adjoint.memory import saved_tensor_bytes
from node_edu.data.digits import CLASSES, PIXELS, Digits
from node_edu.models.augmented import MLPField
from node_edu.solvers import odeint
from node_edu.solvers.validation import check_positive


class ODENet(torch.nn.Module):
    """Downsampling, one ODE block, a linear head (module docstring): ``[batch, 64]`` ->
    logits ``[batch, 10]``.

    Args:
        dim: width of the ODE block's state z. hidden: width of the field's hidden layer.
        steps: RK4 steps over [0, 1] (4 evaluations of f each).
        adjoint: True: gradients by ``ne.odeint_adjoint`` (the state at t = 0 and t = 1 is
            all autograd keeps of the block); False: backprop through ``ne.odeint``.
    """

    def __init__(self, dim=32, hidden=64, *, steps=4, adjoint=True, dtype=None, device=None):
        super().__init__()
        dim = check_positive("dim", dim, integer=True)
        self.steps = check_positive("steps", steps, integer=True)
        self.adjoint = bool(adjoint)
        self.down = torch.nn.Linear(PIXELS, dim, dtype=dtype, device=device)
        self.field = MLPField(dim, hidden, dtype=dtype, device=device)
        self.head = torch.nn.Linear(dim, CLASSES, dtype=dtype, device=device)

    def forward(self, x, *, solver=None, stats=None):
        """Logits for images ``x`` ``[batch, 64]``. ``solver``: other ``odeint`` options
        (default RK4 with ``steps`` steps), e.g. to test the trained field with another
        method; ``stats``: a ``SolverStats`` to fill."""
        z0 = self.down(x)
        t = torch.tensor([0.0, 1.0], dtype=z0.dtype, device=z0.device)
        options = dict(method="rk4", step_size=1.0 / self.steps) if solver is None else solver
        solve = odeint_adjoint if self.adjoint else odeint
        z1 = solve(self.field, z0, t, stats=stats, **options)[-1]
        return self.head(z1)


class ResNet(torch.nn.Module):
    """The ODE-Net with its ODE block replaced by ``blocks`` residual blocks
    z <- z + h f_k(z), h = 1 / blocks (Euler's method with a field per step, lesson 08);
    each f_k is ``W2 tanh(W1 z + b1) + b2`` of hidden width ``width``."""

    def __init__(self, dim=32, width=16, *, blocks=4, dtype=None, device=None):
        super().__init__()
        dim = check_positive("dim", dim, integer=True)
        blocks = check_positive("blocks", blocks, integer=True)
        self.down = torch.nn.Linear(PIXELS, dim, dtype=dtype, device=device)
        self.blocks = torch.nn.ModuleList(
            MLPField(dim, width, dtype=dtype, device=device) for _ in range(blocks)
        )
        self.head = torch.nn.Linear(dim, CLASSES, dtype=dtype, device=device)

    def forward(self, x):
        z, h = self.down(x), 1.0 / len(self.blocks)
        for k, f in enumerate(self.blocks):
            z = z + h * f(k * h, z)  # one residual block, one Euler step
        return self.head(z)


def mlp(hidden=88, *, dtype=None, device=None):
    """A plain MLP: Linear(64, hidden), tanh, Linear(hidden, 10)."""
    hidden = check_positive("hidden", hidden, integer=True)
    return torch.nn.Sequential(
        torch.nn.Linear(PIXELS, hidden, dtype=dtype, device=device),
        torch.nn.Tanh(),
        torch.nn.Linear(hidden, CLASSES, dtype=dtype, device=device),
    )


def count_parameters(model):
    """The number of trained numbers in ``model`` (every parameter that requires grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def accuracy(model, x, y, **kwargs):
    """The fraction of images ``x`` whose largest logit is at their label ``y``."""
    with torch.no_grad():
        return (model(x, **kwargs).argmax(dim=1) == y).double().mean().item()


def saved_bytes(model, x):
    """The bytes autograd keeps for the backward pass of ``model(x)`` (``x`` copied first,
    so that a slice of a larger tensor counts as itself; see ``saved_tensor_bytes``)."""
    _, n = saved_tensor_bytes(model, x.clone())
    return n


@dataclass
class TrainResult:
    """What ``train`` records: the minibatch losses, in order, and the wall time."""

    losses: list = field(default_factory=list)
    seconds: float = 0.0


def train(model, data, *, epochs=60, batch=256, lr=1e-2, seed=1, progress=True, desc=None):
    """Adam on the cross-entropy of ``model`` on ``data.x_train``, in minibatches of
    ``batch`` images drawn without replacement each epoch (a ``torch.Generator`` seeded
    with ``seed``, so the order is the same everywhere). Returns a ``TrainResult``."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(data, Digits):
        raise TypeError(f"data must be a node_edu.data.digits.Digits, got {type(data).__name__}")
    epochs = check_positive("epochs", epochs, integer=True)
    batch = check_positive("batch", batch, integer=True)
    lr = check_positive("lr", lr)
    x, y = data.x_train, data.y_train
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    result, start = TrainResult(), time.perf_counter()
    for _ in tqdm(range(epochs), desc=desc or "training", disable=not progress):
        order = torch.randperm(len(x), generator=gen).to(x.device)
        for i in range(0, len(x), batch):
            idx = order[i : i + batch]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            result.losses.append(loss.item())
    result.seconds = time.perf_counter() - start
    return result
