"""JavaScript the browser tests run in JupyterLab's page to read what a student sees.

Each constant is a function expression for ``page.evaluate``. They read the rendered DOM
of the current notebook panel (what was drawn) and, where the question is what the kernel
sent, the notebook's model.
"""

# JupyterLab marks each output element with its MIME type, except a widget view (the
# widget renderer adds none): those are the outputs without one.
WIDGET_OUTPUTS = (
    "[...window.jupyterapp.shell.currentWidget.node"
    ".querySelectorAll('.jp-OutputArea-output:not([data-mime-type])')]"
)

# Every output of the notebook: failures, widgets that did not render, what is drawn.
OUTPUTS = """() => {
    const nb = window.jupyterapp.shell.currentWidget.node;
    const outs = [...nb.querySelectorAll('.jp-OutputArea-output')];
    const widgetOuts = outs.filter(o => !o.hasAttribute('data-mime-type'));
    return {
        errors: outs.filter(o => (o.getAttribute('data-mime-type') || '').includes('error')
                                 || o.textContent.includes('Traceback (most recent call last)'))
                    .map(o => o.textContent.slice(0, 600)),
        widgetErrors: outs.filter(o => o.textContent.includes('Error displaying widget'))
                          .map(o => o.textContent.slice(0, 300)),
        loading: outs.filter(o => o.textContent.includes('Loading widget')).length,
        widgets: widgetOuts.length,
        // a rendered widget view is a Lumino widget with a size
        // indices (among widget outputs) of views that did not render: a rendered
        // widget view is an element of class jupyter-widgets (or a plot) with a size
        unrendered: widgetOuts.map((o, i) => {
            const view = o.querySelector('.jupyter-widgets, .js-plotly-plot');
            if (!view) return i;
            const r = view.getBoundingClientRect();
            return r.width === 0 || r.height === 0 ? i : null;
        }).filter(i => i !== null),
        plots: [...nb.querySelectorAll('.js-plotly-plot')]
                   .filter(g => g._fullLayout && g.querySelector('.main-svg')).length,
    };
}"""

# What the kernel displayed, from the notebook's model: widget model ids per output, and
# the count of static plotly outputs.
DISPLAYED = """() => {
    const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
    const ids = [];
    let staticPlots = 0;
    for (let i = 0; i < cells.length; i++) {
        const c = cells.get(i);
        if (c.type !== 'code') continue;
        for (let j = 0; j < c.outputs.length; j++) {
            const data = c.outputs.get(j).data || {};
            const w = data['application/vnd.jupyter.widget-view+json'];
            if (w) ids.push(w.model_id);
            if (data['application/vnd.plotly.v1+json']) staticPlots += 1;
        }
    }
    return {ids, staticPlots};
}"""

# Kernel side: how many plotly FigureWidgets the displayed widgets hold (a view per
# output, so a figure shown twice counts twice), and which displayed widgets the kernel
# has closed since (a finished tqdm bar with leave=False: its view is removed, rightly).
# Formatted with the model ids, in the order of the outputs.
COUNT_FIGURES = """
import json as _json
import plotly.basewidget as _pb
from ipywidgets.widgets import widget as _w
_inst = _w._instances if hasattr(_w, "_instances") else _w.Widget.widgets  # ipywidgets 8, 7
def _figs(w, seen):
    if id(w) in seen:
        return 0
    seen.add(id(w))
    if isinstance(w, _pb.BaseFigureWidget):
        return 1
    return sum(_figs(c, seen) for c in getattr(w, "children", ()))
_ids = {ids!r}
print(_json.dumps(dict(
    figures=sum(_figs(_inst[i], set()) for i in _ids if i in _inst),
    closed=[k for k, i in enumerate(_ids) if i not in _inst],
)))
"""

# The top-level widget outputs that hold a plotly figure and controls a student moves:
# [index among widget outputs, [control kinds, in the order they appear]].
DASHBOARDS = f"""() => {{
    const outs = {WIDGET_OUTPUTS};
    return outs.map((o, i) => {{
        if (!o.querySelector('.js-plotly-plot')) return null;
        const kinds = [...o.querySelectorAll('.noUi-handle')].map(() => 'slider')
            .concat([...o.querySelectorAll('select')].map(() => 'dropdown'))
            .concat(o.querySelector('button.widget-toggle-button:not(.mod-active)')
                ? ['toggle'] : [])
            .concat(o.querySelector('button.jupyter-button:not(.widget-toggle-button)')
                ? ['button'] : []);
        return kinds.length ? [i, kinds] : null;
    }}).filter(x => x !== null);
}}"""

