"""Benchmarks: node_edu's solvers side by side with torchdiffeq, on the same machine, in
the same process (memory in subprocesses). Run ``python -m benchmarks`` (``make bench``);
it installs nothing, prints ratio tables with the raw figures and writes RESULTS.md.

Modules: ``problems`` (the spiral MLP, timers), ``overhead`` (target 1), ``backward``
(targets 2 and 3), ``memory`` (target 4), ``adjoint_accuracy`` (gradient error of each
adjoint variant against backprop through a tight float64 solve).
"""
