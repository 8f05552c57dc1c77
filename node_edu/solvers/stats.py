"""Solver statistics a user (or a lesson) can read after a solve."""

from dataclasses import dataclass, field


@dataclass
class SolverStats:
    """Counters filled by ``odeint`` / ``odeint_adjoint`` when passed as ``stats=``.

    Each solve resets the object and then fills it::

        stats = ne.SolverStats()
        z = ne.odeint(func, z0, t, stats=stats)
        stats.nfe, stats.n_accepted, stats.n_rejected

    nfe:         evaluations of ``func`` (the initial-step search included).
    n_accepted:  steps kept.
    n_rejected:  steps rejected by the error control (always 0 on a fixed grid).
    backward:    for ``odeint_adjoint`` only, a ``SolverStats`` of the backward (adjoint)
                 solve, filled when ``.backward()`` runs; its ``nfe`` counts evaluations
                 of the augmented dynamics (one ``func`` call plus one vector-Jacobian
                 product each).
    drift:       on ``backward`` only: ``drift[i] = max |z_back(t_i) - z_forward(t_i)|``,
                 how far the state recomputed backwards in time has drifted from the
                 forward solution at each output time (0 at t[-1], where it starts;
                 exactly 0 for ``adjoint="checkpoint"``, which never integrates z back).
    record_steps: set it (``SolverStats(record_steps=True)``) and ``odeint`` also fills
                 ``steps``: one ``(t, h, z, rejected_before)`` per accepted step, its start
                 time and size (floats), the state at its start (a detached copy, flat) and
                 how many attempts were rejected just before it. Off by default: copying
                 the state every step costs time and memory.
    """

    nfe: int = 0
    n_accepted: int = 0
    n_rejected: int = 0
    backward: "SolverStats | None" = None
    drift: list = field(default_factory=list)
    record_steps: bool = False
    steps: list = field(default_factory=list)

    @property
    def n_steps(self):
        """Steps attempted: accepted plus rejected."""
        return self.n_accepted + self.n_rejected

    def reset(self):
        self.nfe = self.n_accepted = self.n_rejected = 0
        self.backward = None
        self.drift = []
        self.steps = []

    def record_step(self, t, h, y):
        """The solver's ``on_step`` hook when ``record_steps`` is set (see ``steps``)."""
        rejected_before = self.n_rejected - sum(step[3] for step in self.steps)
        self.steps.append((float(t), float(h), y.detach().clone(), rejected_before))
