"""msdash — a dashboard from micrographs to microstructure maps and property models.

Run with ``streamlit run app.py`` from the repository (or ``msdash app`` once installed); see README.md.
The app itself is :mod:`msdash.app.main`; its pages are in ``msdash/app/screens/``.
"""

from msdash.app.main import main

main()
