"""The benchmark code runs, and its two solvers agree (a smoke test, not a timing test:
speed is judged by `make bench`, never by the test suite)."""

import math

import pytest
import torch
import torchdiffeq

import node_edu as ne
from benchmarks import backward, overhead
from benchmarks.problems import Counted, SpiralMLP, initial_state, times


def test_overhead_measurement_runs_and_counts_evaluations():
    r = overhead.measure(batch=1, repeats=1)
    assert r["ours_nfe"] > 0 and r["td_nfe"] > 0
    for key in ("bare_us", "ours_ratio", "td_ratio", "floor_ratio"):
        assert math.isfinite(r[key]) and r[key] > 0, key


def test_arithmetic_only_replay_does_a_real_solve():
    """The overhead floor replays our steps: it must land where torchdiffeq does (so it
    times the work of a solve, not less), and count the evaluations it really makes (one
    per dopri5 stage after the first, the first of a step reused)."""
    func, z0, t = SpiralMLP(), initial_state(64), times(10)
    stats, counted = ne.SolverStats(record_steps=True), Counted(func)
    with torch.no_grad():
        ne.odeint(func, z0, t, rtol=overhead.RTOL, atol=overhead.ATOL, stats=stats)
        z1, nfe = overhead.replay(counted, z0, stats.steps)
        reference = torchdiffeq.odeint(func, z0, t, rtol=1e-9, atol=1e-11)[-1]
    assert nfe == counted.calls == 1 + 6 * stats.n_accepted
    assert (z1 - reference).abs().max() < 1e-3 * reference.abs().max()
    # Leaving out the last step would be caught.
    z_short, _ = overhead.replay(func, z0, stats.steps[:-1])
    assert (z_short - reference).abs().max() > 1e-2 * reference.abs().max()


def test_backward_benchmark_compares_like_with_like():
    """Our adjoint and torchdiffeq's give the same gradients on the benchmark problem,
    and both are close to the float64 reference the benchmark measures errors against."""
    kw = dict(batch=4, n_times=3, rtol=1e-6, atol=1e-8, device="cpu", seed=0)
    f_ours, b_ours, g_ours = backward.one_run("ours", **kw)
    f_td, b_td, g_td = backward.one_run("torchdiffeq", **kw)
    assert min(f_ours, b_ours, f_td, b_td) > 0
    reference = backward.reference_gradients(4, 3, "cpu", 0)
    assert backward.relative_error(g_ours, reference) < 1e-4
    assert backward.relative_error(g_td, reference) < 1e-4
    for a, b in zip(g_ours, g_td, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)


def test_training_benchmark_runs_both_libraries():
    from benchmarks import training

    text, raw = training.run(n_iters=3, repeats=1, with_ablation=False)
    assert raw["ours_s"] > 0 and raw["td_s"] > 0 and "seconds per evaluation" in text
    # the same loop and data: both libraries reach the same model (their dopri5 differ only
    # in rounding and step-size details), so the whole-trajectory errors agree closely
    assert abs(raw["ours_error"] - raw["td_error"]) < 0.05 * raw["ours_error"]


def test_training_ablation_changes_one_choice_per_row():
    from benchmarks import training

    rows, raw = training.ablation(n_evals=6)
    assert [r[0] for r in rows] == list(raw) and len(raw) == 5
    assert all(r["evaluations"] >= 1 and r["error"] > 0 for r in raw.values())


def test_agreement_judge_refuses_nan_inf_and_large_differences():
    from benchmarks import compiled

    z = torch.tensor([[1.0, -2.0], [3.0, 4.0]])
    assert compiled.relative_difference(z, z) == 0.0 and compiled.agrees(0.0)
    assert compiled.agrees(compiled.relative_difference(z * (1 + 1e-6), z))
    assert not compiled.agrees(compiled.relative_difference(z * (1 + 1e-3), z))
    for bad in (float("nan"), float("inf")):
        broken = z.clone()
        broken[0, 1] = bad
        assert math.isnan(compiled.relative_difference(broken, z))
        assert math.isnan(compiled.relative_difference(z, broken))
        assert not compiled.agrees(compiled.relative_difference(broken, z))


def test_diffrax_solves_the_benchmark_problem_as_torchdiffeq_does():
    """diffrax (optional: skipped where it is not installed) solves the same problem: its
    answer matches torchdiffeq's at the same tolerances and a float64 reference, and not
    torchdiffeq's at a looser tolerance (the agreement check can fail)."""
    pytest.importorskip("diffrax")
    import numpy as np

    from benchmarks import compiled

    func, z0, t = SpiralMLP(), initial_state(3), times(4)
    ys, stats = compiled.diffrax_solver(func, z0, t)()
    z_diffrax = torch.from_numpy(np.array(ys))
    with torch.no_grad():
        z_td = torchdiffeq.odeint(func, z0, t, rtol=compiled.RTOL, atol=compiled.ATOL)
        z_loose = torchdiffeq.odeint(func, z0, t, rtol=1e-4, atol=1e-6)
    assert z_diffrax.shape == z_td.shape == (4, 3, 2) and z_diffrax.dtype == torch.float32
    assert compiled.agrees(compiled.relative_difference(z_diffrax, z_td))
    assert compiled.agrees(
        compiled.relative_difference(z_diffrax, compiled.reference_solution(z0, t))
    )
    assert not compiled.agrees(compiled.relative_difference(z_loose, z_td))
    # Each Dopri5 step, kept or rejected, evaluates six new stages (the first is reused).
    steps = int(stats["num_accepted_steps"]) + int(stats["num_rejected_steps"])
    assert steps > 0 and compiled.diffrax_nfe(func, z0, t) >= 6 * steps


def test_cold_compile_times_start_from_an_empty_inductor_cache():
    """The compiled benchmark's 'cold' compile time is timed in a new, empty cache folder;
    the folder the process used before is back afterwards."""
    import os

    from torch._inductor.runtime.cache_dir_utils import cache_dir

    from benchmarks import compiled

    before = cache_dir()
    with compiled.empty_inductor_cache():
        inside = os.environ["TORCHINDUCTOR_CACHE_DIR"]
        assert inside != before and os.listdir(inside) == []
        assert cache_dir() == inside  # where Inductor writes while it lasts
    assert cache_dir() == before
