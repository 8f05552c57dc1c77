"""The named linear systems dz/dt = A z the linear-oracle tests share."""

# Named systems covering every kind of spectrum the issue lists.
SYSTEMS = {
    "rotation": [[0, -1], [1, 0]],
    "jordan": [[1, 1], [0, 1]],
    "distinct": [[1, 2], [3, -1]],
    "singular": [[1, 2], [2, 4]],
    "zero": [[0, 0], [0, 0]],
    "scalar": [[-2]],
    "spiral": [[-0.1, 2], [-2, -0.1]],
    "jordan3": [[2, 1, 0], [0, 2, 1], [0, 0, 2]],
    "rotation3": [[0, -1, 0], [1, 0, 0], [0, 0, -1]],
}
