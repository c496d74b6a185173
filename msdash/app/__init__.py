"""The Streamlit layer: session-state keys, cached wrappers and widgets. The only streamlit importer."""
