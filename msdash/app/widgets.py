"""Reusable pieces of the pages: error reporting, the data-set header, thumbnails and the match report."""

import traceback
from contextlib import contextmanager

import streamlit as st

from msdash.app import state
from msdash.dataset import delete_dataset
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
    pending = st.session_state.get("delete_pending")
    for info in infos:
        text, open_col, delete_col = st.columns([6, 1, 1], vertical_alignment="center")
        marker = " · **open now**" if info.id == open_id else ""
        text.markdown(f"**{escape_markdown(info.name)}** · {info.n_samples} samples ({_kinds_text(info.kinds)}) · "
                      f"saved {info.created[:16].replace('T', ' ')} UTC · `{info.id}`{marker}")
        if open_col.button("Open", key=f"open_{info.id}", disabled=info.id == open_id):
            state.open_dataset(info.id)
            st.rerun()
        if delete_col.button("Delete", key=f"delete_{info.id}"):
            st.session_state["delete_pending"] = pending = info.id
        if pending == info.id:
            st.warning(f"Delete “{escape_markdown(info.name)}” (`{info.id}`) from the workspace? "
                       "This cannot be undone.")
            yes, no = st.columns(2)
            if yes.button("Yes, delete it", key="confirm_delete", type="primary"):
                with user_errors("Deleting the data set"):
                    delete_dataset(info.id)
                    state.forget_cached_datasets()
                    state.flash(f"Deleted “{escape_markdown(info.name)}” (`{info.id}`).", "info")
                st.session_state.pop("delete_pending", None)
                st.rerun()
            if no.button("Cancel", key="cancel_delete"):
                st.session_state.pop("delete_pending", None)
                st.rerun()


def dataset_header(dataset, dataset_id):
    """Show which data set is open, with its size and property columns."""
    summary = dataset.summary()
    st.markdown(f"**Open data set:** {escape_markdown(dataset.name)}  \n`{dataset_id}` · {len(dataset)} samples")
    kinds = _kinds_text(summary.get("kinds", {}))
    columns = ", ".join(map(escape_markdown, dataset.properties.columns)) or "none"
    st.caption(f"Kinds: {kinds or '—'} · properties: {columns}"
               + (f" · group column: {escape_markdown(dataset.group_column)}" if dataset.group_column else ""))


@st.cache_data(max_entries=64, show_spinner=False)
def _thumbnails(_dataset, dataset_id, names, size):
    return [thumbnail(_dataset.images[name], size=size) for name in names]


def _caption(dataset, name, columns):
    """Image caption (rendered as markdown): the name and the chosen property values, escaped."""
    parts = [escape_markdown(name)]
    for column in columns:
        value = dataset.properties.at[name, column]
        if isinstance(value, float):
            parts.append(f"{escape_markdown(column)}: {value:.4g}")
        elif value == value and value is not None:  # skip NaN
            parts.append(f"{escape_markdown(column)}: {escape_markdown(value)}")
    return " · ".join(parts)


def thumbnail_grid(dataset, dataset_id, names, *, columns=(), size=128, per_row=6):
    """Show thumbnails of ``names`` in a grid, captioned with the name and the chosen property values."""
    if not names:
        st.info("No sample to show.")
        return
    pictures = _thumbnails(dataset, dataset_id, tuple(names), size)
    for start in range(0, len(names), per_row):
        cells = st.columns(per_row)
        for cell, name, picture in zip(cells, names[start:start + per_row], pictures[start:start + per_row]):
            cell.image(picture, caption=_caption(dataset, name, columns), width=size)


def match_report(report):
    """Render a :class:`msdash.tables.MatchReport`: counts first, details in expanders."""
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
