"""plotly figure builders the lessons share.

Every builder returns a ``plotly.graph_objects.FigureWidget`` so a widget can update its
traces in place (``fig.data[i].y = ...``) and a test can read them back.
"""

import plotly.graph_objects as go

TEMPLATE = "plotly_white"


def figure(title, xaxis_title, yaxis_title, *, height=360, log_x=False, log_y=False):
    """An empty FigureWidget with the course's look: title, axis titles, white template."""
    fig = go.FigureWidget()
    fig.update_layout(
        title=title,
        xaxis_title=xaxis_title,
        yaxis_title=yaxis_title,
        template=TEMPLATE,
        height=height,
        margin=dict(l=60, r=20, t=50, b=50),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0.0),
    )
    if log_x:
        fig.update_xaxes(type="log")
    if log_y:
        fig.update_yaxes(type="log")
    return fig
