"""``compiled_odeint``: an OPT-IN compiled adaptive solver, for inference speed.

``ne.odeint`` (the default, and what the lessons use) runs every step as a dozen small
PyTorch operations, each of which costs a few microseconds of Python and dispatch however
small the tensors are. Here ``torch.compile`` turns ONE WHOLE STEP - every stage's call
of ``func``, the stage sums, the new state and the error norm - into a single compiled
function (fused C++ loops on a CPU; on CUDA also replayed as a CUDA graph, mode
``"reduce-overhead"``). The accept/reject loop stays in Python, exactly as in
``integrate._adaptive``: the only host synchronisation per step is the ``.item()`` that
reads the error ratio, which decides whether the step is kept.

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

from node_edu.solvers.integrate import (
    DEFAULT_MAX_NUM_STEPS,
    _first_outputs,
    _too_many_steps,
    judge_step,
    step_to_try,
)
from node_edu.solvers.odeint import FlatFunc, prepare
from node_edu.solvers.rk import (
    Clock,
    coefficients,
    dense_output,
    hermite,
    initial_step_size,
    next_step_size,
)


def make_step(func, tab):
    """One step of the tableau ``tab`` as a plain function, ready for ``torch.compile``.

    ``step(ctrl, z, k1) -> (z1, k_last, K_T, ratio)``: ``ctrl`` = [t, h, rtol, atol] as a
    1-D tensor (tensors, not Python floats, so new values do not trigger a recompile),
    ``z`` the state (z0's shape), ``k1 = func(t, z)``. Returns the new state ``z1``, the
    last stage, the stages as the columns of ``K_T`` [N, s] (for dense output) and the
    0-dim error ratio: the RMS of local error / (atol + rtol max(|z|, |z1|)), as in
    ``rk.error_ratio``. The tableau's numbers are Python constants, folded in by the compiler.
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
    return torch.stack(ys)


def _solve(func, z0, t, times, opts, stats):
    """The accept/reject loop of ``integrate._adaptive`` (the same step-size rules, so
    the same steps up to rounding), with one compiled call per attempted step. Returns
    the outputs' states."""
    tab, shape = opts.tab, z0.shape
    coef = coefficients(tab, z0.dtype, z0.device)
    on_cuda = z0.device.type == "cuda"
    try:
        step = compile_step(func, tab, z0.device.type)
    except TypeError:  # an unhashable func cannot be kept: a new wrapper, each solve
        step = compile_step.__wrapped__(func, tab, z0.device.type)
    f = FlatFunc(func, shape, stats)  # eager: checks func's result once, counts nfe
    t_start, t_end = times[0], times[-1]
    direction = 1.0 if t_end > t_start else -1.0
    max_steps = opts.max_num_steps or DEFAULT_MAX_NUM_STEPS
    tiny = 8 * torch.finfo(z0.dtype).eps
    results, j = _first_outputs((times, t), t_start, z0)
    evals_per_step = tab.n_stages - 1 if tab.fsal else tab.n_stages

    clock = Clock(t[0], t_start)
    y0 = z0.reshape(-1)
    k1 = f(clock(0.0), y0)
    if opts.step_size is not None:
        h = direction * min(opts.step_size, abs(t_end - t_start))
    else:
        h = initial_step_size(
            f, clock, y0, k1, tab.order, opts.rtol, opts.atol, direction,
            abs(t_end - t_start), None,
        )  # fmt: skip
    tz, z, k1 = t_start, z0, k1.view(shape)
    n_steps, blew_up = 0, False
    while tz != t_end:
        h_step, clipped = step_to_try(tz, h, t_end, tiny, blew_up)
        n_steps += 1
        if n_steps > max_steps:
            raise _too_many_steps(max_steps, tz, opts)
        ctrl = torch.tensor([tz, h_step, opts.rtol, opts.atol], dtype=z0.dtype, device=z0.device)
        if on_cuda:  # a new CUDA-graph replay; its outputs overwrite the previous replay's
            torch.compiler.cudagraph_mark_step_begin()
        z1, k_last, K_T, ratio_t = step(ctrl, z, k1)
        stats.nfe += evals_per_step
        ratio = ratio_t.item()  # the one host synchronisation per step
        retry, blew_up = judge_step(ratio, h_step, tab.order, stats)
        if retry is not None:  # rejected: try again with a smaller step
            h = retry
            continue
        t_new = t_end if clipped else tz + h_step
        if on_cuda:  # keep them past the next replay
            z1, k_last = z1.clone(), k_last.clone()
        k_end = k_last if tab.fsal else f(clock(t_new - t_start), z1.reshape(-1)).view(shape)
        while j < len(results) and direction * (times[j] - t_new) <= 0:
            theta = (times[j] - tz) / h_step
            if tab.dense is not None:
                results[j] = dense_output(coef, z.reshape(-1), K_T, h_step, theta, tab).view(shape)
            else:
                results[j] = hermite(z, z1, k1, k_end, h_step, theta)
            j += 1
        h_next = next_step_size(h_step, ratio, tab.order)
        if clipped:  # a step shortened to hit the end says little about the next one
            h_next = direction * max(abs(h_next), abs(h))
        tz, z, h, k1 = t_new, z1, h_next, k_end
    return results
