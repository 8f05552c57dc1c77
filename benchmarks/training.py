"""Lesson 06's training: the recipe in our solver against torchdiffeq's, and what each of its
choices is worth.

``run``: the recipe of lesson 06 (every window at once, L-BFGS with a strong-Wolfe line
search, dopri5 at rtol 1e-5 / atol 1e-7 in float32, windows of 2, 5, then 10 observations,
gradients by backprop through the solver), written once and run with ``ne.odeint`` and with
``torchdiffeq.odeint``: seconds per evaluation of the loss, and the whole-trajectory error
of the result (integrated from z(0) over all 100 observations by ``ne.odeint`` at rtol
1e-7). Same seeded model, same data; runs alternate between the libraries and the best
counts. ``ablation``: lesson 06's table, each row the recipe with one choice changed.
"""

import time

import torch
import torchdiffeq

import node_edu as ne
from node_edu.data.spiral import spiral, windows
from node_edu.models.training import CHECK, SOLVER, STAGES, Trainer, VectorField, mse

from .problems import table


def _scaled(n_evals):
    """STAGES with their evaluations scaled to ``n_evals`` in all (at least 1 each)."""
    total = sum(n for _, n in STAGES)
    return tuple((b, max(1, round(n * n_evals / total))) for b, n in STAGES)


def _stage(odeint, func, data, batch_time, n):
    """One stage of lesson 06's loop with ``odeint`` as the solver; the evaluations made."""
    z0, t, z_true = windows(data, batch_time)
    optimizer = torch.optim.LBFGS(
        func.parameters(), max_iter=n, max_eval=n, history_size=50,
        line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0,
    )  # fmt: skip
    calls = []

    def closure():
        calls.append(1)
        optimizer.zero_grad()
        loss = mse(odeint(func, z0, t, **SOLVER), z_true)
        loss.backward()
        return loss

    optimizer.step(closure)
    return len(calls)


def train(odeint, stages, data, seed=0):
    """Lesson 06's loop with ``odeint`` as the solver: (seconds per evaluation, evaluations,
    whole-trajectory error)."""
    torch.manual_seed(seed)
    func = VectorField()
    start = time.perf_counter()
    n_evals = sum(_stage(odeint, func, data, b, n) for b, n in stages)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        error = float((ne.odeint(func, data.z[0], data.t, **CHECK) - data.z).abs().mean())
    return seconds / n_evals, n_evals, error


def ablation(n_evals=170):
    """Lesson 06's table: (rows of the Markdown table, raw) for the recipe and each change."""
    data = spiral()
    loose = dict(method="dopri5", rtol=1e-3, atol=1e-5)
    variants = {
        "the recipe": {},
        "usual first attempt: Adam, 16 random windows of 10, rtol 1e-3": dict(
            optimizer="adam", batch_size=16, stages=((10, n_evals),), solver=loose),
        "the recipe, but Adam (lr 1e-2) for L-BFGS": dict(optimizer="adam"),
        "the recipe, but rtol 1e-3 for 1e-5": dict(solver=loose),
        "the recipe, but windows of 2 only": dict(stages=((2, n_evals),)),
    }  # fmt: skip
    zero = float(data.z.abs().mean())
    body, raw = [], {}
    for name, changes in variants.items():
        changes = {"stages": _scaled(n_evals), **changes}
        torch.manual_seed(0)
        trainer = Trainer(VectorField(), data, **changes)
        start = time.perf_counter()
        trainer.train(every=10**9, progress=False)
        seconds = time.perf_counter() - start
        error = trainer.error()
        raw[name] = dict(error=error, seconds=seconds, evaluations=len(trainer.history))
        body.append([name, f"{error:.4f}", f"{error / zero:.3f}", f"{seconds:.1f}"])
    return body, raw


def run(n_iters=170, repeats=2, with_ablation=True):
    data = spiral()
    stages = _scaled(n_iters)
    libraries = {"ours": ne.odeint, "torchdiffeq": torchdiffeq.odeint}
    best = {name: (float("inf"), 0, None) for name in libraries}
    for _ in range(repeats):
        for name, solve in libraries.items():
            best[name] = min(best[name], train(solve, stages, data))
    ratio = best["ours"][0] / best["torchdiffeq"][0]
    headers = ["", "ours", "torchdiffeq", "ratio"]
    body = [
        ["seconds per evaluation of the loss", f"{best['ours'][0]:.4f}",
         f"{best['torchdiffeq'][0]:.4f}", f"**{ratio:.2f}x**"],
        ["evaluations", str(best["ours"][1]), str(best["torchdiffeq"][1]), ""],
        ["whole-trajectory error", f"{best['ours'][2]:.4f}", f"{best['torchdiffeq'][2]:.4f}", ""],
    ]  # fmt: skip
    title = (
        f"### 5. Lesson 06's training (cpu, the recipe: every window, L-BFGS, dopri5 float32 "
        f"rtol 1e-5, windows of {', '.join(str(b) for b, _ in stages)}, backprop; "
        f"{sum(n for _, n in stages)} evaluations of the loss, best of {repeats})\n\n"
    )
    text = title + table(headers, body)
    raw = {"ours_s": best["ours"][0], "td_s": best["torchdiffeq"][0], "ratio": ratio,
           "ours_error": best["ours"][2], "td_error": best["torchdiffeq"][2]}  # fmt: skip
    if with_ablation:
        rows, raw["ablation"] = ablation(n_iters)
        text += (
            "\n\nWhat each choice is worth (lesson 06's table; whole-trajectory error at rtol "
            "1e-7, and as a fraction of predicting z = 0):\n\n"
            + table(["", "error", "/ zero", "seconds"], rows)
        )
    return text, raw


if __name__ == "__main__":
    print(run()[0])
