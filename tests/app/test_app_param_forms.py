"""Widgets built from Param specs (msdash.app.forms): the generators' and the CNN runs' inputs, bounds and types."""

from streamlit.testing.v1 import AppTest

SCRIPT = '''
import streamlit as st
from msdash.app import forms
from msdash.learned.cnn.presets import LABELS, PARAMS
from msdash.synthetic.generate import GENERATORS

st.session_state["gen"] = forms.generator_params(GENERATORS["two-phase"], key_prefix="gen")
st.session_state["old_shape"] = forms.generator_params(GENERATORS["ising"][1], key_prefix="ising")
st.session_state["cnn"] = {p.name: forms.param_input(p, f"cnn_{p.name}", label=LABELS.get(p.name)) for p in PARAMS}
'''


def _app(tmp_path):
    script = tmp_path / "forms_page.py"
    script.write_text(SCRIPT, encoding="utf-8")
    return AppTest.from_file(str(script)).run()


def test_generator_inputs_follow_the_params(tmp_path):
    at = _app(tmp_path)
    assert not at.exception
    from msdash.synthetic.generate import GENERATORS

    spec = GENERATORS["two-phase"]
    assert [w.key for w in at.number_input if w.key.startswith("gen_")] == [f"gen_{p.name}" for p in spec.params]
    dims = at.number_input(key="gen_dims")
    assert (dims.proto.min, dims.proto.max, dims.value) == (2, 3, 2)
    assert at.number_input(key="gen_vf_max").proto.max == 1.0
    assert at.session_state["gen"] == spec.defaults()
    at.number_input(key="gen_n").set_value(7).run()
    assert at.session_state["gen"]["n"] == 7 and type(at.session_state["gen"]["n"]) is int
    # the tuple shape a page may still index: [1] is the params
    assert at.session_state["old_shape"] == GENERATORS["ising"].defaults()


def test_cnn_inputs_follow_the_params(tmp_path):
    at = _app(tmp_path)
    assert at.selectbox(key="cnn_device").options == ["auto", "cpu", "cuda"]
    assert at.selectbox(key="cnn_loss").value == "l1"
    assert at.number_input(key="cnn_outer").label == "outer folds"
    assert at.number_input(key="cnn_batch_size").label == "batch size"
    at.number_input(key="cnn_outer").set_value(3).run()
    assert at.session_state["cnn"]["outer"] == 3 and at.session_state["cnn"]["device"] == "auto"
