"""Validation: msdash's numbers against exact results and independent re-computations, computed live."""

import streamlit as st

from msdash.app import keys, validationview, widgets
from msdash.validation import CHECKS, run_checks

st.title("Validation")
st.markdown("Each check recomputes, on this machine and now, a number msdash produces and compares it with an "
            "exact result or an independent computation: homogenisation against laminates and the checkerboard, "
            "the Ising sampler against Onsager and Yang, two-point statistics against the direct sum, nested CV "
            "against scikit-learn, and interval coverage on groups never seen. All five take well under a "
            "minute on a laptop CPU.")
chosen = st.multiselect("Checks", list(CHECKS), default=list(CHECKS), format_func=CHECKS.get,
                        key="validation_checks")
if st.button("Run the checks", type="primary", key="run_validation", disabled=not chosen):
    bar = st.progress(0.0, text="Starting…")
    with widgets.user_errors("Validation"), st.spinner("Computing…"):
        st.session_state[keys.VALIDATION_RESULTS] = run_checks(
            chosen, progress=lambda done, total, name: bar.progress(done / total, text=CHECKS.get(name, name)))
    bar.empty()
results = st.session_state.get(keys.VALIDATION_RESULTS)
if not results:
    st.caption("Choose checks and run them; the results stay until you run them again.")
    st.stop()
passed = sum(check.passed for check in results.values())
st.metric("Checks passed", f"{passed} of {len(results)}")
for name, check in results.items():
    validationview.show_check(name, check)
