"""The app's own assets (favicon, logo, stylesheet), served from the package's ``msdash/assets/`` folder so nothing
is fetched from outside: a lab PC without internet shows every page complete.

Streamlit draws a ``:material/…:`` page icon by fetching its SVG from a public font CDN on every page load;
a local file is sent inline (as a data URL) instead. The SVGs are hand-written; the stylesheet holds the few
rules the app needs on top of Streamlit's theme.
"""

import importlib.resources
from pathlib import Path

import streamlit as st

#: The package's ``assets/`` folder (package data: a folder on disk in a wheel install and in the source tree).
ASSETS = Path(str(importlib.resources.files("msdash") / "assets"))
FAVICON = ASSETS / "favicon.svg"
LOGO = ASSETS / "logo.svg"
STYLESHEET = ASSETS / "msdash.css"


def page_setup(title="msdash"):
    """Page configuration with the local favicon, the logo in the sidebar and the app's stylesheet.

    Call once at the top of :func:`msdash.app.main.main` (instead of ``st.set_page_config``); every page then looks
    the same and no page load reaches outside the server.

    Parameters
    ----------
    title : str
        Browser tab title.
    """
    st.set_page_config(page_title=title, page_icon=str(FAVICON), layout="wide")
    st.logo(str(LOGO), size="large", icon_image=str(FAVICON))
    st.html(STYLESHEET)  # a CSS-only body goes to the event container: it takes no space on the page
