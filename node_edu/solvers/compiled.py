"""``compiled_odeint``: an OPT-IN compiled adaptive solver, for inference speed.

``ne.odeint`` (the default, and what the lessons use) runs every step as a dozen small
PyTorch operations, each of which costs a few microseconds of Python and dispatch however
small the tensors are. Here ``torch.compile`` turns ONE WHOLE STEP - every stage's call
of ``func``, the stage sums, the new state and the error norm - into a single compiled
function (fused C++ loops on a CPU; on CUDA also replayed as a CUDA graph, mode
``"reduce-overhead"``). The accept/reject loop is ``integrate.adaptive`` itself, with
``CompiledStep`` as its step strategy: the only host synchronisation per step is the
``.item()`` that reads the error ratio, which decides whether the step is kept.

Where it pays: the saving is the per-operation overhead, so it is largest at small batch
(a few evaluations' worth of Python per step gone). At large batch on a CPU the
evaluations themselves dominate, and whether Inductor's generated code for them beats
PyTorch's own kernels depends on the CPU. On one of ours (AMD EPYC) it did; on another
(Intel Xeon) ``tanh`` of 1024 x 50 numbers took 58 us compiled alone (about 25 of them the
call's overhead) against 10 us eager, and the compiled solve at batch 1024 took twice
the eager one. PyTorch tracks this as https://github.com/pytorch/pytorch/issues/110611
(tanh, log and other functions slower compiled than eager on CPUs).
``python -m benchmarks --only compiled`` measures both paths side by side.

What it costs: the first solve of a new (func, z0 shape, dtype, device, method) compiles
the step: from a few seconds to tens of seconds (on a CPU it runs a C++ compiler;
Inductor keeps what it compiled on disk, so a new Python process recompiles faster).
Later solves reuse it. PyTorch keeps at most ``torch._dynamo.config.recompile_limit``
(default 8) compiled versions of the step; beyond that it runs the step uncompiled
(correct, just not faster). Changing a model's parameters in place, or another instance
of the same nn.Module class, does not recompile.

Inference only: the solve runs under ``torch.no_grad()``, so no gradient reaches z0, t or
func's parameters; a z0 or t that requires grad is refused with a ValueError (use
``ne.odeint`` or ``ne.odeint_adjoint`` to train).
"""

import functools

import torch

from node_edu.solvers.integrate import adaptive
from node_edu.solvers.odeint import FlatFunc, prepare


def make_step(func, tab):
    """One step of the tableau ``tab`` as a plain function, ready for ``torch.compile``.

    ``step(ctrl, z, k1) -> (z1, k_last, K_T, ratio)``: ``ctrl`` = [t, h, rtol, atol] as a
    1-D tensor (tensors, not Python floats, so new values do not trigger a recompile),
    ``z`` the state (z0's shape), ``k1 = func(t, z)``. Returns the new state ``z1``, the
    last stage, the stages as the columns of ``K_T`` [N, s] (for dense output) and the
    0-dim error ratio: the RMS of local error / (atol + rtol max(|z|, |z1|)), as in
    ``control.error_ratio``. The tableau's numbers are Python constants, folded in by the
    compiler.
    """

    def combine(z, h, weights, ks):  # z + h * sum_j w_j k_j, skipping zero weights
        terms = [w * k for w, k in zip(weights, ks, strict=False) if w != 0.0]
        return z + h * sum(terms) if terms else z

    def step(ctrl, z, k1):
        t, h, rtol, atol = ctrl[0], ctrl[1], ctrl[2], ctrl[3]
        ks = [k1]
        for i in range(1, tab.n_stages):
            z_stage = combine(z, h, tab.a[i], ks)
            ks.append(func(t + tab.c[i] * h, z_stage))
        # FSAL: the last stage was evaluated at the new state itself (its a-row is b).
        z1 = z_stage if tab.fsal else combine(z, h, tab.b, ks)
        err = h * sum(w * k for w, k in zip(tab.b_err, ks, strict=True) if w != 0.0)
        scale = atol + rtol * torch.maximum(z.abs(), z1.abs())
        ratio = torch.sqrt(torch.mean((err / scale) ** 2))
        K_T = torch.stack([k.reshape(-1) for k in ks], dim=1)
        return z1, ks[-1], K_T, ratio

    return step


@functools.lru_cache(maxsize=8)
def compile_step(func, tab, device_type):
    """``torch.compile`` of ``make_step(func, tab)``: CUDA graphs on a GPU, a C++ wrapper
    around the generated kernels on a CPU.

    Static shapes (``dynamic=False``): a new z0 shape compiles a new step, which then runs
    at full speed for that shape. PyTorch caches the compiled code with the function's code
    object, guarded on func and the tableau, so a new wrapper for the same problem does not
    compile again; but making the wrapper costs 0.6 ms or more (torch.compile copies its
    settings), a quarter of a whole solve at batch 1. So the last 8 wrappers are kept
    here (which keeps their funcs alive too).
    """
    step = make_step(func, tab)
    if device_type == "cuda":
        return torch.compile(step, mode="reduce-overhead", dynamic=False)
    # On a CPU the code that calls the step's two dozen kernels is C++ too (``cpp_wrapper``)
    # instead of the generated Python that calls them by default. ``python -m benchmarks
    # --only compiled`` on a 2-core Intel Xeon: a solve at batch 1 3.6 -> 2.9 ms, at batch
    # 64 6.5 -> 6.1 ms, the compile time unchanged.
    # Not used, though tried: ``max_autotune`` with Inductor's own C++ GEMM (it takes only
    # weights frozen as constants, which would hide later in-place changes to them: the
    # matrix products stayed library calls), and ``cpp.use_decompose_tanh`` (tanh as
    # 2 / (1 + exp(-2x)) - 1: a solve 5-13% / 25% faster at batch 64 / 1024 here, but in
    # float32 it gives tanh(1e-9) = 0, and func is the user's, not ours to change).
    return torch.compile(step, dynamic=False, options={"cpp_wrapper": True})


