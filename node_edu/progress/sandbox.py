"""Running students' code: one process per notebook, as an unprivileged user, with limits.

The report's own process imports torch and node_edu once, then forks a child for each
notebook (so a child starts in milliseconds, not the seconds an import takes). Before it
runs anything of the student's, the child

- leaves the report's process group and closes every file it inherited but one pipe
  (its results) and /dev/null (its input and output);
- moves into a fresh, empty folder holding a copy of the notebook, with an environment
  of its own (HOME and TMPDIR there; nothing of the report's, no tokens);
- when the report runs as root: becomes the unprivileged ``user`` (``nobody`` unless told
  otherwise), with no supplementary groups and no way back (no new privileges);
- may use ``memory`` bytes more than it started with.

The parent reads the child's events (``exercise.py``) and enforces the time limits: an
exercise that runs past its limit (plus a grace period) or a notebook past its own is
stopped with SIGKILL, by process group. A child that dies or is stopped costs only the
exercise it was running: the notebook's other exercises go on in a new child while the
notebook's time lasts.
"""

import contextlib
import functools
import json
import os
import pwd
import selectors
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field

from node_edu.checks import record

from . import exercise as _exercise

GRACE = 10.0  # seconds past an exercise's limit before its process is stopped
MAX_EVENT = 1 << 20  # bytes: an event line is far shorter
STATUSES = (*record.STATUSES, "error")  # a checker's three, and "could not be run"


@dataclass(frozen=True)
class Limits:
    """Seconds per exercise and per notebook; bytes of memory per notebook's process."""

    exercise: float = 60.0
    notebook: float = 300.0
    memory: int = 4 * 2**30


@dataclass(frozen=True)
class User:
    """The account students' code runs as."""

    name: str
    uid: int
    gid: int


