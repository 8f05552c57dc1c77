"""The course's own infrastructure, used by the layers above and by ``make``.

* ``timelimit``: run a function with a wall-clock limit (checkers, SymPy);
* ``workspace``: the student's own copy of the lessons (``make lab``, ``make reset``).
"""
