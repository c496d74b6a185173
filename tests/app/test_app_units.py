"""Pixel size in the app (issue 15 item 3): the SEM data-bar crop on the Data page, lengths in µm."""

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, png_bytes, sem_image, zip_bytes
from msdash.data.dataset import Dataset
from msdash.data.datastore import list_datasets, load_dataset, save_dataset

APP = str(ROOT / "app.py")


def _app(dataset_id=None):
    at = AppTest.from_file(APP, default_timeout=60)
    if dataset_id:
        at.query_params["ds"] = dataset_id
    return at.run()


def _texts(at):
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.info]
    parts += [e.value for e in at.error] + [e.value for e in at.success]
    return "\n".join(str(p) for p in parts)


class TestDataBarCrop:
    def test_an_upload_is_cropped_before_it_is_saved(self):
        images = {"sem_a": sem_image((200, 300)), "sem_b": sem_image((200, 300), seed=4)}
        archive = zip_bytes({f"{name}.png": png_bytes(a) for name, a in images.items()})
        at = _app()
        at.file_uploader(key="upload_images").set_value([("sem.zip", archive, "application/zip")]).run()
        assert not at.exception
        assert "A data bar was found in 2 of 2 images (40 px rows)" in _texts(at)
        box = at.checkbox(key="databar_upload_crop")
        assert box.label == "Crop the data bar (40 px rows)"
        assert [img.caption for image in at.image for img in image.proto.imgs][-1].startswith("cropped: 40 rows")
        box.check().run()
        at.button(key="save_upload").click().run()
        assert not at.exception
        saved = [info for info in list_datasets() if info.source == "upload"]
        ds = load_dataset(saved[0].id)
        assert ds.images.raw("sem_a").shape == (160, 300)
        assert np.array_equal(ds.images.raw("sem_b"), images["sem_b"][:160])
        assert any("data bar cropped" in note for note in ds.notes)

    def test_an_upload_is_saved_whole_unless_the_box_is_ticked(self):
        archive = zip_bytes({"sem_a.png": png_bytes(sem_image((200, 300)))})
        at = _app()
        at.file_uploader(key="upload_images").set_value([("sem.zip", archive, "application/zip")]).run()
        at.button(key="save_upload").click().run()
        saved = [info for info in list_datasets() if info.source == "upload"]
        assert load_dataset(saved[0].id).images.raw("sem_a").shape == (200, 300)

    def test_plain_micrographs_get_no_offer(self):
        archive = zip_bytes({"plain.png": png_bytes(sem_image((200, 300))[:160])})
        at = _app()
        at.file_uploader(key="upload_images").set_value([("plain.zip", archive, "application/zip")]).run()
        assert not at.exception and "SEM data bar" not in _texts(at)
        assert not [c for c in at.checkbox if c.key == "databar_upload_crop"]

    def test_the_open_set_is_cropped_into_a_new_set_that_keeps_its_table(self):
        table = pd.DataFrame({"hardness (HV)": [400.0, 420.0, 430.0], "paper": ["p1", "p1", "p2"]},
                             index=["a", "b", "c"])
        images = {"a": sem_image((200, 300)), "b": sem_image((200, 300), seed=2, bar=36),
                  "c": sem_image((220, 300), seed=3)}
        old_id = save_dataset(Dataset("SEM set", images, table, group_column="paper", pixel_size_um=0.0125))
        at = _app(old_id)
        at.toggle(key=f"databar_look_{old_id}").set_value(True).run()
        assert not at.exception
        assert "A data bar was found in 3 of 3 images (36–40 px rows)" in _texts(at)
        button = at.button(key="databar_saved_crop")
        assert button.label == "Crop the data bar (36–40 px rows) into a new data set"
        button.click().run()
        assert not at.exception
        new_id = at.query_params["ds"][0] if isinstance(at.query_params["ds"], list) else at.query_params["ds"]
        assert new_id != old_id
        new = load_dataset(new_id)
        assert new.name == "SEM set (data bar cropped)" and new.group_column == "paper"
        assert [new.images.raw(n).shape[0] for n in new.names] == [160, 164, 180]
        assert new.pixel_size_um == pytest.approx(0.0125)
        assert new.properties["hardness (HV)"].tolist() == [400.0, 420.0, 430.0]
        assert load_dataset(old_id).images.raw("a").shape == (200, 300)  # the old set is kept as it was

    def test_one_height_for_all(self):
        images = {"a": sem_image((200, 300)), "b": sem_image((200, 300), seed=2, bar=36)}
        old_id = save_dataset(Dataset("SEM set", images))
        at = _app(old_id)
        at.toggle(key=f"databar_look_{old_id}").set_value(True).run()
        at.radio(key=f"databar_saved_{old_id}_how").set_value("One height for all").run()
        assert at.number_input(key=f"databar_saved_{old_id}_rows").value in (36, 40)
        at.number_input(key=f"databar_saved_{old_id}_rows").set_value(45).run()
        at.button(key="databar_saved_crop").click().run()
        assert not at.exception
        new = next(info for info in list_datasets() if info.name.endswith("(data bar cropped)"))
        assert {load_dataset(new.id).images.raw(n).shape for n in ("a", "b")} == {(155, 300)}

    def test_the_demo_has_no_data_bar(self):
        at = _app()
        dataset_id = at.query_params["ds"]
        dataset_id = dataset_id[0] if isinstance(dataset_id, list) else dataset_id
        at.toggle(key=f"databar_look_{dataset_id}").set_value(True).run()
        assert not at.exception
        assert "No data bar found at the bottom of these images." in _texts(at)
        assert not [b for b in at.button if b.key == "databar_saved_crop"]  # nothing chosen: nothing to crop


