"""Where am I? The environment report lesson 00 shows, and the device for training.

Lessons 04, 06, 07, 08 and 09 train or time models and create their tensors and models on
``default_device()``. Lessons 00-03 and 05 stay on the CPU: they work with small exact
examples (float64 numbers, SymPy expressions) where a GPU would bring nothing.
"""

import platform
from importlib import metadata

import torch

PACKAGES = ("torch", "numpy", "sympy", "plotly", "ipywidgets", "anywidget", "jupyterlab")


def default_device():
    """``torch.device("cuda")`` when a GPU is usable, else ``torch.device("cpu")``.

    The lessons that train or time (04, 06-09) pass this to the tensors and models they
    create, never ``.cuda()``, so the same notebook runs on a laptop, a GPU box and Binder.
    """
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def environment():
    """A dict describing this machine: Python, package versions, threads, devices."""
    report = {"python": platform.python_version(), "platform": platform.platform()}
    for name in PACKAGES:
        try:
            report[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            report[name] = "not installed"
    report["torch threads"] = torch.get_num_threads()
    report["device"] = str(default_device())
    if torch.cuda.is_available():
        report["gpu"] = torch.cuda.get_device_name(0)
    return report


def environment_markdown():
    """The environment report as a Markdown table (display with IPython's Markdown)."""
    rows = "\n".join(f"| {k} | {v} |" for k, v in environment().items())
    return "| what | value |\n|---|---|\n" + rows
