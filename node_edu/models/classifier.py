"""Lesson 00's neural ODE: a vector field in the plane that carries two classes apart.

The whole model, an ODE-Net (Chen et al. 2018, section 3) in two dimensions::

    z(0)  = x                                         a point of the plane, [batch, 2]
    dz/dt = f(z, theta) = W2 tanh(W1 z + b1) + b2     for t in [0, 1]
    score = w . z(1) + b                              class 1 where the score is > 0

``ne.odeint`` solves it with RK4, ten steps of 0.1. ``fit`` trains theta = (W1, b1, W2, b2)
and the read-out (w, b) together by Adam on the logistic loss of the score, backpropagating
through the solver's steps (lesson 06 trains with the adjoint method instead). The field
does not depend on t, so two paths in the plane never meet (lesson 08 shows what that
forbids). Small enough to train in about a second on a CPU.
"""

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from node_edu.solvers import odeint
from node_edu.solvers.validation import check_positive


class ODEClassifier(torch.nn.Module):
    """x [batch, 2] -> score [batch]: the flow of dz/dt = f(z) from t = 0 to 1, then a line.

    Args:
        hidden: width of the field's hidden layer.
        steps: RK4 steps over [0, 1] (the step is 1 / steps).
        dtype: of the parameters (x must have it too).

    The read-out starts at zero (every score 0): the flow and the line then learn together
    from no preference, which trained more reliably than a random line in our trials.
    """

    def __init__(self, hidden=16, *, steps=10, dtype=torch.float64):
        super().__init__()
        hidden = check_positive("hidden", hidden, integer=True)
        self.steps = check_positive("steps", steps, integer=True)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(2, hidden, dtype=dtype),
            torch.nn.Tanh(),
            torch.nn.Linear(hidden, 2, dtype=dtype),
        )
        self.readout = torch.nn.Linear(2, 1, dtype=dtype)
        torch.nn.init.zeros_(self.readout.weight)
        torch.nn.init.zeros_(self.readout.bias)

    def f(self, t, z):
        """The field dz/dt = f(z, theta) for z [batch, 2] (t is not used)."""
        return self.net(z)

    def flow(self, x, t):
        """z(t) for every time in the 1-D tensor ``t`` (from 0): ``[len(t), batch, 2]``."""
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != 2:
            raise ValueError(
                f"x must be a tensor of shape [batch, 2], got {getattr(x, 'shape', x)!r}"
            )
        return odeint(self.f, x, t, method="rk4", step_size=1.0 / self.steps)

    def score(self, z):
        """The read-out w . z + b for z [batch, 2]: ``[batch]``."""
        return self.readout(z)[:, 0]

    def forward(self, x):
        t = torch.tensor([0.0, 1.0], dtype=x.dtype, device=x.device)
        return self.score(self.flow(x, t)[-1])


def fit(model, x, y, *, iters=80, lr=0.05, penalty=0.02, progress=True):
    """Train ``model`` on points x [batch, 2] with labels y [batch] (0. or 1.), full batch.

    The loss is the logistic loss of the score plus ``penalty`` * mean |z(1)|^2: without the
    penalty the logistic loss keeps pushing the points apart, to ever larger margins, and
    they leave the picture. Returns the loss of every iteration.
    """
    if not isinstance(model, ODEClassifier):
        raise TypeError(f"model must be an ODEClassifier, got {type(model).__name__}")
    iters = check_positive("iters", iters, integer=True)
    if not isinstance(y, torch.Tensor) or y.shape != x.shape[:1]:
        raise ValueError(
            f"y must be a tensor of shape [{x.shape[0]}], got {getattr(y, 'shape', y)!r}"
        )
    t = torch.tensor([0.0, 1.0], dtype=x.dtype, device=x.device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in tqdm(range(iters), desc="training", disable=not progress, leave=False):
        opt.zero_grad()
        z1 = model.flow(x, t)[-1]
        loss = F.binary_cross_entropy_with_logits(model.score(z1), y)
        loss = loss + penalty * z1.pow(2).sum(1).mean()
        loss.backward()  # through the RK4 steps
        opt.step()
        losses.append(loss.item())
    return losses


def accuracy(model, z, y):
    """The fraction of points z [batch, 2] on their class's side of the read-out line."""
    with torch.no_grad():
        return float(((model.score(z) > 0) == (y > 0.5)).double().mean())
