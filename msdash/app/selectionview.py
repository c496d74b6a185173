"""The linked selection of the Map and Models pages: one selection per data set, shared by every chart and by
the name pickers (exact, prefix, regular expression, whole group), and kept through redraws."""

import numpy as np
import streamlit as st

from msdash.app.fastmap import selection_ids, selection_names
from msdash.app.keys import (MAP_EVENTS_SEEN, MAP_SPECS_DRAWN, SELECTED, SELECTION_DATASET, SELECTION_SOURCE,
                             SELECTIONS_BY_DATASET, picker_key)


def fast_key(chart_key):
    """Session-state key of the fast canvas map drawn in place of the plotly chart ``chart_key``.

    >>> fast_key("map_chart_1")
    'map_fast_1'
    """
    return chart_key.replace("map_chart_", "map_fast_")


def highlighted(chart_key, selected):
    """Samples to highlight on ``chart_key``: none on the chart the selection was made on.

    Plotly already shows a selection on its own chart; leaving that figure unchanged means a click does not
    resend the whole figure. (The Map page rings the selection on every map and tells :func:`drawn` what
    each map is drawn from instead, so a redrawn map keeps the selection.)
    """
    return () if st.session_state.get(SELECTION_SOURCE) == chart_key else selected


def own_selection(dataset_id, names, pick_keys=()):
    """Make the shared selection the one of the open data set; return it (names of ``dataset_id`` only).

    A selection belongs to the data set it was made in: opening another set stashes it and brings back
    that set's own (empty at first), clears the name pickers ``pick_keys`` and forgets the charts' old events,
    so no name of one set ever reaches a page of another.
    """
    stash = st.session_state.setdefault(SELECTIONS_BY_DATASET, {})
    owner = st.session_state.get(SELECTION_DATASET)
    if owner != dataset_id:
        if owner is not None:
            stash[owner] = list(st.session_state.get(SELECTED, []))
        st.session_state[SELECTION_DATASET] = dataset_id
        st.session_state[SELECTED] = list(stash.get(dataset_id, []))
        st.session_state[SELECTION_SOURCE] = None
        st.session_state[MAP_EVENTS_SEEN] = {}
        st.session_state[MAP_SPECS_DRAWN] = {}
        for key in pick_keys:
            st.session_state.pop(key, None)
    known = set(names)
    current = [n for n in st.session_state.get(SELECTED, []) if n in known]
    st.session_state[SELECTED] = current
    return list(current)


def sync_selection(chart_keys, pick_key, names=None, dataset_id=None):
    """Update the shared selection from whichever map (or the name picker) changed since the last run.

    Charts report their selection in ``st.session_state[key]`` (read with dict access, so AppTest can
    inject it): plotly charts as points with names in ``customdata``, fast maps as row ids of ``names``
    (see :func:`msdash.app.fastmap.selection_names`). The last chart whose event changed wins; the others
    then highlight the same samples. With ``dataset_id`` the selection is that data set's
    (:func:`own_selection`); only names in ``names`` are returned.
    """
    from msdash.maps import selection_from_event

    if dataset_id is not None:
        own_selection(dataset_id, names if names is not None else [],
                      [pick_key] + [picker_key(pick_key, part) for part in ("pattern", "pattern_message", "group",
                                                                      "group_column")])
    seen = st.session_state.setdefault(MAP_EVENTS_SEEN, {})
    for key in chart_keys:
        event = st.session_state.get(key)
        if event is None:  # not drawn yet, or drawn anew (renderer switched): its old event is gone
            seen.pop(key, None)
            continue
        # A chart that appears (no state yet → empty selection) is not a user's change.
        signature = _signature(event)
        if seen.get(key, "[]") != signature:
            seen[key] = signature
            fast = selection_names(event, names if names is not None else [])
            st.session_state[SELECTED] = fast if fast is not None else selection_from_event(event)
            st.session_state[SELECTION_SOURCE] = key
    selected = list(st.session_state.get(SELECTED, []))
    if names is not None:
        known = set(names)
        selected = [n for n in selected if n in known]
    return selected


def drawn(chart_key, *parts):
    """Note what a plotly map is drawn from, just before ``st.plotly_chart(..., key=chart_key)``.

    Streamlit gives a plotly chart whose figure changed a new identity with an empty selection. When
    ``parts`` (everything the figure is built from) differ from the last run's, the chart's next empty event
    is that fresh start, not the user clearing the selection — so switching PCA ↔ UMAP, recolouring or
    ringing the selection keeps it.
    """
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(str((part.dtype, part.shape)).encode())
            digest.update(np.ascontiguousarray(part).tobytes() if part.dtype != object
                          else repr(part.tolist()).encode())
        elif hasattr(part, "to_numpy") and hasattr(part, "columns"):  # a DataFrame
            digest.update(repr(list(part.columns)).encode())
            digest.update(repr(part.to_numpy().tolist()).encode())
        else:
            digest.update(repr(part).encode())
        digest.update(b"\0")
    fingerprint = digest.hexdigest()
    specs = st.session_state.setdefault(MAP_SPECS_DRAWN, {})
    if specs.get(chart_key) != fingerprint:
        specs[chart_key] = fingerprint
        st.session_state.setdefault(MAP_EVENTS_SEEN, {})[chart_key] = "[]"


