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

import copy  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import anywidget  # noqa: E402
import ipywidgets as W  # noqa: E402
import plotly  # noqa: E402
import plotly.basewidget  # noqa: E402
import plotly.graph_objects as go  # noqa: E402 (after plotly's renderers, above)
import traitlets  # noqa: E402

from node_edu import viz_static  # noqa: E402

TEMPLATE = "plotly_white"


class PlotlyCode(anywidget.AnyWidget):
    """plotly's widget code (about 5 MB of JavaScript), sent to the browser once per kernel.

    plotly's own FigureWidget carries this code in every figure, and the browser evaluates
    a fresh copy of plotly.js for each one. anywidget gives a widget 2 s from its creation
    to load its code; after that it drops every message the kernel sends the widget (its
    ``ready`` promise has rejected, and each message waits on it). On a busy machine a
    figure created beside a few others missed that deadline and lost its layout and traces:
    drawn with plotly's placeholders ("Click to enter Plot title"), and no longer updated.
    So our FigureWidget loads a small module instead, and the figures of a page share one
    evaluation of this code (see ``FigureWidget``). Never displayed.
    """

    _esm = "export default {};"
    code = traitlets.Unicode().tag(sync=True)
    key = traitlets.Unicode().tag(sync=True)  # names this version of the code in the browser


_PLOTLY_BUNDLE = Path(plotly.basewidget.__file__).parent / "package_data" / "widgetbundle.js"
_plotly_code = None


def plotly_code():
    """The kernel's one ``PlotlyCode`` widget (made again if it was closed)."""
    global _plotly_code
    if _plotly_code is None or _plotly_code.comm is None:
        code = _PLOTLY_BUNDLE.read_text(encoding="utf-8")
        digest = hashlib.sha256(code.encode()).hexdigest()[:16]
        _plotly_code = PlotlyCode(code=code, key=f"plotly {plotly.__version__} {digest}")
    return _plotly_code


# The messages plotly's figure model listens to (``_py2js_relayout``, ...), read from plotly.
_PLOTLY_MESSAGES = sorted(
    name for name in plotly.basewidget.BaseFigureWidget.class_trait_names() if "py2js" in name
)

# A figure's browser side: plotly's own model and view, from the code evaluated once per
# page. initialize() returns at once, so anywidget never gives up on the figure; messages
# that arrive while plotly's code is loading are kept and handed to plotly's model, in
# order, once it exists (plotly reads each message from the model when told it changed).
_FIGURE_ESM = """
const pages = (globalThis[Symbol.for("node_edu.plotly")] ??= new Map());  // key -> module
const MESSAGES = __MESSAGES__;

// plotly's Python side writes a value it leaves unchanged as "_undefined_" (in a batch
// update, x for the traces whose y alone changed). plotly's view reads messages through
// its deserializer, which makes that undefined; its model reads them raw and would store
// the string in the figure's data, which a view drawn afterwards (a figure whose messages
// came while plotly's code loaded, an output scrolled back into view) then draws with no x.
// So the model reads messages as the view does.
const defined = value => {
  if (value === "_undefined_") return undefined;
  if (Array.isArray(value)) return value.map(defined);
  if (value && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, defined(v)]));
  }
  return value;  // numbers, strings, typed arrays and buffers as they are
};

async function plotlyCode(model) {
  const ref = model.get("_plotly_code");  // "IPY_MODEL_<id>"
  const holder = await model.widget_manager.get_model(ref.slice("IPY_MODEL_".length));
  const key = holder.get("key");
  if (!pages.has(key)) {
    const url = URL.createObjectURL(new Blob([holder.get("code")], {type: "text/javascript"}));
    pages.set(key, import(url).finally(() => URL.revokeObjectURL(url)));
  }
  return pages.get(key);
}

export default () => {
  let figure = null;  // plotly's { initialize, render } for this figure
  let loaded = null;  // settles once plotly's model has every message so far
  return {
    initialize({ model }) {
      const early = [];  // [name, value], as they came
      const keep = MESSAGES.map(name => [name, () => early.push([name, model.get(name)])]);
      keep.forEach(([name, cb]) => model.on(`change:${name}`, cb));
      loaded = plotlyCode(model).then(mod => {
        let listeners = [];  // [event, callback] of plotly's model, until replayed
        const replaying = new Map();
        const proxy = {
          get: name => {
            const value = replaying.has(name) ? replaying.get(name) : model.get(name);
            return MESSAGES.includes(name) ? defined(value) : value;
          },
          set: (name, value) => model.set(name, value),
          save_changes: () => model.save_changes(),
          send: (...args) => model.send(...args),
          on: (event, cb) => { listeners?.push([event, cb]); model.on(event, cb); },
          off: (event, cb) => model.off(event, cb),
          widget_manager: model.widget_manager,
        };
        figure = mod.default();
        figure.initialize({ model: proxy });
        keep.forEach(([name, cb]) => model.off(`change:${name}`, cb));
        for (const [name, value] of early) {
          replaying.set(name, value);
          listeners.filter(([e]) => e === `change:${name}`).forEach(([, cb]) => cb());
          replaying.delete(name);
        }
        listeners = null;
      });
    },
    async render(view) {
      await loaded;
      return figure.render(view);
    },
  };
};
""".replace("__MESSAGES__", json.dumps(_PLOTLY_MESSAGES))


