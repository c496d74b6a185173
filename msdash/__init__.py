"""msdash: microstructure dashboards — data, features, maps and property models.

Importing the package stays cheap: heavy dependencies (torch, transformers, umap, streamlit)
are imported inside the functions that need them.
"""

__version__ = "0.1.0"
