"""Plotly figures for maps, scree plots, correlations, loadings and histograms (never imports streamlit).

Plotly draws tags such as ``<a href>`` and ``<br>`` in every text it shows, so each builder escapes the user
text it is given (names, property columns, categories, titles) with :func:`msdash.display.escape_plotly`;
``customdata`` keeps the raw sample names that selection events report.
"""

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go

from msdash.display import escape_plotly
from msdash.errors import InputError
from msdash.palette import CLEARLY_APART, category_colours, palette_note  # noqa: F401 — part of this API

__all__ = ["map_figure", "scree_figure", "correlation_figure", "loadings_figure", "histogram_figure",
           "category_colours", "palette_note"]

UIREVISION = "msdash-map"  # constant: zoom and legend state survive Streamlit reruns
PALETTE = plotly.colors.qualitative.Plotly + plotly.colors.qualitative.D3 + plotly.colors.qualitative.Alphabet
MISSING = "missing"  # category / colour-bar stand-in for samples without a value
THIN_SEED = 0


def map_figure(coords, names, *, color=None, color_label=None, categorical=None, hover=None, selected=(),
               title="", axis_labels=("PC1", "PC2"), max_points=None):
    """Scatter map of samples (PCA or UMAP coordinates) whose selection events carry sample names.

    Parameters
    ----------
    coords : array_like, shape (n_samples, >= 2)
        Map coordinates; the first two columns are drawn. Rows with NaN are left out (the caller reports them).
    names : array_like of str, shape (n_samples,)
        Sample names; each point's ``customdata`` is ``[name, *hover values]``.
    color : array_like, shape (n_samples,), optional
        Values to colour by. Numeric → one trace on the Viridis scale with a colour bar titled ``color_label``;
        otherwise one trace per category with a legend. Samples without a value (NaN / None) are drawn grey in
        a trace named "missing".
    color_label : str, optional
        Name of the colour variable with its units, e.g. "E_HS_upper (GPa)".
    categorical : bool, optional
        Force categorical (e.g. integer cluster labels) or continuous colouring; default from the dtype.
    hover : pandas.DataFrame, optional
        Extra columns to show on hover, rows aligned with ``names`` by position.
    selected : sequence of str
        Names to highlight in an extra trace "selected" on top (larger markers, black outline); always drawn,
        even when thinned out of the other traces.
    title : str
    axis_labels : (str, str)
    max_points : int, optional
        Draw a seeded random subset of at most this many points; the title then says "showing m of n points".

    Returns
    -------
    plotly.graph_objects.Figure
        ``Scattergl`` traces; drag mode "zoom", click mode "event+select".

    Examples
    --------
    >>> fig = map_figure([[0, 1], [1, 0], [np.nan, 2]], ["a", "b", "c"], color=["x", "y", "x"])
    >>> [(t.name, list(t.customdata[:, 0])) for t in fig.data]
    [('x', ['a']), ('y', ['b'])]
    """
    coords = np.asarray(coords, dtype=float)
    names = np.asarray(names).astype(str)
    n = len(names)
    if coords.ndim != 2 or coords.shape[1] < 2 or coords.shape[0] != n:
        raise InputError(f"`coords` must have shape ({n}, >= 2) to match `names`, got {coords.shape}", name="coords")
    hover = _hover_frame(hover, n)
    columns = [_hover_values(hover[c]) for c in hover.columns]
    custom, name_field = _custom_with_names(names, columns)
    template = f"<b>%{{{name_field}}}</b>" + "".join(
        f"<br>{escape_plotly(column, template=True)}: %{{customdata[{i + 1}]{_format(hover[column])}}}"
        for i, column in enumerate(hover.columns))
    axis_labels = [escape_plotly(label) for label in axis_labels]
    template += "".join(f"<br>{label.replace('%', '&#37;')}: %{{{axis}:.4g}}"
                        for label, axis in zip(axis_labels, "xy"))
    title = escape_plotly(title)

    finite = np.flatnonzero(np.isfinite(coords[:, :2]).all(axis=1))
    shown = finite
    if max_points is not None and len(finite) > int(max_points):
        rng = np.random.default_rng(THIN_SEED)
        shown = np.sort(rng.choice(finite, size=int(max_points), replace=False))
        title = f"{title} — showing {len(shown)} of {len(finite)} points" if title else \
            f"showing {len(shown)} of {len(finite)} points"
    size = 8 if len(shown) <= 1_000 else 5 if len(shown) <= 10_000 else 3

    def trace(index, name, marker, extra=""):  # ``name`` is escaped already
        return go.Scattergl(x=coords[index, 0], y=coords[index, 1], mode="markers", name=name,
                            customdata=custom[index],
                            hovertemplate=template + extra + f"<extra>{name.replace('%', '&#37;')}</extra>",
                            marker={"size": size, "opacity": 0.8, **marker})

    traces = []
    if color is None:
        traces.append(trace(shown, "samples", {}))
    else:
        color = np.asarray(color)
        if color.shape != (n,):
            raise InputError(f"`color` must hold one value per sample ({n}), got shape {color.shape}", name="color")
        if categorical is None:
            categorical = not (np.issubdtype(color.dtype, np.number) and color.dtype != bool)
        label = escape_plotly(color_label or "colour")
        if categorical:
            traces += _category_traces(trace, color[shown], shown)
        else:
            values = color.astype(float)
            has_value = np.isfinite(values[shown])
            index = shown[has_value]
            finite_values = values[index]
            low, high = (float(finite_values.min()), float(finite_values.max())) if len(index) else (0.0, 1.0)
            traces.append(trace(index, label, dict(color=finite_values, colorscale="Viridis", cmin=low, cmax=high,
                                                   showscale=True, colorbar=dict(title=dict(text=label))),
                                extra=f"<br>{label.replace('%', '&#37;')}: %{{marker.color:.4g}}"))
            if not has_value.all():
                traces.append(trace(shown[~has_value], MISSING, dict(color="lightgrey")))
            traces[0].showlegend = False

    if len(selected):
        picked = finite[np.isin(names[finite], np.asarray(list(selected)).astype(str))]
        traces.append(trace(picked, "selected", dict(size=size + 6, opacity=1.0, color="rgba(0,0,0,0)",
                                                     line=dict(color="black", width=2))))

    fig = go.Figure(traces)
    fig.update_layout(title=dict(text=title), xaxis_title=axis_labels[0], yaxis_title=axis_labels[1],
                      dragmode="zoom", clickmode="event+select", uirevision=UIREVISION, hovermode="closest",
                      legend=dict(itemsizing="constant"), template="plotly_white")
    if color is not None and not categorical:  # keep the legend clear of the colour bar
        fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return fig


