"""The benchmark code runs, and its two solvers agree (a smoke test, not a timing test:
speed is judged by `make bench`, never by the test suite)."""

import math

import torch

from benchmarks import backward, overhead


def test_overhead_measurement_runs_and_counts_evaluations():
    r = overhead.measure(batch=1, repeats=1)
    assert r["ours_nfe"] > 0 and r["td_nfe"] > 0
    for key in ("bare_us", "ours_ratio", "td_ratio"):
        assert math.isfinite(r[key]) and r[key] > 0, key


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

    text, raw = training.run(n_iters=2, repeats=1)
    assert raw["ours_s"] > 0 and raw["td_s"] > 0 and "seconds per iteration" in text
