"""node_edu.cnf: continuous normalizing flows (lesson 07).

    from node_edu.cnf import CNF, PlanarCNF, U2
    cnf = CNF(PlanarCNF(dim=2, width=8), t0=0.0, t1=1.0, trace="exact")
    x, logq = cnf.sample(torch.randn(256, 2))     # forward t0 -> t1: samples and log q(x)
    logq_again = cnf.log_prob(x)                   # backward t1 -> t0: the same numbers
    losses = fit_energy(cnf, U2, n_iters=100)      # density matching (reverse KL)

Sign convention (details in ``flow.py``): base N(0, I) at t0, data at t1, and
d logp/dt = -tr(df/dz) along every trajectory (Chen et al. 2018, Theorem 1).

Modules: ``trace`` (exact and Hutchinson trace estimators), ``flow`` (the CNF),
``planar`` (planar CNF with a gated hypernetwork of t), ``energies`` (U1..U4 of Rezende &
Mohamed 2015, grids), ``train`` (reverse-KL and maximum-likelihood loops), ``scale``
(the traces' cost as the dimension grows; samples of a target, KLs and effective sample
size to judge a fit).
"""

from node_edu.cnf.energies import ENERGIES, U1, U2, U3, U4, grid, target_density
from node_edu.cnf.flow import CNF, TRACES, standard_normal_log_prob
from node_edu.cnf.planar import GatedHyperNet, PlanarCNF
from node_edu.cnf.scale import (
    MLPField,
    count_vjps,
    effective_sample_size,
    grid_kls,
    sample_energy,
    trace_scaling,
)
from node_edu.cnf.trace import (
    NOISES,
    hutchinson_variance,
    sample_noise,
    trace_exact,
    trace_hutchinson,
)
from node_edu.cnf.train import fit_energy, fit_samples, reverse_kl

__all__ = [
    "CNF",
    "ENERGIES",
    "NOISES",
    "TRACES",
    "U1",
    "U2",
    "U3",
    "U4",
    "GatedHyperNet",
    "MLPField",
    "count_vjps",
    "effective_sample_size",
    "grid_kls",
    "sample_energy",
    "trace_scaling",
    "PlanarCNF",
    "fit_energy",
    "fit_samples",
    "grid",
    "hutchinson_variance",
    "reverse_kl",
    "sample_noise",
    "standard_normal_log_prob",
    "target_density",
    "trace_exact",
    "trace_hutchinson",
]
