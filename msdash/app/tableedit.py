"""The open data set's property table on the Data page: rename the set, add derived columns, edit, replace.

Every change is saved at once through :func:`msdash.saved.replace_saved` (images are never rewritten,
features stay) and the edited set is opened.
"""

import pandas as pd
import streamlit as st

from msdash import derived
from msdash.app import state, widgets
from msdash.app.upload import table_and_report
from msdash.data.datastore import rename_dataset, set_pixel_size
from msdash.data.lengths import properties_in_um
from msdash.saved import replace_saved
from msdash.display import escape_markdown
from msdash.data.ingest import with_properties

_CUSTOM = "Custom factor and offset"
_NO_CONVERSION = "No conversion"
_ACTIONS = ["Convert units", "Combine two columns", "Group from names", "Rename or set unit", "Replace the table"]
_PREVIEW_ROWS = 8


def table_section(dataset, dataset_id):
    """Draw the whole section for the open, saved data set."""
    # Collapsed: the page opens on loading data; the editor is one click away and keeps its state.
    with st.expander("Edit the open data set: name, pixel size, property table (units, derived columns, groups)"):
        _rename(dataset, dataset_id)
        _pixel_size(dataset, dataset_id)
        _show_table(dataset)
        action = st.radio("Edit the table", _ACTIONS, horizontal=True, key="edit_action",
                          help="Each change is saved with the data set at once; images and features are kept.")
        {"Convert units": _convert, "Combine two columns": _combine, "Group from names": _group,
         "Rename or set unit": _rename_column, "Replace the table": _replace}[action](dataset, dataset_id)


def _save(dataset_id, edited, message):
    # The built-in demo stays as it is (the app reopens it by its id): an edit of it is a new set beside it.
    keep_demo = edited.source == "demo"
    if keep_demo:
        edited.source = "demo, edited"
    with st.spinner("Saving the edited data set…"):
        new_id = replace_saved(dataset_id, edited, keep_old=keep_demo)
    state.open_dataset(new_id)
    state.flash(message)
    st.rerun()


def _rename(dataset, dataset_id):
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    name = left.text_input("Rename the open data set", value=dataset.name, key=f"rename_{dataset_id}")
    if right.button("Rename", key="rename_dataset", disabled=name.strip() == dataset.name):
        with widgets.user_errors("Renaming the data set"):
            saved = rename_dataset(dataset_id, name)
            state.forget_cached_datasets()
            state.flash(f"Renamed to “{escape_markdown(saved)}”.")
            st.rerun()


def _pixel_size(dataset, dataset_id):
    from msdash.data.pixelsize import format_length, parse_pixel_size

    now = "" if dataset.pixel_size_um is None else format_length(dataset.pixel_size_um)
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    text = left.text_input("Pixel size (e.g. 12.5 nm or 0.5 µm; empty: unknown, lengths in px)", value=now,
                           key=f"pixel_size_{dataset_id}",
                           help="Read from TIFF metadata (FEI/Thermo, Zeiss, ImageJ) when the files state it.")
    if right.button("Set", key="set_pixel_size", disabled=text.strip() == now):
        with widgets.user_errors("Setting the pixel size"):
            value = set_pixel_size(dataset_id, parse_pixel_size(text) if text.strip() else None)
            state.forget_cached_datasets()
            state.flash("Pixel size " + (f"set to {format_length(value)}." if value else "cleared: lengths in px."))
            st.rerun()


def _show_table(dataset):
    table = dataset.properties
    if not len(table.columns):
        st.info("This data set has no property table yet: add one under “Replace the table”, or derive a "
                "group column from the names.")
    else:
        st.caption(f"The table: {len(table)} rows × {len(table.columns)} columns"
                   + (" (the first 500 shown)" if len(table) > 500 else ""))
        head = table.head(500)
        shown = properties_in_um(head, dataset.pixel_size_um)
        if shown is not head:
            st.caption("Columns in px are shown in µm (the pixel size); they are kept in px, under the names "
                       "the edits below use.")
        st.dataframe(shown, height=240)
    if dataset.derived:
        lines = "\n".join(f"- {escape_markdown(formula)}" for formula in dataset.derived.values())
        st.markdown(f"**Derived columns** (formula saved with the data set):\n{lines}")


def _conversion(key, *, allow_none=False):
    """Preset or custom factor/offset widgets; returns ``(label, factor, offset)``."""
    choices = ([_NO_CONVERSION] if allow_none else []) + list(derived.UNIT_CONVERSIONS) + [_CUSTOM]
    label = st.selectbox("Conversion", choices, key=f"{key}_preset")
    if label == _NO_CONVERSION:
        return label, 1.0, 0.0
    if label == _CUSTOM:
        left, right = st.columns(2)
        factor = left.number_input("factor", value=1.0, format="%.6g", key=f"{key}_factor")
        offset = right.number_input("offset", value=0.0, format="%.6g", key=f"{key}_offset")
        return label, float(factor), float(offset)
    return (label, *derived.UNIT_CONVERSIONS[label])


def _target_unit(label):
    # "GPa → HV (× …)" → "HV"; custom factors name no unit.
    if "→" not in label:
        return ""
    return label.split("→", 1)[1].split("(", 1)[0].strip()


def _preview(dataset, sources, result):
    frame = dataset.properties[list(sources)].copy()
    frame[result.name + " (new)"] = result.values.to_numpy()
    shown = frame[frame.notna().any(axis=1)].head(_PREVIEW_ROWS)
    st.caption(f"Preview: {escape_markdown(result.formula)} · {int(result.values.notna().sum())} of "
               f"{len(dataset)} samples get a value")
    st.dataframe(shown)


