"""Sphinx glue for the course's book (loaded through _config.yml's ``local_extensions``).

- plotly.js is added to the pages that draw a figure, before the figures' own scripts;
- the ipywidgets state myst-nb would embed in a page is dropped: the page shows the static
  copies (node_edu/viz_static.py), and the state would only double its size;
- a bibliography's entries are list items: docutils gives them the deprecated role
  doc-biblioentry inside a role="list", which axe-core reports as a critical violation
  (a list whose children are not list items).
"""

PLOTLY_JS = "plotly/plotly.min.js"


def _drop_widget_state(app, doctree):
    js_files = getattr(app.env, "nb_metadata", {}).get(app.env.docname, {}).get("js_files", {})
    for key in [k for k in js_files if k.startswith("ipywidgets")]:
        del js_files[key]


def _add_plotly(app, pagename, templatename, context, doctree):
    if "Plotly.newPlot(" in context.get("body", ""):
        app.add_js_file(PLOTLY_JS, priority=200)  # no defer: the figures' scripts need it


def _citations_as_list_items(app, pagename, templatename, context, doctree):
    body = context.get("body", "")
    if 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def setup(app):
    app.connect("doctree-read", _drop_widget_state)
    app.connect("html-page-context", _add_plotly)
    app.connect("html-page-context", _citations_as_list_items)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
