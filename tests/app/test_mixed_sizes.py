"""Folders of micrographs of different sizes: a default two-point run that works, and failures said once."""

import numpy as np
from streamlit.testing.v1 import AppTest

from conftest import ROOT

APP = str(ROOT / "app.py")


def _binary(shape, seed):
    return (np.random.default_rng(seed).random(shape) < 0.4).astype(np.float32)


def _open_features(images):
    """The Features page of a saved data set holding ``images``."""
    from msdash.data.dataset import Dataset
    from msdash.data.datastore import save_dataset

    dataset_id = save_dataset(Dataset("mixed", images))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["ds"] = dataset_id
    at.run()
    at.switch_page("msdash/app/screens/features.py").run()
    return at, dataset_id


def _text(at):
    return "\n".join(e.value for kind in (at.markdown, at.caption, at.info, at.warning, at.error) for e in kind)


class TestDefaultTwoPointOnMixedSizes:
    def test_the_cutoff_is_fixed_from_the_smallest_image_and_said_before_the_run(self):
        images = {f"big{i}": _binary((64, 64), i) for i in range(4)}
        images.update({f"small{i}": _binary((40, 48), 10 + i) for i in range(2)})
        at, dataset_id = _open_features(images)
        at.selectbox(key="extractor").set_value("two_point").run()
        notes = [i.value for i in at.info if "differ in size" in i.value]
        # default cutoffs: 64 px → 32, 40 px → 20 (min(max(32, 40 // 8), 64, 40 // 2)); the smallest wins
        assert len(notes) == 1 and "fixed at 20 px" in notes[0] and "1,681 features" in notes[0]
        assert any("1,681 features per sample × 6 samples" in c.value for c in at.caption)
        at.button(key="compute_features").click().run()
        assert not at.exception
        metrics = {m.label: m.value for m in at.metric}
        assert metrics["Features per sample"] == str(41 * 41) and metrics["Failed samples"] == "0"
        from msdash.features.correlation import two_point
        from msdash.features.store import list_tables

        (record,) = list_tables(dataset_id)
        assert record["params"]["cutoff"] == 20 and any("fixed at 20 px" in n for n in record["provenance"]["notes"])
        from msdash.data.datastore import load_dataset
        from msdash.features import extract

        table = extract(load_dataset(dataset_id), "two_point", **record["params"])  # read back from the store
        assert table.provenance["store_hits"] == 6
        row = table.names.index("small1")
        np.testing.assert_allclose(table.values[row], two_point(images["small1"], cutoff=20)[0].ravel())

    def test_equal_sizes_keep_the_default_and_say_nothing(self):
        at, _ = _open_features({f"i{k}": _binary((40, 40), k) for k in range(3)})
        at.selectbox(key="extractor").set_value("two_point").run()
        assert not [i for i in at.info if "differ in size" in i.value]
        assert any("1,681 features per sample × 3 samples" in c.value for c in at.caption)


class TestFailuresSaidOnce:
    def test_tiles_too_small_for_the_window_make_one_message(self):
        at, _ = _open_features({f"tile{k:03d}": _binary((128, 128), k) for k in range(30)})
        at.selectbox(key="extractor").set_value("two_point_paper_b").run()
        at.button(key="compute_features").click().run()
        assert not at.exception  # no raw ValueError after the failures
        errors = [e.value for e in at.error]
        assert len(errors) == 1, errors
        assert "no sample gave features" in errors[0] and "(30 samples, e.g. tile000)" in errors[0]
        assert errors[0].count("158 px") == 1

    def test_identical_failures_of_some_samples_are_one_line_with_a_count(self):
        images = {f"big{k}": _binary((160, 160), k) for k in range(2)}
        images.update({f"tile{k}": _binary((128, 128), 10 + k) for k in range(5)})
        at, _ = _open_features(images)
        at.selectbox(key="extractor").set_value("two_point_paper_b").run()
        at.button(key="compute_features").click().run()
        assert not at.exception and not at.error
        metrics = {m.label: m.value for m in at.metric}
        assert metrics["Failed samples"] == "5" and metrics["Features per sample"] == str(159 * 159)
        lines = [line for m in at.markdown for line in m.value.splitlines() if "158 px" in line]
        assert len(lines) == 1 and "5 samples (tile0, tile1, tile2 and 2 more)" in lines[0]