# The data of every figure in widget output i, as one string (to see it change).
FIGURE_DATA = f"""(i) => {{
    const o = {WIDGET_OUTPUTS}[i];
    const plain = v => (v && v.length !== undefined && typeof v !== 'string')
        ? Array.from(v) : v;
    return JSON.stringify([...o.querySelectorAll('.js-plotly-plot')].map(g =>
        g.data.map(d => [plain(d.x), plain(d.y), plain(d.z), d.text,
                         d.marker && d.marker.color])));
}}"""

# Indices of the figures in widget output i drawn dimmed (a trace's marker opacity below
# 1): a dashboard shows that way what it is still computing, here lesson 04's gradient
# bars until its slider rests.
DIMMED = f"""(i) => [...{WIDGET_OUTPUTS}[i].querySelectorAll('.js-plotly-plot')]
    .map((g, k) => g.data.some(d => d.marker && d.marker.opacity !== undefined
                                    && d.marker.opacity < 1) ? k : null)
    .filter(k => k !== null)"""

# Layout read from each drawn figure's SVG: a list of problems (empty: all good).
LAYOUT = """() => {
    const problems = [];
    const box = e => e.getBoundingClientRect();
    const real = r => r.width > 0.5 && r.height > 0.5;
    const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1
        && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
    const inside = (a, f) => a.left >= f.left - 1 && a.right <= f.right + 1
        && a.top >= f.top - 1 && a.bottom <= f.bottom + 1;
    const nb = window.jupyterapp.shell.currentWidget.node;
    const plots = [...nb.querySelectorAll('.js-plotly-plot')]
        .filter(g => g._fullLayout && g.querySelector('.main-svg'));
    plots.forEach((g, n) => {
        const L = g._fullLayout;
        const name = `figure ${n} "${(L.title && L.title.text) || ''}"`;
        // the figure's edge: its SVG, as far as its output area shows it
        const svg = box(g.querySelector('.main-svg'));
        const area = box(g.closest('.jp-OutputArea-output') || g);
        const fig = {left: Math.max(svg.left, area.left), right: Math.min(svg.right, area.right),
                     top: svg.top, bottom: svg.bottom};
        if (svg.right > area.right + 1 || svg.left < area.left - 1)
            problems.push(`${name}: wider than its output area (${Math.round(svg.width)} px in `
                          + `${Math.round(area.width)} px)`);
        const title = [...g.querySelectorAll('.gtitle')].map(box).filter(real);
        const legend = [...g.querySelectorAll('.legend .bg')].map(box).filter(real);
        const axisTitles = [...g.querySelectorAll('.infolayer text')]
            .filter(t => /^[xy]\\d*title$/.test(t.getAttribute('class') || ''));
        const ticks = [...g.querySelectorAll('.xtick text, .ytick text')].map(box).filter(real);
        const parts = {title, legend, 'axis title': axisTitles.map(box).filter(real), ticks};
        for (const [what, rects] of Object.entries(parts))
            if (rects.some(r => !inside(r, fig))) problems.push(`${name}: ${what} cut off`);
        for (const t of title)
            for (const [what, rects] of Object.entries(parts))
                if (what !== 'title' && rects.some(r => overlap(t, r)))
                    problems.push(`${name}: title overlaps ${what}`);
        for (const [key, ax] of Object.entries(L)) {
            if (!/^[xy]axis\\d*$/.test(key) || !ax.visible || ax.showticklabels === false)
                continue;
            const text = ax.title && ax.title.text;
            const drawn = axisTitles.some(t => t.getAttribute('class') ===
                key[0] + key.slice(5) + 'title' && real(box(t)));
            if (!text || !drawn) problems.push(`${name}: ${key} has no title`);
            if (ax.scaleanchor && L[ax.scaleanchor.replace(/^([xy])/, '$1axis')]) {
                const other = L[ax.scaleanchor.replace(/^([xy])/, '$1axis')];
                const unit = a => a._length / Math.abs(a.range[1] - a.range[0]);
                const ratio = unit(ax) / unit(other) / (ax.scaleratio || 1);
                if (Math.abs(ratio - 1) > 0.02)
                    problems.push(`${name}: ${key} not to scale (${ratio.toFixed(3)})`);
            }
        }
    });
    return problems;
}"""

# Indices of the drawn figures whose layout reached the browser empty: every figure plotly
# builds in Python carries a template, so a layout without one was lost on the way (the
# figure shows plotly's placeholders, "Click to enter Plot title").
EMPTY_LAYOUTS = """() => [...window.jupyterapp.shell.currentWidget.node
    .querySelectorAll('.js-plotly-plot')]
    .map((g, i) => g._fullLayout && !(g.layout && g.layout.template) ? i : null)
    .filter(i => i !== null)"""
