"""Gallery: thumbnails of the open data set, filtered and sorted by a property, and a one-sample viewer."""

import math

import streamlit as st

from msdash.app import state, widgets
from msdash.display import escape_markdown, order_samples, thumbnail
from msdash.features.sections import orthogonal_sections

_ORDER = "(data set order)"
_NO_FILTER = "(no filter)"

st.title("Gallery")
dataset_id = state.current_dataset_id()
state.show_flash()
dataset = state.current_dataset()
widgets.dataset_header(dataset, dataset_id)
properties = dataset.properties
numeric = list(dataset.numeric_columns)

c1, c2, c3, c4 = st.columns([2, 1, 2, 1])
sort_by = c1.selectbox("Sort by", [_ORDER] + list(properties.columns), key="gallery_sort")
descending = c2.toggle("Descending", key="gallery_descending")
filter_column = c3.selectbox("Filter by", [_NO_FILTER] + numeric, key="gallery_filter")
page_size = c4.selectbox("Per page", [24, 48, 96, 192], key="gallery_page_size")
low = high = None
if filter_column != _NO_FILTER:
    values = properties[filter_column].dropna()
    if len(values) and values.min() < values.max():
        low, high = st.slider(f"Range of {escape_markdown(filter_column)}", float(values.min()), float(values.max()),
                              (float(values.min()), float(values.max())), key=f"gallery_range_{filter_column}")
names = order_samples(properties, sort_by=None if sort_by == _ORDER else sort_by, descending=descending,
                      filter_column=None if filter_column == _NO_FILTER else filter_column, low=low, high=high)
shown = st.multiselect("Properties in the captions", list(properties.columns), default=numeric[:2],
                       key="gallery_captions")
n_pages = max(1, math.ceil(len(names) / page_size))
page = st.pagination(n_pages, key="gallery_page") if n_pages > 1 else 1
page = min(page, n_pages)
st.caption(f"{len(names)} of {len(dataset)} samples · page {page} of {n_pages}")
widgets.thumbnail_grid(dataset, dataset_id, names[(page - 1) * page_size: page * page_size], columns=shown)

st.header("Sample viewer")
if names:
    if len(names) <= 2000:
        name = st.selectbox("Sample", names, key="viewer_sample")
    else:  # a list of tens of thousands of options slows the browser down
        typed = st.text_input("Sample (type its name)", value=names[0], key="viewer_sample_name").strip()
        name = typed if typed in dataset.images else names[0]
        if typed != name:
            st.warning(f"No sample named “{escape_markdown(typed)}”; showing {escape_markdown(name)}.")
    image = dataset.images[name]
    left, right = st.columns([3, 2])
    with left:
        if dataset.kind(name) == "3d":
            depth, height, width = image.shape
            cols = st.columns(3)
            z = cols[0].slider("z (depth)", 0, depth - 1, depth // 2, key="viewer_z")
            y = cols[1].slider("y (rows)", 0, height - 1, height // 2, key="viewer_y")
            x = cols[2].slider("x (columns)", 0, width - 1, width // 2, key="viewer_x")
            sections = orthogonal_sections(image, index=(z, y, x))
            for col, section, title in zip(cols, sections, ("z-section (y, x)", "y-section (z, x)", "x-section (z, y)")):
                col.image(thumbnail(section, size=256), caption=title)
        else:
            st.image(thumbnail(image, size=448),
                     caption=f"{escape_markdown(name)} · {image.shape[1]}×{image.shape[0]} px")
    with right:
        st.markdown(f"**{escape_markdown(name)}** · shape {tuple(image.shape)} · "
                    f"values {float(image.min()):.3g}–{float(image.max()):.3g}")
        if len(properties.columns):
            st.dataframe(properties.loc[[name]].T.rename(columns={name: "value"}).astype(str))