def _numeric_or_say(dataset):
    if not dataset.numeric_columns:
        st.info("The table has no numeric column.")
    return dataset.numeric_columns


def _convert(dataset, dataset_id):
    columns = _numeric_or_say(dataset)
    if not columns:
        return
    column = st.selectbox("Column", columns, key="convert_column")
    label, factor, offset = _conversion("convert")
    name = st.text_input("Name of the new column", value=derived.with_unit(column, _target_unit(label))
                         if _target_unit(label) else f"{column} (converted)", key=f"convert_name_{column}_{label}")
    with widgets.user_errors("Converting the column"):
        result = derived.convert(dataset.properties, column, factor=factor, offset=offset, name=name)
        _preview(dataset, [column], result)
        if st.button("Add the column", key="convert_add", type="primary"):
            _save(dataset_id, derived.add_derived(dataset, result),
                  f"Added “{escape_markdown(result.name)}”: {escape_markdown(result.formula)}.")


def _combine(dataset, dataset_id):
    columns = _numeric_or_say(dataset)
    if len(columns) < 2:
        if columns:
            st.info("Combining needs two numeric columns.")
        return
    left, right = st.columns(2)
    first = left.selectbox("Use this column where it has a value", columns, key="combine_first")
    second = right.selectbox("else this one", [c for c in columns if c != first], key="combine_second")
    label, factor, offset = _conversion("combine", allow_none=True)
    name = st.text_input("Name of the new column", value=f"{first} (combined)", key=f"combine_name_{first}")
    with widgets.user_errors("Combining the columns"):
        result = derived.coalesce(dataset.properties, first, second, factor=factor, offset=offset, name=name)
        _preview(dataset, [first, second], result)
        if st.button("Add the column", key="combine_add", type="primary"):
            _save(dataset_id, derived.add_derived(dataset, result),
                  f"Added “{escape_markdown(result.name)}”: {escape_markdown(result.formula)}.")


def _group(dataset, dataset_id):
    rule = st.radio("Group is", ["the name up to a separator", "a regular expression's group"], horizontal=True,
                    key="group_rule")
    if rule == "the name up to a separator":
        separator = st.text_input("Separator", value="_", max_chars=10, key="group_separator")
        pattern = None
    else:
        separator = None
        pattern = st.text_input("Regular expression with one group in parentheses", value=r"^([^_]+)_",
                                max_chars=derived.MAX_PATTERN_LENGTH, key="group_pattern",
                                help="Searched in each sample name; the text matched by ( … ) is the group. "
                                     "Names it does not match get no group.")
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    name = left.text_input("Name of the new column", value="group (from name)", key="group_name")
    as_group = right.checkbox("Use for group-aware CV", value=True, key="group_as_group")
    with widgets.user_errors("Finding groups in the names"):
        result = derived.group_from_names(dataset.names, separator=separator, pattern=pattern, name=name)
        sizes = derived.group_sizes(result.values)
        n_groups = int(sizes["group"].notna().sum())
        st.caption(f"Preview: {n_groups} groups · {escape_markdown(result.formula)}")
        examples = pd.DataFrame({"sample": dataset.names[:_PREVIEW_ROWS],
                                 "group": result.values.iloc[:_PREVIEW_ROWS].tolist()})
        left, right = st.columns(2)
        left.dataframe(sizes.fillna("(no group)"), hide_index=True)
        right.dataframe(examples, hide_index=True)
        if n_groups < 2:
            st.warning("Fewer than two groups: group-aware cross-validation needs at least two.")
        if st.button("Add the column", key="group_add", type="primary"):
            _save(dataset_id, derived.add_derived(dataset, result, as_group=as_group),
                  f"Added “{escape_markdown(result.name)}” ({n_groups} groups)"
                  + (", now the group column." if as_group else "."))


def _rename_column(dataset, dataset_id):
    columns = list(dataset.properties.columns)
    if not columns:
        st.info("The table has no column to rename.")
        return
    column = st.selectbox("Column", columns, key="rename_column")
    left, right = st.columns([3, 1])
    base = left.text_input("New name", value=derived.with_unit(column, ""), key=f"rename_column_name_{column}")
    unit = right.text_input("Unit (optional)", value="", key=f"rename_column_unit_{column}",
                            help="Written after the name in parentheses: “hardness (HV)”.")
    new_name = derived.with_unit(base, unit) if unit.strip() else base.strip()
    st.caption(f"New column name: {escape_markdown(new_name)}")
    if st.button("Rename the column", key="rename_column_apply", disabled=new_name == column):
        with widgets.user_errors("Renaming the column"):
            _save(dataset_id, derived.rename_column(dataset, column, new_name),
                  f"Renamed “{escape_markdown(column)}” to “{escape_markdown(new_name)}”.")


def _replace(dataset, dataset_id):
    st.caption("A new table replaces the whole property table (derived columns go with it); the images and "
               "their features are kept.")
    table_file = st.file_uploader("New property table (CSV or XLSX)", type=["csv", "tsv", "txt", "xlsx", "xlsm", "xls"],
                                  key="replace_table_file")
    if table_file is None:
        return
    report = table_and_report(table_file, dataset.names, key_prefix="replace_")
    if report is not None and st.button("Replace the table", key="replace_table_apply", type="primary"):
        with widgets.user_errors("Replacing the table"):
            edited = with_properties(dataset, report, note=f"Table replaced by {table_file.name}")
            _save(dataset_id, edited, f"Replaced the table by {escape_markdown(table_file.name)} "
                                      f"({len(report.matched)} of {len(dataset)} samples matched).")
