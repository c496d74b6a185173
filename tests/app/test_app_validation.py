"""Validation page through AppTest: the checks run on demand, each with its verdict, figure and downloads."""

from streamlit.testing.v1 import AppTest

from conftest import ROOT


def test_checks_run_on_demand_and_show_verdict_figure_and_downloads():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("msdash/app/screens/validation.py").run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 0  # nothing is computed before the button
    at.multiselect(key="validation_checks").set_value(["two_point", "homogenisation"]).run()
    at.button(key="run_validation").click().run()
    assert not at.exception
    assert at.metric[0].value == "2 of 2"
    titles = [h.value for h in at.subheader]
    assert titles == ["✅ Two-point statistics: FFT vs direct sum", "✅ Homogenisation: laminate and checkerboard"]
    assert len(at.get("plotly_chart")) == 2
    keys = {b.proto.id for b in at.get("download_button")}
    assert len(keys) == 4  # figure (HTML) and numbers (CSV) for each check
    assert any("Dykhne" in c.value for c in at.caption)
    at.run()  # another rerun (any widget) still shows the results
    assert len(at.get("plotly_chart")) == 2
