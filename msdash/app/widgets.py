"""Reusable pieces of the pages: error reporting, the data-set header, thumbnails and the match report."""

import traceback
from contextlib import contextmanager

import numpy as np
import streamlit as st

from msdash.app import state
from msdash.app.keys import DELETE_PENDING, OPEN_SAMPLE, VIEWER_SAMPLE
from msdash.saved import delete_saved
from msdash.display import escape_markdown, thumbnail
from msdash.errors import InputError, WorkspaceError


@contextmanager
def user_errors(action):
    """Show errors raised inside the block as messages, never as a bare traceback.

    An :class:`InputError` is the user's to fix: its plain message is shown. Anything else gets a short
    message naming ``action`` and the traceback inside a closed expander. The page goes on either way.
    Messages name files, columns and samples, so they are shown as plain text (never as markdown).
    """
    try:
        yield
    except InputError as error:
        st.error(escape_markdown(error.message))
    except WorkspaceError as error:  # read-only or damaged workspace: the message says what to do
        st.error(escape_markdown(str(error)))
    except Exception as error:  # noqa: BLE001 — the page must survive and say what happened
        st.error(escape_markdown(f"{action} failed: {type(error).__name__}: {error}"))
        with st.expander("Details for a bug report"):
            st.code(traceback.format_exc())


_KIND_LABELS = {"2d": "2-D images", "rgb": "RGB images", "3d": "3-D volumes"}


def _kinds_text(kinds):
    return ", ".join(f"{n} {_KIND_LABELS.get(kind, kind)}" for kind, n in kinds.items())


def saved_datasets(infos, open_id):
    """List the saved data sets, one row each, with Open and Delete (Delete asks once more)."""
    if not infos:
        st.info("Nothing saved yet.")
        return
    pending = st.session_state.get(DELETE_PENDING)
    for info in infos:
        text, open_col, delete_col = st.columns([6, 1, 1], vertical_alignment="center")
        marker = " · **open now**" if info.id == open_id else ""
        text.markdown(f"**{escape_markdown(info.name)}** · {info.n_samples} samples ({_kinds_text(info.kinds)}) · "
                      f"saved {info.created[:16].replace('T', ' ')} UTC · `{info.id}`{marker}")
        if open_col.button("Open", key=f"open_{info.id}", disabled=info.id == open_id):
            state.open_dataset(info.id)
            st.rerun()
        if delete_col.button("Delete", key=f"delete_{info.id}"):
            st.session_state[DELETE_PENDING] = pending = info.id
        if pending == info.id:
            st.warning(f"Delete “{escape_markdown(info.name)}” (`{info.id}`) from the workspace? "
                       "This cannot be undone.")
            yes, no = st.columns(2)
            if yes.button("Yes, delete it", key="confirm_delete", type="primary"):
                with user_errors("Deleting the data set"):
                    delete_saved(info.id)
                    state.forget_cached_datasets()
                    state.flash(f"Deleted “{escape_markdown(info.name)}” (`{info.id}`).", "info")
                st.session_state.pop(DELETE_PENDING, None)
                st.rerun()
            if no.button("Cancel", key="cancel_delete"):
                st.session_state.pop(DELETE_PENDING, None)
                st.rerun()


def page_header(title, view=None):
    """The top of every page that works on the open data set: title, pending messages, which set is open.

    Parameters
    ----------
    title : str
        The page's title.
    view : callable, optional
        Applied to the open set before it is shown and returned (e.g. :func:`msdash.data.lengths.dataset_in_um`).

    Returns
    -------
    dataset_id : str
        The open data set's id (the demo on a session's first run).
    dataset : msdash.data.dataset.Dataset
        The open data set.
    """
    st.title(title)
    dataset_id = state.current_dataset_id()
    state.show_flash()
    dataset = state.current_dataset() if view is None else view(state.current_dataset())
    dataset_header(dataset, dataset_id)
    return dataset_id, dataset


def dataset_header(dataset, dataset_id):
    """Show which data set is open, with its size and property columns."""
    summary = dataset.summary()
    st.markdown(f"**Open data set:** {escape_markdown(dataset.name)}  \n`{dataset_id}` · {len(dataset)} samples")
    kinds = _kinds_text(summary.get("kinds", {}))
    columns = ", ".join(map(escape_markdown, dataset.properties.columns)) or "none"
    st.caption(f"Kinds: {kinds or '—'} · properties: {columns}"
               + (f" · group column: {escape_markdown(dataset.group_column)}" if dataset.group_column else ""))


@st.cache_data(max_entries=64, show_spinner=False)
def _thumbnails(_dataset, dataset_id, names, size, pixel_size_um=None):
    # the pixel size is an argument, so the cache key changes when it is edited (the set's id does not)
    pictures = [thumbnail(_dataset.images[name], size=size, kind=_dataset.kind(name)) for name in names]
    if pixel_size_um is None:
        return pictures
    from msdash.data.pixelsize import draw_scale_bar

    return [picture if _dataset.kind(name) == "3d" else
            draw_scale_bar(picture, pixel_um=pixel_size_um, source_width=_dataset.images.raw(name).shape[1])
            for name, picture in zip(names, pictures)]


#: What a missing value shows as in captions and tables ("nan" reads like a word of the data).
MISSING_TEXT = "—"


def value_text(value):
    """A property value as shown to the user: 4 significant digits, and "—" for a missing value.

    >>> value_text(412.345), value_text(float("nan")), value_text(None), value_text("paper 3"), value_text(7)
    ('412.3', '—', '—', 'paper 3', '7')
    """
    if value is None:
        return MISSING_TEXT
    if isinstance(value, (float, np.floating)):
        return MISSING_TEXT if not np.isfinite(value) else f"{float(value):.4g}"
    try:
        if value != value:  # NaN-like (pd.NA raises, NaT is not equal to itself)
            return MISSING_TEXT
    except TypeError:
        return MISSING_TEXT
    return str(value)