def unprivileged(name):
    """The User called ``name``; ValueError if there is none, or it is root."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise ValueError(f"user must be an existing account, got {name!r}") from None
    if entry.pw_uid == 0:
        raise ValueError(f"user must be an unprivileged account, got {name!r} (uid 0)")
    return User(name, entry.pw_uid, entry.pw_gid)


@dataclass
class Job:
    """One notebook to check: its key (for the caller), the notebook, the positions of
    the exercises still to run (in ``notebook.exercises``: a cell copied with its
    metadata makes two exercises with one id), and the seconds the notebook has left."""

    key: object
    notebook: object  # workspaces.Notebook
    left: list
    seconds_left: float
    results: dict = field(default_factory=dict)  # position -> (status, message)


# Standard modules that do something when imported (print, open a browser or a window).
NOT_PRELOADED = {"antigravity", "this", "__hello__", "__phello__", "idlelib", "tkinter", "turtle"}


def preload(imports=()):
    """Import, once, what the lessons import, so that each forked child has it already
    (the unprivileged user may not be allowed to read Python's own files).

    ``imports`` are the notebooks' import statements (source text). Of those, only modules
    of the standard library (but NOT_PRELOADED) and of the packages node_edu depends on
    are imported here, with the report's rights: a student's notebook can name modules
    but never run code of its own in this process.
    """
    import importlib
    import pkgutil

    import node_edu

    # torch's forward mode (torch.func.jvp) compiles its decompositions on first use,
    # reading Python's own sources, which the unprivileged user may not be allowed to read.
    names = ["torch", "torch.func", "torch._dynamo", "torch._decomp.decompositions_for_jvp"]
    # SymPy imports these on first use, inside LinearODE's exact answers (the oracle of lesson
    # 05's adjoint_sweep checker): found by running the report where nobody may read Python.
    names += ["numpy", "sympy", "sympy.tensor.tensor", "sympy.sets.setexpr", "IPython.display"]
    names += [
        m.name
        for m in pkgutil.walk_packages(node_edu.__path__, "node_edu.")
        if not m.name.startswith("node_edu.progress")
    ]
    names += [name for source in imports for name in imported(source) if preloadable(name)]
    for name in dict.fromkeys(names):
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def imported(source):
    """The absolute module names the import statements of ``source`` name."""
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    names = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def preloadable(name):
    """Whether ``name`` is a module of the standard library or of a package that node_edu
    depends on (never a ``__main__``, nor a single-file module outside the standard
    library, which may be a script)."""
    import sys

    parts = name.split(".")
    if "__main__" in parts or not all(p.isidentifier() for p in parts):
        return False
    if parts[0] in sys.stdlib_module_names:
        return parts[0] not in NOT_PRELOADED
    return parts[0] in _dependency_packages()


@functools.cache
def _dependency_packages():
    """The top-level packages of node_edu and of the distributions it requires."""
    import importlib.util
    import re
    from importlib import metadata

    def canonical(name):  # "scikit-learn", "Scikit_Learn" -> "scikit-learn"
        return re.sub(r"[-_.]+", "-", name).lower()

    try:
        required = metadata.requires("node_edu") or []
    except metadata.PackageNotFoundError:
        required = []
    # Unconditional requirements only ("name>=1.0"; not "name ; extra == 'test'").
    wanted = {canonical(re.match(r"[A-Za-z0-9._-]+", r).group()) for r in required if ";" not in r}
    tops = {"node_edu"}
    for top, dists in metadata.packages_distributions().items():
        if any(canonical(d) in wanted for d in dists):
            with contextlib.suppress(Exception):
                spec = importlib.util.find_spec(top)
                if spec is not None and spec.submodule_search_locations is not None:
                    tops.add(top)
    return frozenset(tops)


def run(jobs, limits, user, workers, on_done=None):
    """Check every Job, ``workers`` processes at a time; returns {key: {position: (status,
    message)}}. ``user`` None runs the code as the report's own user; ``on_done(key)`` is
    called as each notebook is finished."""
    pending, running, done = list(jobs), {}, {}
    selector = selectors.DefaultSelector()
    try:
        while pending or running:
            while pending and len(running) < workers:
                child = _Child(pending.pop(0), limits, user)
                running[child.fd] = child
                selector.register(child.fd, selectors.EVENT_READ, child)
            now = time.monotonic()
            wait = min(c.deadline() for c in running.values()) - now
            for key, _ in selector.select(max(wait, 0.0)):
                key.data.read()
            now = time.monotonic()
            for fd, child in list(running.items()):
                if child.eof or now > child.deadline():
                    selector.unregister(fd)
                    del running[fd]
                    follow = child.finish(now)
                    if follow is not None:
                        pending.append(follow)
                    else:
                        done[child.job.key] = child.job.results
                        if on_done is not None:
                            on_done(child.job.key)
    finally:
        for child in running.values():
            child.stop()
        selector.close()
    return done


class _Child:
    """One forked process checking (the rest of) one notebook."""

    def __init__(self, job, limits, user):
        self.job, self.limits, self.eof = job, limits, False
        self.buffer, self.current = b"", None
        self.started = self.exercise_started = time.monotonic()
        self.folder = tempfile.mkdtemp(prefix="node_edu_progress_")
        copy = os.path.join(self.folder, "notebook.ipynb")
        with open(copy, "wb") as f:
            f.write(job.notebook.data)
        if user is not None:
            os.chown(self.folder, user.uid, user.gid)
            os.chown(copy, user.uid, user.gid)
        read_end, write_end = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            os.close(read_end)
            _child_main(write_end, self.folder, job, limits, user)
        os.close(write_end)
        self.fd = read_end

    def deadline(self):
        if self.eof:
            return time.monotonic()
        notebook = self.started + self.job.seconds_left
        exercise = self.exercise_started + self.limits.exercise + GRACE
        return min(notebook, exercise)

    def read(self):
        data = os.read(self.fd, 1 << 16)
        if not data:
            self.eof = True
            return
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        self.buffer = self.buffer[-MAX_EVENT:]  # a line that long is not one of ours
        for line in lines:
            with contextlib.suppress(ValueError):
                self._event(json.loads(line))

    def _event(self, event):
        """Take one event from the child; anything malformed is ignored."""
        results = self.job.results
        if not isinstance(event, dict):
            return
        if event.get("start") in self.job.left:
            self.current, self.exercise_started = event["start"], time.monotonic()
        elif event.get("result") in self.job.left:
            state, message = event.get("status"), event.get("message")
            if state in STATUSES and isinstance(message, str):
                results[event["result"]] = (state, message)
            self.current = None
        elif isinstance(event.get("imports_failed"), str):
            why = f"the lesson's imports failed: {event['imports_failed']}"
            for i in self.job.left:
                results.setdefault(i, ("error", why))

    def finish(self, now):
        """Reap the process; the Job for the exercises it left unchecked, or None."""
        timed_out = not self.eof
        self.stop()
        job, results = self.job, self.job.results
        left = [i for i in job.left if i not in results]
        if not left:
            return None
        spent = now - self.started
        notebook_over = spent >= job.seconds_left
        stuck = left[0] if self.current is None else self.current
        if timed_out and notebook_over:
            why = f"the notebook's time limit ({self.limits.notebook:g} s) ran out"
        elif timed_out:
            why = (
                f"stopped after {self.limits.exercise + GRACE:g} s: the code neither returned "
                "nor let its time limit stop it"
            )
        else:
            why = f"the process checking it ended unexpectedly ({self.exit_reason})"
        if self.current is not None or not timed_out or not notebook_over:
            results[stuck] = ("error", why)
        left = [i for i in left if i not in results]
        if notebook_over or not left:
            for i in left:
                results[i] = ("error", f"not run: {why}")
            return None
        return Job(job.key, job.notebook, left, job.seconds_left - spent, results)

    def stop(self):
        """Kill the process and its group, reap it, remove its folder (idempotent)."""
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        _, code = os.waitpid(self.pid, 0)
        if os.WIFSIGNALED(code):
            self.exit_reason = f"killed by signal {os.WTERMSIG(code)}"
        else:
            self.exit_reason = f"exit status {os.WEXITSTATUS(code)}"
        self.pid = None
        os.close(self.fd)
        shutil.rmtree(self.folder, ignore_errors=True)


def _child_main(results_fd, folder, job, limits, user):
    """In the forked child: give up the report's rights, check the notebook, exit."""
    try:
        os.setsid()  # a process group of its own, which the parent can kill whole
        os.dup2(results_fd, 3)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(4, os.sysconf("SC_OPEN_MAX"))
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        os.chdir(folder)
        if user is not None:
            os.setgroups([])
            os.setgid(user.gid)
            os.setuid(user.uid)
            _no_new_privileges()
        _limit_memory(limits.memory)
        os.environ.clear()
        os.environ.update(
            PATH="/usr/local/bin:/usr/bin:/bin",
            HOME=folder,
            TMPDIR=folder,
            LANG="C.UTF-8",
            OMP_NUM_THREADS="1",
            NODE_EDU_RECORD="",  # the student's own record is not the report's to write
        )
        tempfile.tempdir = folder
        import torch

        torch.set_num_threads(1)

        def emit(event):
            os.write(3, json.dumps(event).encode() + b"\n")

        exercises = [(i, job.notebook.exercises[i]) for i in job.left]
        _exercise.check_notebook(job.notebook.imports, exercises, limits.exercise, emit)
    finally:
        os._exit(0)


def _no_new_privileges():
    """Linux: no setuid program (sudo, su) can give this process more rights again."""
    with contextlib.suppress(Exception):
        import ctypes

        PR_SET_NO_NEW_PRIVS = 38
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def _limit_memory(extra):
    """At most ``extra`` bytes of address space beyond what the process has now."""
    with contextlib.suppress(Exception):
        import resource

        with open("/proc/self/statm") as f:
            now = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (now + extra, now + extra))