def scree_figure(explained_variance_ratio, *, n=30):
    """Scree plot: % of variance per principal component (bars) and cumulative % (line), first ``n``.

    Parameters
    ----------
    explained_variance_ratio : array_like, shape (k,)
        Fractions of the total variance, e.g. ``PCAResult.explained_variance_ratio``.
    n : int, default 30
        Components to show.

    Returns
    -------
    plotly.graph_objects.Figure
        Trace 0: ``Bar`` "per component"; trace 1: ``Scatter`` "cumulative"; both in % on one y axis.

    Examples
    --------
    >>> fig = scree_figure([0.5, 0.3, 0.2])
    >>> fig.data[1].y.tolist()
    [50.0, 80.0, 100.0]
    """
    ratio = np.asarray(explained_variance_ratio, dtype=float).ravel()[: int(n)] * 100
    pcs = np.arange(1, len(ratio) + 1)
    fig = go.Figure([
        go.Bar(x=pcs, y=ratio, name="per component", hovertemplate="PC%{x}: %{y:.2f}%<extra></extra>"),
        go.Scatter(x=pcs, y=np.cumsum(ratio), name="cumulative", mode="lines+markers",
                   hovertemplate="PC1–PC%{x}: %{y:.2f}%<extra></extra>"),
    ])
    fig.update_layout(xaxis=dict(title="principal component", tickmode="linear" if len(pcs) <= 30 else "auto"),
                      yaxis=dict(title="explained variance (%)", range=[0, 102]), template="plotly_white",
                      legend=dict(orientation="h", y=1.1))
    return fig


def correlation_figure(table):
    """Heatmap of |Pearson r| between map coordinates and properties, each cell annotated.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`msdash.maps.pc_property_correlation` (properties × PCs, values in 0..1 or NaN).

    Returns
    -------
    plotly.graph_objects.Figure
        One ``Heatmap`` with ``z`` of shape (n_properties, n_pcs), colour range fixed to 0..1.
    """
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"`table` must be a pandas DataFrame, got {type(table).__name__}", name="table")
    rows, columns = [escape_plotly(i) for i in table.index], [escape_plotly(c) for c in table.columns]
    # Plotly thins category tick labels when rows are many (every other property name went missing); one tick
    # per row and a height that grows with the rows show them all.
    fig = go.Figure(go.Heatmap(z=table.to_numpy(dtype=float), x=columns, y=rows, zmin=0, zmax=1, colorscale="Viridis",
                               texttemplate="%{z:.2f}", colorbar=dict(title=dict(text="|r|")),
                               hovertemplate="%{y} vs %{x}: |r| = %{z:.3f}<extra></extra>"))
    fig.update_layout(yaxis=dict(autorange="reversed", tickmode="array", tickvals=rows,
                                 ticktext=[_wrapped(row) for row in rows], automargin=True),
                      xaxis=dict(tickmode="array", tickvals=columns, ticktext=columns, automargin=True),
                      height=max(320, 120 + 26 * len(rows)), template="plotly_white")
    return fig