class _OpensWhenShown:
    """A widget whose comm opens when it is first shown, carrying all of it.

    A widget opens its comm (the browser makes its model) when it is made, and what is set
    afterwards goes in messages: plotly sends a figure's layout, traces and config that
    way, a dashboard its first update. anywidget drops every message to a model whose code
    was not ready within 2 s of its creation, which a starved browser (a busy classroom
    server, a loaded test machine) can miss: the figure was then drawn with an empty
    layout. Opened when its model id is first asked for (to show it, or a panel holding
    it), the widget reaches the browser whole; only later changes are messages.
    """

    def open(self):
        """Does nothing until the widget is shown: see ``model_id``."""

    def _before_open(self):
        """Bring synced state up to date just before the comm opens."""

    @property
    def model_id(self):
        if self.comm is None:
            self._before_open()
            W.Widget.open(self)
        return self.comm.comm_id

    def _repr_mimebundle_(self, **kwargs):
        self.model_id  # noqa: B018 (opens the comm: ipywidgets' display reads _model_id)
        return super()._repr_mimebundle_(**kwargs)


class FigureWidget(_OpensWhenShown, go.FigureWidget):
    """plotly's FigureWidget, as wide as the notebook whatever the window.

    JupyterLab draws an output that is out of view (or not yet placed) at no width, and
    plotly.js then falls back to 700 px: clipped in a narrow window, and never redrawn,
    since plotly's widget listens only to the window being resized. So the figure is
    ``responsive`` (it follows window resizes), ``autosize`` (no fixed width) and shown in a
    ``panel``, whose ``FitWidth`` tells the window it resized when the panel's width
    changed and a figure does not fit it.

    Its browser side is a small module that runs plotly's own model and view from the code
    in ``PlotlyCode``, loaded once per page, so a figure is ready at once even on a busy
    machine and no message the kernel sends it is lost.
    """

    _esm = _FIGURE_ESM  # plotly's code, shared by the page's figures: see PlotlyCode
    _plotly_code = traitlets.Instance(PlotlyCode).tag(sync=True, **W.widget_serialization)

    @traitlets.default("_plotly_code")
    def _default_plotly_code(self):
        return plotly_code()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._config = {**self._config, "responsive": True}
        if self.layout.autosize is None:  # viz.figure sets it at creation already
            self.layout.autosize = True  # measure the box, not plotly's default 700 px

    def _before_open(self):
        # The figure as it is now (plotly's own display does the same): these traits are
        # not kept up to date while no comm is open.
        self._widget_layout = copy.deepcopy(self._layout_obj._props)
        self._widget_data = copy.deepcopy(self._data)

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


class Panel(_OpensWhenShown, W.VBox):
    """A dashboard's box (an ``ipywidgets.VBox``) that reaches the browser when shown, with
    its figures as they are then. While the course's book is built it also carries a static
    copy of itself (``viz_static``), since a web page has no kernel to draw a widget."""

    def _ipython_display_(self):
        if not viz_static.enabled():
            raise NotImplementedError  # IPython then shows _repr_mimebundle_: the widget
        viz_static.display(self)


def panel(children):
    """A dashboard's box (``Panel``) of ``children``, with a ``FitWidth`` last so that its
    figures fit the notebook's width. It reaches the browser when first shown, its figures
    as they are then (a dashboard's first update included)."""
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