def _lengths_set(pixel_size_um):
    rng = np.random.default_rng(0)
    images = {f"s{i}": (rng.random((32, 32)) < 0.4).astype(np.uint8) * 255 for i in range(3)}
    table = pd.DataFrame({"correlation_length (px)": [4.0, 8.0, 6.0], "interface_density (1/px)": [0.1, 0.2, 0.3]},
                         index=list(images))
    return save_dataset(Dataset("lengths", images, table, pixel_size_um=pixel_size_um))


def _captions(at):
    return [img.caption for image in at.image for img in image.proto.imgs]


class TestLengthsInMicrometres:
    def test_the_gallery_shows_px_columns_in_micrometres(self):
        at = _app(_lengths_set(0.5))
        at.switch_page("msdash/app/screens/gallery.py").run()
        assert not at.exception
        assert "correlation_length (µm)" in at.selectbox(key="gallery_sort").options
        # 4 px × 0.5 µm = 2 µm; 0.1 per px / 0.5 µm = 0.2 per µm
        assert "s0 · correlation_length (µm): 2 · interface_density (1/µm): 0\\.2" in _captions(at)  # escaped

    def test_without_a_pixel_size_the_gallery_says_px(self):
        at = _app(_lengths_set(None))
        at.switch_page("msdash/app/screens/gallery.py").run()
        assert "s0 · correlation_length (px): 4 · interface_density (1/px): 0\\.1" in _captions(at)

    def test_the_data_page_table_is_shown_in_micrometres_and_kept_in_px(self):
        dataset_id = _lengths_set(0.25)
        at = _app(dataset_id)
        shown = at.dataframe[0].value
        assert list(shown.columns) == ["correlation_length (µm)", "interface_density (1/µm)"]
        assert shown["correlation_length (µm)"].tolist() == pytest.approx([1.0, 2.0, 1.5])  # × 0.25
        assert shown["interface_density (1/µm)"].tolist() == pytest.approx([0.4, 0.8, 1.2])  # ÷ 0.25
        assert "kept in px" in _texts(at)
        assert list(load_dataset(dataset_id).properties.columns) == ["correlation_length (px)",
                                                                     "interface_density (1/px)"]

    def test_the_features_page_gives_the_two_point_lags_in_micrometres(self):
        at = _app(_lengths_set(0.0125))
        at.switch_page("msdash/app/screens/features.py").run()
        at.selectbox(key="extractor").set_value("two_point").run()
        at.checkbox(key="param_two_point_cutoff_on").check().run()
        at.number_input(key="param_two_point_cutoff").set_value(4).run()
        at.button(key="compute_features").click().run()
        assert not at.exception
        assert ("Two-point lags dy, dx run from −4 to 4 px in steps of 1 px: −50 nm to 50 nm in steps of 12.5 nm."
                in _texts(at))  # 4 × 12.5 nm

    def test_gallery_thumbnails_carry_a_scale_bar(self, monkeypatch):
        import streamlit as st

        shown = {}
        draw = st.image

        def recording(image, caption=None, **kwargs):  # the real st.image, remembering what it drew
            shown[str(caption)] = np.asarray(image)
            return draw(image, caption=caption, **kwargs)

        monkeypatch.setattr(st, "image", recording)
        dataset_id = save_dataset(Dataset("dark", {"a": np.zeros((32, 32), np.uint8), "b": np.ones((32, 32))},
                                          pixel_size_um=0.5))
        at = _app(dataset_id)
        at.switch_page("msdash/app/screens/gallery.py").run()
        assert not at.exception
        thumb = shown["a"]  # black image: every white pixel is the bar or its label
        assert thumb.shape == (128, 128, 3)
        # a 16 µm wide image at 0.5 µm/px gets a 2 µm bar: 4 source px, 16 px on the 128-px thumbnail
        runs = [max((len(r) for r in "".join("1" if v else "0" for v in row[:, 0] == 255).split("0")), default=0)
                for row in thumb[96:]]
        assert 15 <= max(runs) <= 17