def loadings_figure(component, shape, *, title=""):
    """One principal component's loadings drawn as an image, e.g. a 41 × 41 two-point correlation window.

    Parameters
    ----------
    component : array_like, shape (prod(shape),)
        A row of ``PCAResult.components``.
    shape : tuple of int
        The 2-D layout of the features, e.g. (41, 41).
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
        One ``Heatmap`` on the diverging RdBu scale centred at 0, with square pixels.
    """
    component = np.asarray(component, dtype=float).ravel()
    shape = tuple(int(s) for s in shape)
    if len(shape) != 2 or int(np.prod(shape)) != component.size:
        raise InputError(f"`shape` {shape} must be 2-D and hold the {component.size} loadings", name="shape")
    fig = go.Figure(go.Heatmap(z=component.reshape(shape), colorscale="RdBu", zmid=0,
                               colorbar=dict(title=dict(text="loading")),
                               hovertemplate="row %{y}, column %{x}: %{z:.3g}<extra></extra>"))
    fig.update_layout(title=dict(text=escape_plotly(title)), template="plotly_white",
                      xaxis=dict(constrain="domain"),
                      yaxis=dict(scaleanchor="x", scaleratio=1, autorange="reversed", constrain="domain"))
    return fig


def histogram_figure(values, *, label, marker=None, marker_label=None):
    """Histogram of values (NaN dropped) with an optional vertical line, e.g. the true value.

    Parameters
    ----------
    values : array_like, shape (n,)
    label : str
        Name of the quantity with units; the x-axis title.
    marker : float, optional
        Where to draw a dashed vertical line.
    marker_label : str, optional
        Text next to the line.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``Histogram``; the marker line is ``layout.shapes[0]``.
    """
    values = np.asarray(values, dtype=float).ravel()
    fig = go.Figure(go.Histogram(x=values[np.isfinite(values)], name=escape_plotly(label),
                                 hovertemplate=f"{escape_plotly(label, template=True)}: %{{x}}<br>count: %{{y}}"
                                               "<extra></extra>"))
    fig.update_layout(xaxis_title=escape_plotly(label), yaxis_title="count", template="plotly_white", bargap=0.05)
    if marker is not None:
        fig.add_vline(x=float(marker), line=dict(color="black", dash="dash", width=2),
                      annotation_text=escape_plotly(marker_label or f"{float(marker):.4g}"),
                      annotation_position="top right")
    return fig


def _category_traces(trace, labels, index):
    """One trace per category (sorted by value, "missing" last), colours from :func:`category_colours`."""
    try:
        codes, categories = pd.factorize(labels, sort=True)
    except TypeError:  # mixed types that do not compare
        codes, categories = pd.factorize(labels.astype(str), sort=True)
    colours = category_colours(len(categories))
    traces = [trace(index[codes == c], escape_plotly(_category_name(value)), dict(color=colours[c]))
              for c, value in enumerate(categories)]
    if (codes < 0).any():
        traces.append(trace(index[codes < 0], MISSING, dict(color="lightgrey")))
    return traces


def _wrapped(label, width=24):
    """A long (escaped) axis label on several lines at spaces, so it does not squeeze the plot beside it.

    >>> _wrapped("Vickers hardness (HV), converted from GPa")
    'Vickers hardness (HV),<br>converted from GPa'
    """
    lines, line = [], ""
    for word in label.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "<br>".join(lines + [line])


def _category_name(value):
    """Legend text: 3 rather than 3.0 for whole-number labels."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _custom_with_names(names, columns):
    """``customdata`` rows ``[raw name, *columns]`` (+ the escaped name when any name needs escaping) and the
    hovertemplate field that shows the name."""
    shown = [escape_plotly(name, template=True) for name in names.tolist()]
    custom = np.column_stack([names.astype(object)] + list(columns)) if len(columns) else \
        names.astype(object)[:, None]
    if shown == names.tolist():
        return custom, "customdata[0]"
    return np.column_stack([custom, np.asarray(shown, dtype=object)]), f"customdata[{custom.shape[1]}]"


def _hover_values(column):
    """Hover values as objects; text is escaped (plotly would draw its tags)."""
    values = column.to_numpy(dtype=object)
    if pd.api.types.is_numeric_dtype(column):
        return values
    return np.asarray([escape_plotly(v, template=True) if isinstance(v, str) else v for v in values], dtype=object)


def _hover_frame(hover, n):
    if hover is None:
        return pd.DataFrame(index=range(n))
    if not isinstance(hover, pd.DataFrame):
        raise InputError(f"`hover` must be a pandas DataFrame, got {type(hover).__name__}", name="hover")
    if len(hover) != n:
        raise InputError(f"`hover` has {len(hover)} rows but there are {n} samples", name="hover")
    return hover.reset_index(drop=True)


def _format(column):
    """d3 format for a hover value: 4 significant digits for numbers, as-is otherwise."""
    return ":.4g" if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column) else ""
