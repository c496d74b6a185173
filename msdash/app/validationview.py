"""Validation page: how one check is shown."""

import streamlit as st

from msdash.app.charts import chart
from msdash.display import escape_markdown

def show_check(name, check):
    """Render one :class:`msdash.validation.Check`: verdict, numbers, figure, note and downloads."""
    st.subheader(f"{'✅' if check.passed else '❌'} {escape_markdown(check.title)}")
    st.caption(escape_markdown(f"{check.summary} Computed in {check.seconds:.1f} s on this machine."))
    chart(check.figure, key=f"validation_figure_{name}", filename=f"validation-{name}")
    if check.note:
        st.info(escape_markdown(check.note))
    left, right = st.columns(2)
    left.download_button("Figure (HTML, opens offline)", check.figure_html, file_name=f"validation-{name}.html",
                         mime="text/html", key=f"download_validation_figure_{name}")
    right.download_button("Numbers (CSV)", check.table_csv, file_name=f"validation-{name}.csv", mime="text/csv",
                          key=f"download_validation_table_{name}")
    with st.expander("Numbers"):
        st.dataframe(check.table, hide_index=True)