def check_no_grad(z0, t):
    for name, x in (("z0", z0), ("t", t)):
        if torch.is_grad_enabled() and x.requires_grad:
            raise ValueError(
                f"{name} requires grad, but compiled_odeint is for inference only (no "
                "gradient flows through it); use ne.odeint or ne.odeint_adjoint to get "
                f"gradients, or pass {name}.detach()"
            )


def compiled_odeint(
    func, z0, t, *, method="dopri5", rtol=1e-7, atol=1e-9, step_size=None, max_num_steps=None,
    stats=None,
):  # fmt: skip
    """``ne.odeint`` with each step compiled by ``torch.compile``: same arguments, same result.

    Opt-in, for fast inference at small batch (see the module docstring: the first solve
    of a new problem compiles for tens of seconds). Same arguments and validation as
    ``ne.odeint``, restricted to the adaptive explicit methods (``"dopri5"``, ``"tsit5"``,
    ``"bosh3"``, or an embedded ``ButcherTableau``). It takes the steps ``ne.odeint``
    takes, up to rounding: the compiled arithmetic rounds differently, so a step whose
    error ratio is within rounding of 1 may be accepted by one and rejected by the other;
    the two then agree to the tolerance, not bit for bit. Output times are read off the
    step containing them by the tableau's dense output (cubic Hermite for bosh3).

    func must be traceable by ``torch.compile`` (an ``nn.Module`` or a function of tensor
    operations; data-dependent Python control flow causes graph breaks: slower, still
    correct). The solve runs under ``torch.no_grad()``: no gradients (z0 or t requiring
    grad is a ValueError).

    Returns:
        Tensor ``[len(t), *z0.shape]``; ``[i]`` is z(t[i]).

    Raises:
        TypeError / ValueError: bad arguments, as ``ne.odeint``; a fixed-grid or implicit
            method; z0 or t requiring grad.
        SolverError: step-size underflow, more than max_num_steps, non-finite state.
    """
    t, times, opts, stats = prepare(
        func, z0, t, method, rtol, atol, step_size, max_num_steps, stats
    )
    tab = opts.tab
    if tab.implicit or not tab.adaptive:
        raise ValueError(
            "method must be an adaptive explicit method (dopri5, tsit5, bosh3 or a "
            f"ButcherTableau with b_err) for compiled_odeint, got {tab.name!r}; "
            "use ne.odeint for fixed-grid and implicit methods"
        )
    check_no_grad(z0, t)
    with torch.no_grad():
        ys = _solve(func, z0, t, times, opts, stats)
    return torch.stack(ys).view(len(times), *z0.shape)


class CompiledStep:
    """The step strategy of ``integrate.adaptive`` (see ``integrate.EagerStep``) that runs
    each attempted step as one compiled call of ``compile_step``.

    The loop works on the flat state y [N]; the compiled step sees z's shape (func's
    convention), and the views between the two are free. Evaluations inside the compiled
    step bypass ``FlatFunc``, so they are counted here.
    """

    def __init__(self, f, tab, coef, clock, y0, k1, opts, norm_blocks, *, func, shape):
        self.f, self.clock, self.shape, self.stats = f, clock, shape, f.stats
        self.fsal, self.rtol, self.atol = tab.fsal, opts.rtol, opts.atol
        self.dtype, self.device = y0.dtype, y0.device
        self.on_cuda = y0.device.type == "cuda"
        self.evals_per_step = tab.n_stages - 1 if tab.fsal else tab.n_stages
        try:
            self.step = compile_step(func, tab, y0.device.type)
        except TypeError:  # an unhashable func cannot be kept: a new wrapper, each solve
            self.step = compile_step.__wrapped__(func, tab, y0.device.type)
        self.k_last = None

    def attempt(self, t, dt, y, h, k1):
        """A step of size h from y at time t: (y1, stages K_T, error ratio)."""
        ctrl = torch.tensor([t, h, self.rtol, self.atol], dtype=self.dtype, device=self.device)
        if self.on_cuda:  # a new CUDA-graph replay; its outputs overwrite the previous one's
            torch.compiler.cudagraph_mark_step_begin()
        z1, self.k_last, K_T, ratio = self.step(ctrl, y.view(self.shape), k1.view(self.shape))
        self.stats.nfe += self.evals_per_step
        return z1.reshape(-1), K_T, ratio.item()  # the one host synchronisation per step

    def accept(self, dt_new, y1, K_T):
        """(y1, f(t_new, y1)) for an accepted step; FSAL: the last stage already."""
        k_last = self.k_last.reshape(-1)
        if self.on_cuda:  # keep them past the next replay
            y1, k_last = y1.clone(), k_last.clone()
        return y1, k_last if self.fsal else self.f(self.clock(dt_new), y1)


def _solve(func, z0, t, times, opts, stats):
    """``integrate.adaptive`` with ``CompiledStep``: the outputs' states, flat."""
    f = FlatFunc(func, z0.shape, stats)  # eager: checks func's result once, counts nfe

    def strategy(*args):
        return CompiledStep(*args, func=func, shape=z0.shape)

    ys, _ = adaptive(
        f, z0.reshape(-1), t[0], times[0], [times[-1]], opts, stats, outputs=(times, t),
        strategy=strategy,
    )  # fmt: skip
    return ys
