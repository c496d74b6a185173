"""Gallery: thumbnails of the open data set, filtered by a range or by categories and sorted by a property;
a click on a thumbnail opens it in the viewer."""

import math

import streamlit as st

from msdash.app import keys, selectionview, widgets
from msdash.data.lengths import dataset_in_um
from msdash.display import escape_markdown, order_samples
from msdash.selection import in_categories

_ORDER = "(data set order)"
_NO_FILTER = "(no filter)"

# columns in px are shown in µm when the pixel size is known
dataset_id, dataset = widgets.page_header("Gallery", view=dataset_in_um)
properties = dataset.properties
numeric = list(dataset.numeric_columns)
categories = selectionview.group_columns(dataset)  # text columns that group samples, e.g. the source paper

c1, c2, c3, c4 = st.columns([2, 1, 2, 1])
sort_by = c1.selectbox("Sort by", [_ORDER] + list(properties.columns), key="gallery_sort")
descending = c2.toggle("Descending", key="gallery_descending")
filter_column = c3.selectbox("Filter by", [_NO_FILTER] + numeric + categories, key="gallery_filter",
                             help="A numeric column filters by a range, a text column by its values.")
page_size = c4.selectbox("Per page", [24, 48, 96, 192], key="gallery_page_size")
low = high = None
chosen_values = None
if filter_column in categories:
    values = sorted(properties[filter_column].dropna().astype(str).unique().tolist())
    chosen_values = st.multiselect(f"Values of {escape_markdown(filter_column)}", values,
                                   key=f"gallery_values_{filter_column}", placeholder="all values")
elif filter_column != _NO_FILTER:
    values = properties[filter_column].dropna()
    if len(values) and values.min() < values.max():
        low, high = st.slider(f"Range of {escape_markdown(filter_column)}", float(values.min()), float(values.max()),
                              (float(values.min()), float(values.max())), key=f"gallery_range_{filter_column}")
numeric_filter = filter_column if filter_column in numeric else None
names = order_samples(properties, sort_by=None if sort_by == _ORDER else sort_by, descending=descending,
                      filter_column=numeric_filter, low=low, high=high)
if chosen_values:  # none chosen: every value
    names = in_categories(properties, names, filter_column, chosen_values)
shown = st.multiselect("Properties in the captions", list(properties.columns), default=numeric[:2],
                       key="gallery_captions")
n_pages = max(1, math.ceil(len(names) / page_size))
page = st.pagination(n_pages, key="gallery_page") if n_pages > 1 else 1
page = min(page, n_pages)
st.caption(f"{len(names)} of {len(dataset)} samples · page {page} of {n_pages} · click a thumbnail to open it")
widgets.thumbnail_grid(dataset, dataset_id, names[(page - 1) * page_size: page * page_size], columns=shown,
                       key="gallery_thumbs")

st.header("Sample viewer")
if names:
    if len(names) <= 2000:
        if st.session_state.get(keys.VIEWER_SAMPLE) not in names:
            st.session_state.pop(keys.VIEWER_SAMPLE, None)  # filtered out: the first sample instead
        name = st.selectbox("Sample", names, key=keys.VIEWER_SAMPLE)
    else:  # a list of tens of thousands of options slows the browser down
        if (clicked := st.session_state.pop(keys.VIEWER_SAMPLE, None)) in dataset.images:
            st.session_state[keys.VIEWER_SAMPLE_NAME] = clicked
        typed = st.text_input("Sample (type its name)", value=names[0], key=keys.VIEWER_SAMPLE_NAME).strip()
        name = typed if typed in dataset.images else names[0]
        if typed != name:
            st.warning(f"No sample named “{escape_markdown(typed)}”; showing {escape_markdown(name)}.")
    widgets.sample_view(dataset, name)
