"""The dashboard's main script: page configuration, navigation over :mod:`msdash.app.screens`, the chosen page.

Streamlit runs it as a script: ``msdash app`` (the console command, :mod:`msdash.launcher`) points Streamlit at this
file, and the repository's ``app.py`` (``streamlit run app.py``) calls :func:`main`. The pages live in ``screens/``,
not ``pages/``: Streamlit treats a ``pages/`` folder beside the main script as its legacy multipage layout, which would
run a deep link (``/map``) without :func:`main`'s navigation.
"""

from pathlib import Path

import streamlit as st

SCREENS = Path(__file__).resolve().parent / "screens"


def main():
    """Configure the page, list the pages of ``screens/`` explicitly and run the chosen one."""
    from msdash.app.assets import page_setup

    page_setup()  # local favicon, logo and stylesheet: no page load reaches outside the server
    pages = [
        st.Page(SCREENS / "data.py", title="Data", icon=":material/folder_open:", default=True),
        st.Page(SCREENS / "gallery.py", title="Gallery", icon=":material/grid_view:"),
        st.Page(SCREENS / "features.py", title="Features", icon=":material/tune:"),
        st.Page(SCREENS / "map.py", title="Map", icon=":material/scatter_plot:"),
        st.Page(SCREENS / "models.py", title="Models", icon=":material/model_training:"),
        st.Page(SCREENS / "learn.py", title="Learn", icon=":material/neurology:"),
        st.Page(SCREENS / "predict.py", title="Predict", icon=":material/online_prediction:"),
        st.Page(SCREENS / "validation.py", title="Validation", icon=":material/verified:"),
    ]
    page = st.navigation(pages)
    from msdash.app.mapview import umap_warmup

    umap_warmup()  # numba compiles in the background while the user looks at the data
    from msdash.app.state import workspace_notices

    workspace_notices()  # leftovers of killed saves removed once per process; a read-only workspace said
    from msdash.app.charts import format_picker

    format_picker()  # what the camera button of every chart saves: PNG or SVG
    st.sidebar.caption("msdash · microstructure dashboard")
    page.run()


if __name__ == "__main__":
    main()
