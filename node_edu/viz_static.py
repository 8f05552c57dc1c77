"""A dashboard as static HTML, for the course's book: a web page with no kernel behind it.

A ``FigureWidget`` draws only while a kernel runs; a page built from the executed lessons has
none, and shows a widget's output as nothing. So while the book is built (the environment
variable ``NODE_EDU_STATIC_FIGURES=1``, which the book's build sets), every panel that is
displayed also carries a ``text/html`` copy of itself: each figure as a plotly div (still
interactive: zoom, pan, hover), each control drawn in its state, disabled, and one line that
says how to move the controls for real. The book picks that copy; JupyterLab keeps showing
the live widget, which it ranks first.

The copy is made when the cell that displays the panel ends (a cell that displays a figure
and then trains the model into it shows the trained figure), through IPython's display
update. Outside the book's build nothing changes: JupyterLab would re-create a widget's view
on such an update, and every display message would carry each figure twice.

The page must load plotly.js itself (``window.Plotly``): the divs do not include it.
"""

import html
import itertools
import math
import os

import ipywidgets as W
import plotly.graph_objects as go
import plotly.io as pio

ENV = "NODE_EDU_STATIC_FIGURES"
CSS_CLASS = "ne-static"
NOTE = (
    "A static copy of a live dashboard: the figure answers zoom and hover, the controls "
    "show the values this page was built with. To move them, open the lesson live with the "
    "launch button (the rocket) at the top of the page."
)

# The controls _render draws (disabled, in their state); a panel with one gets the NOTE.
CONTROLS = (
    W.widgets.widget_selection._Selection,
    W.widgets.widget_int._Int,
    W.widgets.widget_float._Float,
    W.Checkbox,
    W.Button,
)

_counter = itertools.count()
_waiting = []  # (display handle, panel, prefix, html shown) until the cell ends
_hooked = []  # the IPython shells whose post_run_cell event we listen to


def enabled():
    """True while the book is built: ``NODE_EDU_STATIC_FIGURES=1``."""
    return os.environ.get(ENV, "") == "1"


def to_html(widget, prefix="ne-fig"):
    """The static HTML of ``widget`` (a panel, box, figure or control), as a string.

    ``prefix`` names the plotly divs (``prefix-0``, ``prefix-1``, ...): ids must be unique
    on a page, and the same prefix gives the same HTML for the same state.
    """
    figures = itertools.count()
    body = _render(widget, prefix, figures)
    controls = _has_controls(widget)
    note = f'<p class="{CSS_CLASS}-note">{html.escape(NOTE)}</p>' if controls else ""
    return f'<div class="{CSS_CLASS}">{note}{body}</div>'


def display(panel):
    """Show ``panel`` live (the widget view) with its static copy beside it in the same
    output, and refresh the copy when the running cell ends (see the module's docstring)."""
    from IPython import get_ipython
    from IPython.display import display as ipy_display

    prefix = f"ne-fig-{next(_counter)}"
    static = to_html(panel, prefix)
    bundle = {**panel._repr_mimebundle_(), "text/html": static}
    handle = ipy_display(bundle, raw=True, display_id=True)
    shell = get_ipython()
    if shell is not None and handle is not None:
        if shell not in _hooked:
            shell.events.register("post_run_cell", _refresh)
            _hooked.append(shell)
        _waiting.append((handle, panel, prefix, static))


def _refresh(*_result):
    """At the end of a cell: redraw the copies whose panel changed while the cell ran."""
    waiting = list(_waiting)
    _waiting.clear()
    for handle, panel, prefix, shown in waiting:
        static = to_html(panel, prefix)
        if static != shown:
            handle.update({**panel._repr_mimebundle_(), "text/html": static}, raw=True)


def _render(widget, prefix, figures):
    if isinstance(widget, go.FigureWidget):
        return _figure(widget, f"{prefix}-{next(figures)}")
    if isinstance(widget, W.Box):
        kind = "row" if isinstance(widget, W.HBox) else "column"
        inner = "".join(_render(child, prefix, figures) for child in widget.children)
        return f'<div class="{CSS_CLASS}-{kind}">{inner}</div>' if inner else ""
    if isinstance(widget, (W.HTML, W.HTMLMath)):
        return f'<div class="{CSS_CLASS}-html">{widget.value}</div>' if widget.value else ""
    if isinstance(widget, W.Label):
        return f'<div class="{CSS_CLASS}-html">{html.escape(str(widget.value))}</div>'
    if isinstance(widget, W.widgets.widget_selection._Selection):
        return _selection(widget)
    if isinstance(widget, (W.widgets.widget_int._Int, W.widgets.widget_float._Float)):
        return _number(widget)
    if isinstance(widget, W.Checkbox):
        checked = " checked" if widget.value else ""
        label = html.escape(widget.description)
        return _control(f'<label><input type="checkbox" disabled{checked}> {label}</label>')
    if isinstance(widget, W.Button):
        return _control(f"<button disabled>{html.escape(widget.description)}</button>")
    return ""  # layout helpers (FitWidth), outputs: nothing to show


def _figure(fig, div_id):
    """One figure as a plotly div that follows its box's width (like the live one)."""
    height = fig.layout.height or 450
    title = fig.layout.title.text or "figure"
    div = pio.to_html(
        fig,
        include_plotlyjs=False,
        full_html=False,
        div_id=div_id,
        default_width="100%",
        default_height=f"{height}px",
        config={"responsive": True, "displaylogo": False},
        validate=False,
    )
    label = html.escape(f"Interactive figure: {title}", quote=True)
    return f'<div class="{CSS_CLASS}-figure" role="figure" aria-label="{label}">{div}</div>'


def _number(widget):
    """A slider (or number box) in its state: a disabled range input and its readout."""
    value = widget.value
    fmt = getattr(widget, "readout_format", None)
    try:
        readout = format(value, fmt) if fmt else str(value)
    except (TypeError, ValueError):  # a d3 format Python does not know
        readout = str(value)
    if isinstance(widget, W.FloatLogSlider):  # the bar moves in log10(value)
        lo, hi = widget.min, widget.max
        position = math.log10(value) / math.log10(widget.base)
    else:
        lo, hi, position = getattr(widget, "min", value), getattr(widget, "max", value), value
    bar = f'<input type="range" disabled min="{lo}" max="{hi}" step="any" value="{position}">'
    return _labelled(widget, bar, readout)


def _selection(widget):
    """A dropdown, toggle buttons or selection slider in its state: a disabled select."""
    labels = [str(label) for label in widget._options_labels]
    chosen = widget.index
    options = "".join(
        f"<option{' selected' if i == chosen else ''}>{html.escape(label)}</option>"
        for i, label in enumerate(labels)
    )
    return _labelled(widget, f"<select disabled>{options}</select>", None)


def _labelled(widget, control, readout):
    """``control`` with its description (or, without one, an accessible name only) and,
    unless None, a readout of its value."""
    value = (
        ""
        if readout is None
        else f' <output class="{CSS_CLASS}-value">{html.escape(readout)}</output>'
    )
    if widget.description:
        name = f'<span class="{CSS_CLASS}-name">{html.escape(widget.description)}</span>'
        return _control(f"<label>{name} {control}</label>{value}")
    label = html.escape(type(widget).__name__, quote=True)
    return _control(control.replace(" disabled", f' disabled aria-label="{label}"', 1) + value)


def _control(inner):
    return f'<div class="{CSS_CLASS}-control">{inner}</div>'


def _has_controls(widget):
    if isinstance(widget, W.Box):
        return any(_has_controls(child) for child in widget.children)
    return isinstance(widget, CONTROLS)
