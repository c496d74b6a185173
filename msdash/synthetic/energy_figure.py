"""Plotly figure of a Cahn–Hilliard run's free energy against time, with the saved snapshots marked."""

import numpy as np

__all__ = ["energy_curve_figure"]


def energy_curve_figure(history, *, title="Cahn–Hilliard free energy"):
    """Energy after every step (line) and at the saved snapshots (markers), log-log axes.

    Parameters
    ----------
    history : dict
        ``{"time": (steps,), "energy": (steps,), "saved": (n_snapshots,)}`` as returned by
        :func:`msdash.synthetic.cahn_hilliard.cahn_hilliard` with ``return_history=True`` (model time units,
        energy per the model's units; ``saved`` are 0-based step indices).
    title : str, optional
        Figure title (escape user text before passing it).

    Returns
    -------
    plotly.graph_objects.Figure
        Two traces: ``"every step"`` (lines) and ``"saved snapshots"`` (markers, hover shows the step).
    """
    import plotly.graph_objects as go

    time = np.asarray(history["time"], dtype=float)
    energy = np.asarray(history["energy"], dtype=float)
    saved = np.asarray(history["saved"], dtype=int)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=time, y=energy, mode="lines", name="every step"))
    fig.add_trace(go.Scatter(x=time[saved], y=energy[saved], mode="markers", name="saved snapshots",
                             customdata=saved + 1, hovertemplate="step %{customdata}<br>t = %{x:.3g}"
                             "<br>F = %{y:.4g}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="time (model units)", yaxis_title="total free energy")
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log")
    return fig
