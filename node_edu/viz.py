"""plotly figure builders the lessons share.

Every builder returns a ``plotly.graph_objects.FigureWidget`` so a widget can update its
traces in place and a test can read them back.

One rule for updates: set a trace's coordinates together, ``fig.data[i].update(x=..., y=...)``
(and x, y with z for a heatmap). A trace created with x but no y (or no z), then given only
y, keeps its x in Python but loses it in the browser, and is drawn against indices; no
headless test sees that (tests/browser/test_lab.py checks the dashboards for it).
"""

import importlib
import importlib.util
import sys


class _DeferredNbformat:
    """Stands in for the nbformat module in plotly's renderers until one is used."""

    def __bool__(self):  # plotly asks "is nbformat installed?" before fig.show()
        return importlib.util.find_spec("nbformat") is not None

    def __getattr__(self, name):
        return getattr(importlib.import_module("nbformat"), name)


def _import_plotly_without_nbformat():
    """Import plotly's renderers without nbformat, which they load as they start.

    The renderers keep nbformat to check its version before ``fig.show()``; nbformat
    imports jsonschema, whose format checkers take seconds to build (rfc3987-syntax
    compiles a grammar), and a FigureWidget needs none of it. So plotly is told nbformat
    is missing while its renderers import, then given a stand-in that imports nbformat on
    first use: ``fig.show()`` works as before. If plotly's internals differ from what this
    expects, nothing is changed and plotly simply imports nbformat.
    """
    if "plotly.io._renderers" in sys.modules or "nbformat" in sys.modules:
        return
    from _plotly_utils import optional_imports

    missing = getattr(optional_imports, "_not_importable", None)
    if not isinstance(missing, set) or "nbformat" in missing:
        return
    missing.add("nbformat")
    try:
        import plotly.io._renderers as renderers
    finally:
        missing.discard("nbformat")
    if getattr(renderers, "nbformat", 0) is None:
        renderers.nbformat = _DeferredNbformat()


_import_plotly_without_nbformat()

import anywidget  # noqa: E402
import ipywidgets as W  # noqa: E402
import plotly.graph_objects as go  # noqa: E402 (after plotly's renderers, above)

from node_edu import viz_static  # noqa: E402

TEMPLATE = "plotly_white"


class FigureWidget(go.FigureWidget):
    """plotly's FigureWidget, as wide as the notebook whatever the window.

    JupyterLab draws an output that is out of view (or not yet placed) at no width, and
    plotly.js then falls back to 700 px: clipped in a narrow window, and never redrawn,
    since plotly's widget listens only to the window being resized. So the figure is
    ``responsive`` (it follows window resizes), ``autosize`` (no fixed width) and shown in a
    ``panel``, whose ``FitWidth`` tells the window it resized when the panel's width
    changed and a figure does not fit it.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._config = {**self._config, "responsive": True}
        if self.layout.autosize is None:  # viz.figure sets it at creation already
            self.layout.autosize = True  # measure the box, not plotly's default 700 px

    def _repr_mimebundle_(self, **kwargs):
        return panel([self])._repr_mimebundle_(**kwargs)

    def _ipython_display_(self):
        if not viz_static.enabled():
            raise NotImplementedError  # IPython then shows _repr_mimebundle_: the widget
        panel([self])._ipython_display_()


class FitWidth(anywidget.AnyWidget):
    """An empty line as wide as its box. When its width changes (the output comes into
    view, the window or a sidebar is resized) and a figure beside it is drawn at another
    width than its box, it sends the window a resize event, which makes every responsive
    plotly figure fit its box again."""

    _esm = """
    export default {
      render({ el }) {
        el.style.width = "100%";
        el.style.height = "0px";
        // Only a figure drawn at another width than its box is re-fitted: a resize event
        // sent while a figure is still being drawn is best avoided.
        const box = () => el.closest(".widget-vbox") ?? el.parentElement;  // its panel
        const misfit = () => [...(box()?.querySelectorAll(".js-plotly-plot") ?? [])]
          .some(g => g._fullLayout && g.clientWidth > 0
                     && Math.abs(g._fullLayout.width - g.clientWidth) > 2);
        let timer = null;
        const check = () => {
          clearTimeout(timer);
          timer = setTimeout(() => {  // once the box has stopped changing
            if (misfit()) window.dispatchEvent(new Event("resize"));
          }, 150);
        };
        const observer = new ResizeObserver(check);  // the box came into view, or resized
        observer.observe(el);
        const drawn = e => {  // plotly's widget announces each figure it has drawn
          if (box()?.contains(e.detail?.element)) check();
        };
        document.addEventListener("plotlywidget-after-render", drawn);
        return () => {
          observer.disconnect();
          document.removeEventListener("plotlywidget-after-render", drawn);
          clearTimeout(timer);
        };
      },
    };
    """


class Panel(W.VBox):
    """A dashboard's box. In JupyterLab it is an ``ipywidgets.VBox``; while the course's
    book is built it also carries a static copy of itself (``viz_static``), since a web
    page has no kernel to draw a widget."""

    def _ipython_display_(self):
        if not viz_static.enabled():
            raise NotImplementedError  # IPython then shows _repr_mimebundle_: the widget
        viz_static.display(self)


def panel(children):
    """A dashboard's box (``Panel``, an ``ipywidgets.VBox``) of ``children``, with a
    ``FitWidth`` last so that its figures fit the notebook's width."""
    return Panel([*children, FitWidth()])


