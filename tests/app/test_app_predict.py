"""Predict page through AppTest: a model from the Models page predicts tiles of an uploaded micrograph."""

import numpy as np
from streamlit.testing.v1 import AppTest

from conftest import ROOT, png_bytes
from msdash.synthetic import two_phase


def test_tiles_of_an_upload_get_intervals_ood_flags_and_a_histogram():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("msdash/app/screens/features.py").run()
    at.selectbox(key="extractor").set_value("two_point_paper_a").run()
    at.button(key="compute_features").click().run()
    at.switch_page("msdash/app/screens/models.py").run()
    at.selectbox(key="model_groups").set_value("(none)").run()
    at.button(key="run_models").click().run()  # pr on volume_fraction
    at.switch_page("msdash/app/screens/predict.py").run()
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


def test_grouped_run_gives_group_aware_intervals_and_says_which_ood_part_fired():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("msdash/app/screens/features.py").run()
    at.selectbox(key="extractor").set_value("two_point_paper_a").run()
    at.button(key="compute_features").click().run()
    at.switch_page("msdash/app/screens/models.py").run()
    assert at.selectbox(key="model_groups").value == "family"  # random folds and grouped by family
    at.button(key="run_models").click().run()
    at.switch_page("msdash/app/screens/predict.py").run()
    assert not at.exception
    assert "intervals grouped by family" in at.selectbox(key="predict_run").format_func(0)
    field = two_phase(1, (64, 64), volume_fraction=0.5, correlation_length=4.0, seed=5)[0]
    board = (np.indices((64, 64)).sum(axis=0) % 2).astype(float)  # a period-2 checkerboard: like no demo cell
    at.file_uploader(key="predict_files").set_value([("field.png", png_bytes(field * 255), "image/png"),
                                                     ("board.png", png_bytes(board * 255), "image/png")]).run()
    assert not at.exception
    out = at.dataframe[0].value.set_index("name")
    assert not out.loc["field", "out of distribution"] and out.loc["field", "why"] == ""
    # the checkerboard's two-point map lies far outside the few PCs the model keeps, not between training
    # samples inside them: only the residual part catches it (the old, inside-only flag did not)
    assert out.loc["board", "out of distribution"] and out.loc["board", "why"] == "outside the PCs"
    shown = {m.label: m.value for m in at.metric}
    assert int(shown["Out of distribution inside the PCs"]) == out["why"].isin(["inside the PCs", "both"]).sum()
    assert int(shown["Out of distribution outside the PCs"]) == out["why"].isin(["outside the PCs", "both"]).sum()
    captions = " ".join(c.value for c in at.caption)
    assert "group-aware out-of-fold residuals (grouped by family)" in captions
    assert "coverage on held-out groups" in captions and "Random-fold residuals would give" in captions