def _caption(dataset, name, columns):
    """Image caption (rendered as markdown): the name and the chosen property values, escaped; "—" when missing."""
    parts = [escape_markdown(name)]
    for column in columns:
        value = dataset.properties.at[name, column]
        parts.append(f"{escape_markdown(column)}: {escape_markdown(value_text(value))}")
    return " · ".join(parts)


def thumbnail_grid(dataset, dataset_id, names, *, columns=(), size=128, per_row=6, key="thumbs"):
    """Show thumbnails of ``names`` in a grid, captioned with the name and the chosen property values.

    Each thumbnail has an "Open" button (the stylesheet stretches it over the picture, so a click on the
    picture opens it too) that shows the sample in the viewer dialog (:func:`sample_dialog`). Names that are
    not in ``dataset`` (e.g. a stale selection of another data set) are skipped.
    """
    names = [name for name in names if name in dataset.images]
    if not names:
        st.info("No sample to show.")
        return
    pictures = _thumbnails(dataset, dataset_id, tuple(names), size, dataset.pixel_size_um)
    with st.container(key=key):
        for start in range(0, len(names), per_row):
            cells = st.columns(per_row)
            for i, (cell, name, picture) in enumerate(zip(cells, names[start:start + per_row],
                                                           pictures[start:start + per_row]), start):
                with cell.container(key=f"thumbcell_{key}_{i}"):
                    st.image(picture, caption=_caption(dataset, name, columns), width=size)
                    st.button("Open", key=f"{key}_open_{i}", type="tertiary", icon=":material/zoom_in:",
                              on_click=_open, args=(name,), help=f"Open {escape_markdown(name)} in the viewer")
    opened = st.session_state.pop(OPEN_SAMPLE, None)
    if opened is not None and opened in dataset.images:
        sample_dialog(dataset, opened)


def _open(name):
    st.session_state[OPEN_SAMPLE] = name
    st.session_state[VIEWER_SAMPLE] = name  # the Gallery's own viewer follows the click


@st.dialog("Sample viewer", width="large")
def sample_dialog(dataset, name):
    """The viewer of one sample in a dialog (opened by a thumbnail click)."""
    sample_view(dataset, name, key="dialog")


def sample_view(dataset, name, *, key="viewer"):
    """One sample large: a 2-D image or three orthogonal sections of a volume, and its properties.

    Parameters
    ----------
    dataset : Dataset
    name : str
        A sample of ``dataset``.
    key : str
        Prefix of the section sliders' keys (the Gallery's viewer and the dialog each have their own).
    """
    from msdash.features.sections import orthogonal_sections

    image = dataset.images[name]
    left, right = st.columns([3, 2])
    with left:
        if dataset.kind(name) == "3d":
            depth, height, width = image.shape
            cols = st.columns(3)
            z = cols[0].slider("z (depth)", 0, depth - 1, depth // 2, key=f"{key}_z")
            y = cols[1].slider("y (rows)", 0, height - 1, height // 2, key=f"{key}_y")
            x = cols[2].slider("x (columns)", 0, width - 1, width // 2, key=f"{key}_x")
            sections = orthogonal_sections(image, index=(z, y, x))
            titles = ("z-section (y, x)", "y-section (z, x)", "x-section (z, y)")
            for col, section, title in zip(cols, sections, titles):
                col.image(thumbnail(section, size=256), caption=title)
        else:
            picture, size_text = thumbnail(image, size=448), f"{image.shape[1]}×{image.shape[0]} px"
            if dataset.pixel_size_um is not None:
                from msdash.data.pixelsize import draw_scale_bar, format_length

                picture = draw_scale_bar(picture, pixel_um=dataset.pixel_size_um, source_width=image.shape[1])
                size_text += (f" · {format_length(image.shape[1] * dataset.pixel_size_um)} wide "
                              f"({format_length(dataset.pixel_size_um)} per pixel)")
            st.image(picture, caption=f"{escape_markdown(name)} · {size_text}")
    with right:
        st.markdown(f"**{escape_markdown(name)}** · shape {tuple(image.shape)} · "
                    f"values {float(image.min()):.3g}–{float(image.max()):.3g}")
        if len(dataset.properties.columns):
            row = dataset.properties.loc[name]
            st.dataframe({"property": [str(c) for c in row.index], "value": [value_text(v) for v in row.to_numpy()]},
                         hide_index=True)


def match_report(report):
    """Render a :class:`msdash.data.tables.MatchReport`: counts first, details in expanders."""
    st.markdown(f"**Match report.** {escape_markdown(report.summary())}")
    cols = st.columns(4)
    cols[0].metric("Matched images", len(report.matched))
    cols[1].metric("Images without a row", len(report.missing_rows))
    cols[2].metric("Rows without an image", len(report.unmatched_rows))
    cols[3].metric("Duplicate names", len(report.duplicates))
    details = [
        ("Images without a row (their properties stay empty)", report.missing_rows),
        ("Rows without an image (ignored)", report.unmatched_rows),
        ("Names found more than once in the table (the first row is used)", report.duplicates),
    ]
    for title, names in details:
        if names:
            with st.expander(f"{title}: {len(names)}"):
                st.markdown(escape_markdown(", ".join(map(str, names))))
    bad = [(column, name, cell) for column, cells in report.non_numeric.items() for name, cell in cells]
    if bad:
        with st.expander(f"Cells that are not numbers: {len(bad)} (kept as missing values)", expanded=True):
            st.dataframe([{"column": c, "sample": n, "cell": v} for c, n, v in bad], hide_index=True)
