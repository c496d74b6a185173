"""msdash — a dashboard from micrographs to microstructure maps and property models.

Run with ``streamlit run app.py``; see README.md.
"""

from pathlib import Path

import streamlit as st

HERE = Path(__file__).parent


def main():
    """Configure the page, list the pages of ``pages/`` explicitly and run the chosen one."""
    from msdash.app.assets import page_setup

    page_setup()  # local favicon, logo and stylesheet: no page load reaches outside the server
    pages = [
        st.Page(HERE / "pages" / "data.py", title="Data", icon=":material/folder_open:", default=True),
        st.Page(HERE / "pages" / "gallery.py", title="Gallery", icon=":material/grid_view:"),
        st.Page(HERE / "pages" / "features.py", title="Features", icon=":material/tune:"),
        st.Page(HERE / "pages" / "map.py", title="Map", icon=":material/scatter_plot:"),
        st.Page(HERE / "pages" / "models.py", title="Models", icon=":material/model_training:"),
        st.Page(HERE / "pages" / "learn.py", title="Learn", icon=":material/neurology:"),
        st.Page(HERE / "pages" / "predict.py", title="Predict", icon=":material/online_prediction:"),
        st.Page(HERE / "pages" / "validation.py", title="Validation", icon=":material/verified:"),
    ]
    page = st.navigation(pages)
    from msdash.app.mapview import umap_warmup

    umap_warmup()  # numba compiles in the background while the user looks at the data
    from msdash.app.state import workspace_notices

    workspace_notices()  # leftovers of killed saves removed once per process; a read-only workspace said
    st.sidebar.caption("msdash · microstructure dashboard")
    page.run()


main()
