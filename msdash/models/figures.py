"""Figures of model comparisons: fold-error box plot with a robust axis, parity plot, learning curve."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from msdash.display import escape_plotly
from msdash.errors import InputError
from msdash.plots import PALETTE, UIREVISION

__all__ = ["box_figure", "fold_scores_frame", "learning_curve_figure", "outlier_folds", "parity_figure"]

#: A fold is an outlier when it lies more than this many interquartile ranges beyond the quartiles.
OUTLIER_IQR = 3.0


def outlier_folds(values, *, k=OUTLIER_IQR):
    """Which values lie beyond ``k`` interquartile ranges outside the quartiles (Tukey's far-out rule).

    Parameters
    ----------
    values : array_like, shape (n,)
    k : float

    Returns
    -------
    ndarray of bool, shape (n,)
        False everywhere when the spread is zero or there are fewer than 5 values.

    Examples
    --------
    >>> outlier_folds([10, 12, 15, 11, 14, 920]).tolist()
    [False, False, False, False, False, True]
    """
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    if finite.sum() < 5:
        return np.zeros(len(values), dtype=bool)
    q1, q3 = np.percentile(values[finite], [25, 75])
    iqr = q3 - q1
    if iqr <= 0:
        return np.zeros(len(values), dtype=bool)
    return finite & ((values > q3 + k * iqr) | (values < q1 - k * iqr))


def box_figure(scores, *, score_label="MAPE (%)", title=""):
    """Box plot of outer-fold scores, one box per feature set × series (study B's figure), robust to outliers.

    When some folds are far outliers (:func:`outlier_folds` over all scores, e.g. one MAPE of 920 % among
    10–20 %), the y axis spans the other folds and every outlier is named in an annotation and marked by a
    triangle at the axis edge (its value in the hover), so one bad fold does not squash every box.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per outer fold: ``feature_set``, ``model`` (the series: legend entry), ``score``; optional
        ``fold`` and ``repeat`` (1-based, named in the outlier note).
    score_label : str
        Axis title, with units.
    title : str
        Figure title (e.g. the runs' settings).

    Returns
    -------
    plotly.graph_objects.Figure
        One ``go.Box`` per series, grouped by feature set along x; every fold drawn as a point.
        ``layout.meta["outliers"]`` lists the named outliers (empty when none).
    """
    fig = go.Figure()
    for i, (model, part) in enumerate(scores.groupby("model", sort=False)):
        fig.add_trace(go.Box(x=[escape_plotly(s) for s in part["feature_set"]], y=part["score"],
                             name=escape_plotly(model), boxpoints="all",
                             jitter=0.3, pointpos=0, marker_color=PALETTE[i % len(PALETTE)]))
    fig.update_layout(boxmode="group", yaxis_title=escape_plotly(score_label), xaxis_title="feature set",
                      legend_title_text="model", margin=dict(t=60 if title else 30), title=escape_plotly(title))
    values = scores["score"].to_numpy(float)
    far = outlier_folds(values)
    notes = []
    if far.any():
        inside = values[~far & np.isfinite(values)]
        low, high = float(inside.min()), float(inside.max())
        pad = 0.08 * (high - low or abs(high) or 1.0)
        fig.update_yaxes(range=[low - pad, high + pad])
        for row in scores[far].itertuples(index=False):
            where = f"{row.model} on {row.feature_set}"
            if "fold" in scores:
                where += f", fold {row.fold}"
            if "repeat" in scores and scores["repeat"].nunique() > 1:
                where += f" (repeat {row.repeat})"
            notes.append(f"{where}: {row.score:.4g}")
        above = scores[far].assign(edge=np.where(values[far] > high, high + pad, low - pad))
        fig.add_trace(go.Scatter(x=[escape_plotly(s) for s in above["feature_set"]], y=above["edge"],
                                 mode="markers", name="off the axis", marker=dict(symbol="triangle-up", size=12,
                                                                                 color="black"),
                                 text=[escape_plotly(n) for n in notes], hovertemplate="%{text}<extra></extra>"))
        fig.add_annotation(text=escape_plotly("Outlier fold(s) off the axis: " + "; ".join(notes[:4])
                                              + (f" and {len(notes) - 4} more" if len(notes) > 4 else "")),
                           xref="paper", yref="paper", x=0, y=1.0, xanchor="left", yanchor="bottom",
                           showarrow=False, font=dict(size=11))
    fig.update_layout(meta={"outliers": notes})
    return fig


def parity_figure(y_true, y_pred, names, *, label, selected=(), title=""):
    """Predicted against measured values with the y = x line; points carry sample names.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (n_samples,)
        Measured and (out-of-fold) predicted values; pairs with NaN are left out.
    names : array_like of str, shape (n_samples,)
        Sample names, in ``customdata`` so a click selects a sample.
    label : str
        The property with its units, e.g. "hardness (HV)".
    selected : sequence of str
        Names to ring on top (trace "selected").
    title : str
        The run and its settings.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    names = np.asarray(names, dtype=object)
    if not (len(y_true) == len(y_pred) == len(names)):
        raise InputError("`y_true`, `y_pred` and `names` must have the same length", name="y_pred")
    keep = np.isfinite(y_true) & np.isfinite(y_pred)
    plain = names.astype(str)
    shown = np.asarray([escape_plotly(n, template=True) for n in plain.tolist()], dtype=object)
    custom = np.column_stack([plain.astype(object), shown])  # raw name (selection), escaped name (hover)
    fig = go.Figure(go.Scattergl(
        x=y_true[keep], y=y_pred[keep], mode="markers", name="samples", customdata=custom[keep],
        marker=dict(size=7, opacity=0.75),
        hovertemplate="<b>%{customdata[1]}</b><br>measured %{x:.4g}<br>predicted %{y:.4g}<extra></extra>"))
    if keep.any():
        low = float(min(y_true[keep].min(), y_pred[keep].min()))
        high = float(max(y_true[keep].max(), y_pred[keep].max()))
        fig.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", name="y = x",
                                 line=dict(color="grey", dash="dash"), hoverinfo="skip"))
    chosen = np.isin(names, list(selected)) & keep
    if chosen.any():
        fig.add_trace(go.Scattergl(x=y_true[chosen], y=y_pred[chosen], mode="markers", name="selected",
                                   customdata=names[chosen][:, None], hoverinfo="skip",
                                   marker=dict(size=13, color="rgba(0,0,0,0)", line=dict(color="black", width=2))))
    label = escape_plotly(label)
    fig.update_layout(title=escape_plotly(title), title_font_size=13, xaxis_title=f"measured {label}",
                      yaxis_title=f"predicted {label}", clickmode="event+select", uirevision=UIREVISION,
                      margin=dict(t=60 if title else 40))
    if keep.any():  # the same range on both axes, so distance from the diagonal reads true
        pad = 0.03 * (high - low or 1.0)
        fig.update_xaxes(range=[low - pad, high + pad])
        fig.update_yaxes(range=[low - pad, high + pad])
    return fig


def learning_curve_figure(curve, *, score_label="MAPE (%)", title=""):
    """Score against training-set size (log axis), mean line with the fold spread (min–max) shaded.

    Parameters
    ----------
    curve : pandas.DataFrame
        Columns ``size`` (training samples), ``score``, and optionally ``series`` (one curve per value).
    score_label : str
    title : str
        The run and its settings.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    curve = curve.assign(series=curve["series"] if "series" in curve else "")
    fig = go.Figure()
    for i, (series, part) in enumerate(curve.groupby("series", sort=False)):
        stats = part.groupby("size")["score"].agg(["mean", "min", "max"]).reset_index()
        colour = PALETTE[i % len(PALETTE)]
        band = np.concatenate([stats["max"], stats["min"][::-1]])
        fig.add_trace(go.Scatter(x=np.concatenate([stats["size"], stats["size"][::-1]]), y=band, fill="toself",
                                 line=dict(width=0), fillcolor=colour, opacity=0.2, hoverinfo="skip",
                                 showlegend=False, name=f"{escape_plotly(series)} spread"))
        fig.add_trace(go.Scatter(x=stats["size"], y=stats["mean"], mode="lines+markers",
                                 name=escape_plotly(series) or "mean", line=dict(color=colour)))
    fig.update_layout(xaxis_type="log", xaxis_title="training samples", yaxis_title=escape_plotly(score_label),
                      title=escape_plotly(title), title_font_size=13, margin=dict(t=60 if title else 30))
    return fig


def fold_scores_frame(runs, series):
    """One row per (run, repeat, outer fold): ``feature_set``, ``model`` (``series(run)``), ``score``,
    ``fold`` and ``repeat`` (1-based), for :func:`box_figure`."""
    rows = [{"feature_set": run.feature_set, "model": series(run), "score": float(value), "fold": fold,
             "repeat": repeat}
            for run in runs for repeat, result in enumerate(run.all_results, start=1)
            for fold, value in enumerate(result.fold_scores, start=1)]
    return pd.DataFrame(rows, columns=["feature_set", "model", "score", "fold", "repeat"])
