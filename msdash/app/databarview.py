"""The Data page's SEM data-bar crop: for an upload before it is saved, and for the open saved set."""

from collections import Counter

import streamlit as st

from msdash.app import state, widgets
from msdash.app.keys import DATABAR_UPLOAD_HEIGHTS, UPLOAD
from msdash.display import escape_markdown, thumbnail

_OWN, _ONE = "Each image's own height (as found)", "One height for all"


def upload_crop(result):
    """Look for data bars in an upload and offer to crop them before it is saved.

    Parameters
    ----------
    result : msdash.io.LoadResult
        The parsed upload (kept in this session).

    Returns
    -------
    images : Images
        What to save: ``result.images`` cropped when the user ticked "Crop the data bar", else as read.
    note : str or None
        What was cropped, for the saved set's notes.
    """
    from msdash.data.databar import crop_rows, data_bar_heights

    images = result.images
    if not images:
        return images, None
    upload_key = (st.session_state.get(UPLOAD) or (None,))[0]
    cached = st.session_state.get(DATABAR_UPLOAD_HEIGHTS)
    if cached is None or cached[0] != upload_key:
        with st.spinner("Looking for SEM data bars…"):
            cached = (upload_key, data_bar_heights(images))
        st.session_state[DATABAR_UPLOAD_HEIGHTS] = cached
    heights = cached[1]
    if not any(heights.values()):
        return images, None
    with st.container(border=True):
        st.markdown("**SEM data bar**")
        rows = _choose(images, heights, key="databar_upload")
        if rows is None or not st.checkbox(f"Crop the data bar ({_rows_text(rows)})", key="databar_upload_crop",
                                           help="The rows are removed from the images before they are saved."):
            return images, None
        with widgets.user_errors("Cropping the data bar"):
            return crop_rows(images, rows), f"data bar cropped: {_rows_text(rows)} removed from the bottom"
    return images, None


def saved_crop(dataset, dataset_id):
    """For the open saved set: look for data bars (on request) and save a cropped copy as a new data set."""
    with st.expander("Crop the SEM data bar (the info strip below the micrograph)"):
        if not st.toggle("Look for a data bar in this set's images", key=f"databar_look_{dataset_id}"):
            st.caption("Many SEM images carry a strip with text and a scale bar at the bottom; it is no part of "
                       "the microstructure and skews the features. Cropping makes a new data set (the table, "
                       "group column and pixel size are kept; features are computed again for it).")
            return
        from msdash.config import workspace

        heights = _saved_heights(dataset_id, str(workspace()), dataset)
        if not any(heights.values()):
            st.info("No data bar found at the bottom of these images.")
        rows = _choose(dataset.images, heights, key=f"databar_saved_{dataset_id}", always=True)
        if rows is not None and st.button(f"Crop the data bar ({_rows_text(rows)}) into a new data set",
                                          key="databar_saved_crop", type="primary"):
            from msdash.data.databar import cropped_dataset
            from msdash.data.datastore import save_dataset

            with widgets.user_errors("Cropping the data bar"), st.spinner("Saving the cropped data set…"):
                cropped = cropped_dataset(dataset, rows)
                new_id = save_dataset(cropped)
                state.open_dataset(new_id)
                state.flash(f"Saved “{escape_markdown(cropped.name)}” ({len(cropped)} samples) as `{new_id}`; "
                            "it is now open.")
                st.rerun()


@st.cache_data(max_entries=8, show_spinner="Looking for SEM data bars…")
def _saved_heights(dataset_id, workspace, _dataset):
    from msdash.data.databar import data_bar_heights

    return data_bar_heights(_dataset.images)  # a saved set's id is its content hash


def _rows_text(rows):
    """ "40 px rows" or "32–40 px rows" for the heights to crop (zeros left out)."""
    values = sorted({int(v) for v in (rows.values() if isinstance(rows, dict) else [rows]) if v})
    if not values:
        return "no rows"
    span = f"{values[0]}" if len(values) == 1 else f"{values[0]}–{values[-1]}"
    return f"{span} px row{'' if values == [1] else 's'}"


def _choose(images, heights, *, key, always=False):
    """Heights found, the choice between each image's own and one for all, and a before/after preview.

    Returns
    -------
    dict of str to int or None
        Rows to crop per image; None when there is nothing to crop.
    """
    from msdash.data.kinds import kind_of

    found = {name: rows for name, rows in heights.items() if rows}
    planar = [name for name in heights if kind_of(images, name) != "3d"]
    if not planar:
        st.info("3-D volumes have no data bar.")
        return None
    if found:
        st.caption(f"A data bar was found in {len(found)} of {len(heights)} images ({_rows_text(found)}).")
    how = st.radio("Rows to crop", [_OWN, _ONE] if found else [_ONE], horizontal=True, key=f"{key}_how")
    if how == _ONE:
        common = Counter(found.values()).most_common(1)[0][0] if found else 0
        shortest = min(images.raw(name).shape[0] for name in planar)
        if not found and not always:
            return None
        count = st.number_input("Rows to crop from the bottom of every image", 0, max(0, shortest - 8),
                                min(common, max(0, shortest - 8)), key=f"{key}_rows")
        rows = {name: int(count) for name in planar}
    else:
        rows = dict(heights)
    if not any(rows.values()):
        return None
    shown = st.selectbox("Preview", list(found) or planar, key=f"{key}_preview")
    image, cut = images[shown], rows.get(shown, 0)
    before, after = st.columns(2)
    before.image(thumbnail(image, size=320), caption=f"{escape_markdown(shown)}: as read, {image.shape[0]} rows")
    if cut and image.shape[0] - cut >= 8:
        after.image(thumbnail(image[: image.shape[0] - cut], size=320),
                    caption=f"cropped: {cut} rows removed from the bottom")
    return rows