def figure(title, xaxis_title, yaxis_title, *, height=360, log_x=False, log_y=False):
    """An empty FigureWidget with the course's look: title, axis titles, white template."""
    return FigureWidget(
        layout=dict(  # given at creation: the browser gets it with the widget, not after
            autosize=True,
            title=dict(text=title),
            xaxis=dict(title=dict(text=xaxis_title), type="log" if log_x else None),
            yaxis=dict(title=dict(text=yaxis_title), type="log" if log_y else None),
            template=TEMPLATE,
            height=height,
            margin=dict(l=60, r=20, t=50, b=50),
            # The legend stands right of the plot, top-aligned, below the title's band: a
            # legend above the plot grows into the title once it wraps. plotly widens the
            # right margin to fit it.
            legend=dict(orientation="v", x=1.02, xanchor="left", y=1.0, yanchor="top"),
        )
    )


def graph_positions(graph):
    """(x, y) for every node of an ``autodiff.Graph``: x is the node's depth (the longest
    path from an input), y spreads the nodes of equal depth. Returns two lists."""
    depth = [0] * len(graph.nodes)
    for i, j in sorted(graph.edges, key=lambda e: e[1]):  # nodes are in topological order
        depth[j] = max(depth[j], depth[i] + 1)
    xs, ys, seen = [], [], {}
    for d in depth:
        seen[d] = seen.get(d, 0) + 1
    count = dict.fromkeys(seen, 0)
    for d in depth:
        xs.append(float(d))
        ys.append(count[d] - (seen[d] - 1) / 2)  # centred around 0
        count[d] += 1
    return xs, ys


def graph_figure(graph, title="computational graph", *, height=380):
    """A drawing of an ``autodiff.Graph``: trace 0 the edges (lines), trace 1 the nodes
    (markers with text, hover shows the operation). Widgets recolour and relabel trace 1."""
    xs, ys = graph_positions(graph)
    ex, ey = [], []
    for i, j in graph.edges:
        ex += [xs[i], xs[j], None]
        ey += [ys[i], ys[j], None]
    fig = figure(title, "", "", height=height)
    fig.add_scatter(x=ex, y=ey, mode="lines", line=dict(color="#bbbbbb"), hoverinfo="skip")
    fig.add_scatter(
        x=xs,
        y=ys,
        mode="markers+text",
        marker=dict(size=34, color="#dddddd", line=dict(width=1, color="#555555")),
        text=[n.label for n in graph.nodes],
        textposition="bottom center",
        hovertext=[f"{n.label} = {n.op}" for n in graph.nodes],
        hoverinfo="text",
    )
    fig.update_layout(showlegend=False)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig
