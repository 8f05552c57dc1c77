"""Step-size control: how an adaptive solver judges a step and sizes the next one.

An attempted step of size h comes with an embedded error estimate; ``error_ratio``
measures it against the tolerances (a ratio <= 1 meets them). ``judge_step`` accepts or
rejects the step, ``next_step_size`` sizes the next attempt from the ratio, and
``initial_step_size`` guesses the very first one. ``step_to_try`` clips a step to land on
a stop and raises ``SolverError`` when the step has shrunk to nothing. The rules are those
of Hairer, Norsett & Wanner, Solving ODEs I, section II.4; the loop that applies them is
``integrate.adaptive``.
"""

import math

import torch

from node_edu.errors import SolverError

# h_new = h * clamp(SAFETY * r^(-1/q), MIN_FACTOR, MAX_FACTOR), with r the error ratio and
# q = (order of the error estimate) + 1, the tableau's ``order``.
SAFETY, MIN_FACTOR, MAX_FACTOR = 0.9, 0.2, 10.0
DEFAULT_MAX_NUM_STEPS = 100_000  # stops a runaway (e.g. stiff) solve
# A step may stretch by up to 1% to land on a stop instead of leaving a sliver behind.
STRETCH = 1.01


def rms_norm(x):
    """Root mean square of x, as a Python float."""
    return torch.linalg.vector_norm(x).item() / math.sqrt(x.numel())


def error_ratio(K_T, coef, h, y0, y1, rtol, atol, blocks=None):
    """||local error estimate / (atol + rtol max(|y0|, |y1|))||, as a Python float.

    K_T [N, s]: the step's stages as columns; ``coef["b_err"]`` [s]: the weights of the
    error estimate (see ``rk.coefficients``). Ratios <= 1 mean the step meets the
    tolerance. ``blocks=None``: the RMS over the whole state. Otherwise a list of block
    lengths covering the first ``sum(blocks)`` entries: the RMS of each block, of which
    the largest counts (a "mixed" norm, as torchdiffeq's for a state made of several
    tensors); entries past the blocks are left out (a "seminorm"). The adjoint uses both
    (Kidger, Chen & Lyons 2021).
    rtol, atol: floats, or (cheaper; the solver loop passes them so) 0-dim tensors of y's
    dtype: an operation given a plain Python number first wraps it into a tensor, which
    on a CPU costs about as much as the operation itself. The result is the same.
    The ``.item()`` here is the one host synchronisation per step that an adaptive solver
    cannot avoid: the next step depends on whether this one is accepted.
    Call it with no autograd graph being recorded (under ``torch.no_grad()``).
    """
    if blocks is not None:
        n_norm = sum(blocks)
        K_T, y0, y1 = K_T[:n_norm], y0[:n_norm], y1[:n_norm]
    err = torch.mv(K_T, coef["b_err"])  # error estimate / h
    scale = torch.maximum(y0.abs(), y1.abs()).mul_(rtol).add_(atol)
    scaled = err.div_(scale)
    if blocks is None or len(blocks) == 1:
        return abs(h) * rms_norm(scaled)
    if all(size == blocks[0] for size in blocks):  # equal blocks: one batched norm
        block_norms = torch.linalg.vector_norm(scaled.view(len(blocks), -1), dim=1)
        return abs(h) * block_norms.max().item() / math.sqrt(blocks[0])
    rms = [torch.linalg.vector_norm(x) / math.sqrt(x.numel()) for x in scaled.split(blocks)]
    return abs(h) * torch.stack(rms).max().item()


def next_step_size(h, ratio, order):
    """Step size to try next, from the error ratio of a step of size h."""
    if ratio == 0.0:
        return h * MAX_FACTOR
    factor = SAFETY * ratio ** (-1.0 / order)
    return h * min(MAX_FACTOR, max(MIN_FACTOR, factor))


@torch.no_grad()
def initial_step_size(f, clock, y0, k1, order, rtol, atol, direction, max_h, n_norm):
    """Hairer, Norsett & Wanner I (II.4, p. 169): a first step from two slopes.

    y0 and k1 = f(t_start, y0) are the state and slope at the clock's t_start; ``n_norm``
    (or None: all) is how many leading entries of y the error norm measures.
    Costs one evaluation of f. Returns a signed step (sign = direction of integration).
    """
    if n_norm is not None:
        y0_n, k1_n = y0[:n_norm], k1[:n_norm]
    else:
        y0_n, k1_n = y0, k1
    scale = y0_n.abs().mul(rtol).add_(atol)
    d0, d1 = rms_norm(y0_n / scale), rms_norm(k1_n / scale)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    h0 = min(h0, max_h)
    k2 = f(clock(direction * h0), y0 + (direction * h0) * k1)
    k2_n = k2[:n_norm] if n_norm is not None else k2
    d2 = rms_norm((k2_n - k1_n) / scale) / h0
    if max(d1, d2) <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / order)
    return direction * min(100 * h0, h1, max_h)


def step_to_try(t, h, t_stop, tiny, blew_up):
    """The step to attempt from t toward t_stop, and whether it was shortened to end there.

    A step within a stretch of the remaining distance takes all of it (no sliver of a step
    is left behind). A step that has shrunk to nothing means the solution blows up, or the
    state went non-finite (``blew_up``): a SolverError with the time reached.
    """
    remaining = t_stop - t
    clipped = abs(remaining) <= abs(h) * STRETCH
    h_step = remaining if clipped else h
    if abs(h_step) <= tiny * max(1.0, abs(t)):
        what = "the state became non-finite (nan/inf)" if blew_up else "step size underflow"
        raise SolverError(
            f"{what} at t={t:.6g} (step {h_step:.3g}). The solution may blow up "
            "near this time; check func, or integrate over a shorter interval."
        )
    return h_step, clipped


def judge_step(ratio, h_step, order, stats):
    """Accept a step whose error ratio is <= 1, else reject it; count it in ``stats``.

    Returns ``(retry, blew_up)``: ``retry`` is None for an accepted step, else the step
    size to try again with; a nan/inf ratio (the state blew up) shrinks the step hardest.
    """
    if ratio <= 1.0:
        stats.n_accepted += 1
        return None, False
    stats.n_rejected += 1  # a nan ratio lands here too
    blew_up = not math.isfinite(ratio)
    return (h_step * MIN_FACTOR if blew_up else next_step_size(h_step, ratio, order)), blew_up


def after_accepted(h_step, ratio, order, clipped, h_planned, direction):
    """The step size to try after an accepted step of size h_step.

    A step shortened to land on a stop says little about the next one: the step planned
    before the shortening (``h_planned``) is kept if it is the larger.
    """
    h_next = next_step_size(h_step, ratio, order)
    if clipped:
        h_next = direction * max(abs(h_next), abs(h_planned))
    return h_next


def too_many_steps(n, t):
    """The SolverError for a solve that needed more than n steps, stopped at t."""
    return SolverError(
        f"more than max_num_steps={n} steps were needed; stopped at t={t:.6g}. "
        "Raise max_num_steps, loosen rtol/atol, or check whether the problem is stiff "
        "(an explicit method then needs tiny steps)."
    )
