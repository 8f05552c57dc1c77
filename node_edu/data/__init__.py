"""Data sets the lessons use, all made locally (no downloads).

* ``spiral``: lesson 06's spiral dz/dt = A_true z^3 and its random sub-trajectories;
* ``limits``: lesson 08's 1-D reflection and 2-D concentric circles;
* ``series``: lesson 09's irregularly sampled damped oscillations;
* ``moons``: two moons, lesson 00's two classes (and samples to fit a CNF to).
"""

from node_edu.data.limits import circles, reflection, ring
from node_edu.data.moons import labelled_moons, two_moons
from node_edu.data.series import IrregularSeries, damped_oscillations
from node_edu.data.spiral import A_TRUE, Trajectory, batch, spiral

__all__ = [
    "A_TRUE",
    "IrregularSeries",
    "Trajectory",
    "batch",
    "circles",
    "damped_oscillations",
    "labelled_moons",
    "reflection",
    "ring",
    "spiral",
    "two_moons",
]
