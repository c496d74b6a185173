"""Parse this session's uploads once and keep the result in its own session state (never shared)."""

import streamlit as st

from msdash import budget
from msdash.app import widgets
from msdash.app.keys import MAT_CHOICES, UPLOAD
from msdash.display import escape_markdown
from msdash.data.ingest import guess_name_column
from msdash.io import load_images, match_properties, read_properties

_NONE = "(none)"


def parsed_upload(files):
    """Read the uploaded files (once per set of files) and show what was read and what failed.

    Parameters
    ----------
    files : list of streamlit UploadedFile

    Returns
    -------
    msdash.io.LoadResult or None
        ``None`` when nothing was uploaded.
    """
    if not files:
        _drop_upload()
        return None
    choices = st.session_state.setdefault(MAT_CHOICES, {})
    key = (tuple((f.file_id, f.name) for f in files), tuple(sorted(choices.items())))
    cached = st.session_state.get(UPLOAD)
    if cached is None or cached[0] != key:
        _drop_upload()  # its memory is free before the new upload is counted and decoded
        with st.spinner(f"Reading {len(files)} file(s)…"):
            result = load_images(list(files), mat_variables=dict(choices), max_bytes=budget.upload_budget())
        budget.hold_unsaved(result, result.nbytes)
        st.session_state[UPLOAD] = (key, result)
    result = st.session_state[UPLOAD][1]
    _show_load_result(result, choices)
    return result


def _drop_upload():
    cached = st.session_state.pop(UPLOAD, None)
    if cached is not None:
        budget.release_unsaved(cached[1])


def _show_load_result(result, choices):
    kinds = {}
    for name in result.images:  # shapes only: no float32 copies
        kind = {"2d": "2-D", "rgb": "RGB", "3d": "3-D volume"}[result.images.kind(name)]
        kinds[kind] = kinds.get(kind, 0) + 1
    if result.images:
        st.success(f"Read {len(result.images)} image(s): " + ", ".join(f"{n} {k}" for k, n in kinds.items()))
        if result.pixel_size is not None:
            from msdash.data.pixelsize import format_length

            st.caption(f"Pixel size {format_length(result.pixel_size.um)}, from the files' "
                       f"{escape_markdown(result.pixel_size.source)}; kept with the data set and editable once saved.")
    if result.errors:  # messages name the files: shown as plain text, never as markdown
        lines = "\n".join(f"- {escape_markdown(e.message)}" for e in result.errors[:20])
        st.error(f"{len(result.errors)} file(s) could not be used; the others loaded.\n\n{lines}")
        if len(result.errors) > 20:
            with st.expander(f"All {len(result.errors)} problems"):
                st.markdown("\n".join(f"- {escape_markdown(e.message)}" for e in result.errors))
    if result.notes:
        with st.expander(f"Conversions made while reading: {len(result.notes)}"):
            st.markdown("\n".join(f"- {escape_markdown(n.message)}" for n in result.notes))
    for name, variables in result.choices.items():
        picked = st.selectbox(f"{escape_markdown(name)}: which array to load?", [_NONE] + list(variables),
                              key=f"mat_{name}")
        if picked != _NONE and choices.get(name) != picked:
            choices[name] = picked
            st.rerun()


def table_and_report(table_file, names, *, key_prefix=""):
    """Read the property table, let the user pick its sheet, name and group columns, show the match report.

    ``key_prefix`` goes before the widget keys (``"name_column"``, ``"group_column"``, ``"table_sheet"``) so
    that two tables (a new upload's, an open set's replacement) can be on one page.

    Returns
    -------
    msdash.io.MatchReport or None
        ``None`` when the table could not be read (the reason is shown).
    """
    with widgets.user_errors("Reading the property table"):
        table = read_properties(table_file)
        sheets = table.attrs.get("sheets") or []
        if len(sheets) > 1:
            sheet = st.selectbox("Sheet", sheets, key=f"{key_prefix}table_sheet")
            if sheet != sheets[0]:
                table = read_properties(table_file, sheet=sheet)
        columns = list(table.columns)
        guess = guess_name_column(table, names)
        left, right = st.columns(2)
        name_column = left.selectbox("Column with the image names", columns, index=columns.index(guess),
                                     key=f"{key_prefix}name_column")
        group = right.selectbox("Group column (source paper, parent image, run…), optional",
                                [_NONE] + [c for c in columns if c != name_column], key=f"{key_prefix}group_column",
                                help="Samples of one group stay on one side of every cross-validation split.")
        report = match_properties(names, table, name_column=name_column,
                                  group_column=None if group == _NONE else group)
        widgets.match_report(report)
        for note in table.attrs.get("notes", []):  # e.g. a workbook's external links, ignored
            st.info(escape_markdown(note))
        with st.expander(f"The table as read ({len(table)} rows, delimiter/sheet detected automatically)"):
            st.dataframe(table.head(200), hide_index=True)
        return report
    return None