def _signature(event):
    fast = selection_ids(event)
    if fast is not None:  # every click, box or lasso has its own stamp, so repeating one still counts
        return repr(fast)
    return repr(_points(event) or [])


def _points(event):
    try:
        return list(event["selection"]["points"])
    except (KeyError, TypeError):
        return None


#: Above this many samples the name picker is a text box: a list of 50,000 options slows the browser.
PICKER_OPTIONS_MAX = 2000
_MODE_LABELS = {"prefix": "starts with", "regex": "regular expression (whole name)"}


def name_picker(names, key, properties=None, group_columns=()):
    """Controls (not charts) that pick samples and replace the shared selection.

    - by exact name: a multiselect up to :data:`PICKER_OPTIONS_MAX` samples, else a text box of names
      separated by commas or spaces;
    - by pattern: names starting with typed prefixes, or matching a regular expression as a whole
      (:func:`msdash.selection.pick_names`; nothing fuzzy);
    - by group: every sample of one value of a group column (e.g. one paper).
    """
    from msdash.display import escape_markdown

    left, middle, right = st.columns([3, 3, 2])
    with left:
        if len(names) <= PICKER_OPTIONS_MAX:
            st.multiselect("Pick samples by name", names, key=key, on_change=_pick_changed, args=(key, None))
        else:
            st.text_input("Pick samples by name (separate names with commas or spaces)", key=key,
                          on_change=_pick_changed, args=(key, frozenset(names)))
            unknown = [n for n in _typed_names(st.session_state.get(key, "")) if n not in set(names)]
            if unknown:
                st.warning(f"Not in this data set: {escape_markdown(', '.join(unknown[:10]))}")
    with middle:
        mode = st.segmented_control("Pattern", list(_MODE_LABELS), default="prefix", key=picker_key(key, "mode"),
                                    format_func=_MODE_LABELS.get) or "prefix"
        st.text_input("…or by a name pattern", key=picker_key(key, "pattern"), on_change=_pattern_changed,
                      args=(key, tuple(names)), placeholder="A1_, B2_" if mode == "prefix" else r"A1\d*_0[1-5]",
                      help="Starts with: one or more prefixes separated by commas. Regular expression: the whole "
                           "name must match. Nothing fuzzy: only names that match exactly are picked.")
        if message := st.session_state.get(picker_key(key, "pattern_message")):
            st.caption(escape_markdown(message))
    group_columns = [c for c in group_columns if properties is not None and c in properties.columns]
    if group_columns:
        with right:
            column = st.selectbox("…or a whole group of", group_columns, key=picker_key(key, "group_column"))
            values = sorted(properties[column].dropna().astype(str).unique().tolist())
            st.selectbox(f"value of {escape_markdown(column)}", values, index=None, key=picker_key(key, "group"),
                         placeholder="choose a group", on_change=_group_changed, args=(key, properties, column))


def group_columns(dataset):
    """Columns whose values make groups to pick whole: the data set's group column first, then text columns
    with fewer distinct values than samples (e.g. the source paper)."""
    columns = [dataset.group_column] if dataset.group_column else []
    for column in dataset.properties.columns:
        if column in columns or column in dataset.numeric_columns:
            continue
        distinct = dataset.properties[column].nunique(dropna=True)
        if 1 < distinct < len(dataset):
            columns.append(column)
    return columns


def clear_selection():
    """Button callback: nothing selected (on every map)."""
    st.session_state[SELECTED] = []
    st.session_state[SELECTION_SOURCE] = None


def labels_of(sets, extractors):
    """Labels of :func:`msdash.app.features.feature_sets` computed by ``extractors``, in that order.

    >>> labels_of({"phys_feat2": ("computed", "phys_feat2", {}), "two_point (cutoff=32)":
    ...            ("computed", "two_point", {"cutoff": 32})}, ("two_point", "phys_feat2"))
    ['two_point (cutoff=32)', 'phys_feat2']
    """
    return [label for name in extractors for label, (kind, extractor, _) in sets.items()
            if kind == "computed" and extractor == name]


def _typed_names(text):
    return [part for part in text.replace(",", " ").split() if part]


def _pick_changed(key, known):
    value = st.session_state.get(key) or []
    st.session_state[SELECTION_SOURCE] = key
    if known is not None:  # the text box
        value = [name for name in _typed_names(value) if name in known]
    st.session_state[SELECTED] = list(value)


def _pattern_changed(key, names):
    from msdash.errors import InputError
    from msdash.selection import pick_names

    text = st.session_state.get(picker_key(key, "pattern"), "")
    mode = st.session_state.get(picker_key(key, "mode")) or "prefix"
    try:
        picked, unmatched = pick_names(names, text, mode=mode)
    except InputError as error:
        st.session_state[picker_key(key, "pattern_message")] = error.message
        return
    st.session_state[picker_key(key, "pattern_message")] = (
        f"{len(picked)} sample(s) picked" + (f"; nothing matches {', '.join(unmatched[:10])}" if unmatched else ""))
    if text.strip():
        st.session_state[SELECTION_SOURCE] = picker_key(key, "pattern")
        st.session_state[SELECTED] = picked


def _group_changed(key, properties, column):
    from msdash.selection import group_names

    value = st.session_state.get(picker_key(key, "group"))
    if value is None:
        return
    st.session_state[SELECTION_SOURCE] = picker_key(key, "group")
    st.session_state[SELECTED] = group_names(properties, column, value)
