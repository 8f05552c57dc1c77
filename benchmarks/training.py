"""Lesson 06's training, seconds per iteration: ours against torchdiffeq.

The same model (``ne.training.VectorField``, seeded), the same spiral data and the same
minibatches (``ne.data.batch`` from one seeded generator), the same loss, optimizer and
tolerances as lesson 06 (dopri5, rtol 1e-3, atol 1e-5, float32, batch 16 x 10 times,
Adam lr 1e-2); gradients by each library's ``odeint_adjoint``. Each run starts from the
same initial weights; runs alternate between the two libraries and the best counts.
"""

import time

import torch
import torchdiffeq

import node_edu as ne
from node_edu.data.spiral import batch, spiral
from node_edu.models.training import VectorField, mse

from .problems import table

SOLVER = dict(method="dopri5", rtol=1e-3, atol=1e-5)


def train(odeint_adjoint, n_iters, data, seed=0):
    """Seconds per iteration and the last loss of ``n_iters`` iterations."""
    torch.manual_seed(seed)
    func = VectorField()
    optimizer = torch.optim.Adam(func.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(n_iters):
        z0, t, z_true = batch(data, 16, 10, generator=generator)
        optimizer.zero_grad()
        loss = mse(odeint_adjoint(func, z0, t, **SOLVER), z_true)
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / n_iters, loss.item()


def run(n_iters=30, repeats=2):
    data = spiral()
    libraries = {"ours": ne.odeint_adjoint, "torchdiffeq": torchdiffeq.odeint_adjoint}
    best = {name: (float("inf"), None) for name in libraries}
    for _ in range(repeats):
        for name, solver in libraries.items():
            seconds, loss = train(solver, n_iters, data)
            best[name] = min(best[name], (seconds, loss))
    ratio = best["ours"][0] / best["torchdiffeq"][0]
    headers = ["", "ours", "torchdiffeq", "ratio"]
    body = [
        ["seconds per iteration", f"{best['ours'][0]:.4f}", f"{best['torchdiffeq'][0]:.4f}",
         f"**{ratio:.2f}x**"],
        [f"loss after {n_iters} iterations", f"{best['ours'][1]:.4f}",
         f"{best['torchdiffeq'][1]:.4f}", ""],
    ]  # fmt: skip
    title = (
        f"### 5. Lesson 06's training (cpu, dopri5, float32, rtol 1e-3, atol 1e-5, batch 16 x "
        f"10 times, odeint_adjoint, {n_iters} iterations, best of {repeats})\n\n"
    )
    raw = {"ours_s": best["ours"][0], "td_s": best["torchdiffeq"][0], "ratio": ratio}
    return title + table(headers, body), raw


if __name__ == "__main__":
    print(run()[0])
