"""The course's figures fit the notebook's width: responsive, and shown in a panel whose
FitWidth re-fits them (the browser tests check the drawn width; these check the wiring)."""

import ast
from pathlib import Path

import ipywidgets as W

from node_edu import viz
from node_edu.widgets import EulerStepsWidget


def test_figure_is_responsive_and_autosized():
    fig = viz.figure("title", "x", "y")
    assert fig._config["responsive"] is True
    assert fig.layout.width is None  # no fixed width: plotly.js sizes it to its box
    assert fig.layout.title.text == "title" and fig.layout.xaxis.title.text == "x"
    log = viz.figure("t", "x", "y", log_x=True, log_y=True)
    assert (log.layout.xaxis.type, log.layout.yaxis.type) == ("log", "log")
    assert fig.layout.xaxis.type is None


def test_a_figure_shown_on_its_own_is_shown_in_a_panel_with_fit_width(monkeypatch):
    made = []

    def panel(children):  # viz.panel, recording the box it makes
        made.append(W.VBox([*children, viz.FitWidth()]))
        return made[-1]

    monkeypatch.setattr(viz, "panel", panel)
    fig = viz.figure("title", "x", "y")
    bundle = fig._repr_mimebundle_()
    (box,) = made
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == box.model_id
    assert box.children[0] is fig and isinstance(box.children[-1], viz.FitWidth)
    assert "ResizeObserver" in viz.FitWidth._esm and "resize" in viz.FitWidth._esm


def test_a_dashboard_is_a_panel():
    w = EulerStepsWidget(n_steps=4)
    assert isinstance(w.widget, W.VBox) and isinstance(w.widget.children[-1], viz.FitWidth)
    assert w.fig in w.widget.children


def test_every_dashboard_builds_its_box_with_panel():
    """Read from the source: a dashboard's ``self.widget`` is always ``viz.panel(...)``."""
    found = []
    for path in sorted(Path(viz.__file__).parent.joinpath("widgets").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Attribute) and t.attr == "widget" for t in node.targets
            ):
                found.append((path.name, ast.unparse(node.value.func)))
    assert len(found) >= 10
    assert [f for f in found if f[1] != "viz.panel"] == []


def test_figures_share_one_copy_of_plotlys_code():
    """plotly's 5 MB widget code goes to the browser once per kernel, not with each figure;
    each figure's own module is small (the browser test test_figure_race checks the rest)."""
    a, b = viz.figure("a", "x", "y"), viz.figure("b", "x", "y")
    assert a._plotly_code is b._plotly_code is viz.plotly_code()
    assert len(a._esm) < 10_000 and len(a._plotly_code.code) > 1_000_000
    assert a.get_state()["_plotly_code"] == "IPY_MODEL_" + a._plotly_code.model_id
    a._plotly_code.close()  # closed (Widget.close_all, say): the next figure makes another
    assert viz.figure("c", "x", "y")._plotly_code.comm is not None


def test_the_figure_module_keeps_every_message_plotlys_model_listens_to():
    """The messages kept while plotly's code loads are read from plotly's Python class; the
    change events its JavaScript model subscribes to, read from the code itself, agree."""
    import re

    listened = set(re.findall(r'"change:(_py2js_\w+)"', viz.plotly_code().code))
    assert listened and listened == set(viz._PLOTLY_MESSAGES)


class _Recorder:
    """Stands in for comm.create_comm: records what each widget's comm sends."""

    def __init__(self):
        import comm

        self.sent = []
        recorder = self

        class Comm(comm.base_comm.BaseComm):
            def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
                recorder.sent.append((self.comm_id, msg_type, data or {}))

        self.create = lambda **kwargs: Comm(**kwargs)


def test_a_figure_reaches_the_browser_whole_when_first_shown(monkeypatch):
    """The comm opens when the figure is shown, carrying its layout, traces and config;
    only changes after that are messages (anywidget may drop those, never the state)."""
    import comm

    rec = _Recorder()
    monkeypatch.setattr(comm, "create_comm", rec.create)
    fig = viz.figure("title", "x", "y")
    fig.add_scatter(x=[0, 1], y=[2, 3])
    fig.update_layout(title="new title")
    assert fig.comm is None and rec.sent == []  # made, filled, not shown: nothing sent
    bundle = fig._repr_mimebundle_()
    opened = {cid: data["state"] for cid, kind, data in rec.sent if kind == "comm_open"}
    state = opened[fig.model_id]
    assert state["_widget_layout"]["title"]["text"] == "new title"
    assert [list(t["y"]) for t in state["_widget_data"]] == [[2, 3]]
    assert state["_config"]["responsive"] is True
    assert all(kind == "comm_open" for _, kind, _ in rec.sent)
    box = bundle["application/vnd.jupyter.widget-view+json"]["model_id"]
    assert opened[box]["children"][0] == "IPY_MODEL_" + fig.model_id
    rec.sent.clear()
    fig.data[0].update(y=[4, 5])  # shown: a change is a message
    assert {kind for _, kind, _ in rec.sent} == {"comm_msg"}


def test_a_dashboard_reaches_the_browser_with_its_first_update(monkeypatch):
    import comm

    rec = _Recorder()
    monkeypatch.setattr(comm, "create_comm", rec.create)
    w = EulerStepsWidget(n_steps=4)
    assert w.fig.comm is None and w.widget.comm is None
    w.widget._repr_mimebundle_()
    state = {cid: data["state"] for cid, kind, data in rec.sent if kind == "comm_open"}
    drawn = state[w.fig.model_id]["_widget_data"]
    assert [len(t["x"]) for t in drawn] == [len(t.x) for t in w.fig.data] and len(drawn) == 2
    figure_messages = [k for cid, k, _ in rec.sent if cid == w.fig.model_id and k == "comm_msg"]
    assert figure_messages == []
