"""msdash — a dashboard from micrographs to microstructure maps and property models.

Run with ``streamlit run app.py``; see README.md.
"""

from pathlib import Path

import streamlit as st

HERE = Path(__file__).parent


def main():
    """Configure the page, list the pages of ``pages/`` explicitly and run the chosen one."""
    st.set_page_config(page_title="msdash", page_icon=":material/grain:", layout="wide")
    pages = [
        st.Page(HERE / "pages" / "data.py", title="Data", icon=":material/folder_open:", default=True),
        st.Page(HERE / "pages" / "gallery.py", title="Gallery", icon=":material/grid_view:"),
    ]
    page = st.navigation(pages)
    st.sidebar.caption("msdash · microstructure dashboard")
    page.run()


main()
