"""Every plotly chart of the app goes through msdash.app.charts.chart, so each one downloads as PNG or SVG."""

import ast

import pytest

from conftest import ROOT
from msdash.app.charts import plotly_config

APP = ROOT / "msdash" / "app"


def _plotly_calls(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "plotly_chart"]


def test_no_module_but_charts_calls_plotly_chart():
    assert _plotly_calls(APP / "charts.py")  # the scan finds the one call there is
    callers = [f"{p.relative_to(ROOT)}:{line}" for p in sorted(APP.rglob("*.py")) if p.name != "charts.py"
               for line in _plotly_calls(p)]
    assert callers == []


@pytest.mark.parametrize("fmt, scale", [("png", 2), ("svg", 1)])
def test_the_configuration_names_the_format_and_a_safe_file_name(fmt, scale):
    options = plotly_config(fmt, "map: E/GPa <b>")["toImageButtonOptions"]
    assert options == {"format": fmt, "filename": "map-E-GPa-b", "scale": scale}


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="png"):
        plotly_config("jpeg")
