"""Predict page through AppTest: a model from the Models page predicts tiles of an uploaded micrograph."""

import numpy as np
from streamlit.testing.v1 import AppTest

from conftest import ROOT, png_bytes
from msdash.synthetic import two_phase


def test_tiles_of_an_upload_get_intervals_ood_flags_and_a_histogram():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("pages/features.py").run()
    at.selectbox(key="extractor").set_value("two_point_paper_a").run()
    at.button(key="compute_features").click().run()
    at.switch_page("pages/models.py").run()
    at.selectbox(key="model_groups").set_value("(none)").run()
    at.button(key="run_models").click().run()  # pr on volume_fraction
    at.switch_page("pages/predict.py").run()
    assert not at.exception
    micrograph = two_phase(1, (192, 192), volume_fraction=0.6, correlation_length=4.0, seed=3)[0]
    at.file_uploader(key="predict_files").set_value([("big.png", png_bytes(micrograph * 255), "image/png")]).run()
    at.toggle(key="predict_tiles").set_value(True).run()
    at.number_input(key="predict_tile_size").set_value(64).run()
    at.number_input(key="predict_tile_stride").set_value(64).run()
    at.number_input(key="predict_truth").set_value(0.6).run()
    assert not at.exception
    out = at.dataframe[0].value
    assert len(out) == 9  # 3 × 3 tiles of 64 px
    predicted = out["predicted volume_fraction"].to_numpy()
    assert np.all(out["lower"] <= predicted) and np.all(predicted <= out["upper"])
    assert abs(np.median(predicted) - 0.6) < 0.1  # the tiles' volume fraction is about 0.6
    assert len(at.get("plotly_chart")) == 1  # the histogram of tile predictions
