"""Pixel size read from what microscopes and ImageJ write into TIFFs (issue 15 item 3)."""

import io

import numpy as np
import pytest

from msdash.errors import InputError
from msdash.io import load_images
from msdash.data.pixelsize import format_length, parse_pixel_size, scale_bar_length


def _tiff(**kwargs):
    import tifffile

    buffer = io.BytesIO()
    image = (np.arange(64 * 48).reshape(48, 64) % 251).astype(np.uint8)
    tifffile.imwrite(buffer, image, **kwargs)
    return buffer.getvalue()


def _size(data, name="x.tif"):
    result = load_images([(name, data)])
    assert not result.errors, result.errors
    return result.pixel_sizes.get(name.rsplit(".", 1)[0])


def test_imagej_micron_pixel_size_is_read():
    # the example: an ImageJ TIFF at 0.0125 µm per pixel (80 pixels per micron)
    size = _size(_tiff(imagej=True, resolution=(80.0, 80.0), metadata={"unit": "micron"}))
    assert size.source == "ImageJ metadata" and size.um == pytest.approx(0.0125, rel=1e-9)


def test_imagej_nanometre_unit_is_converted():
    size = _size(_tiff(imagej=True, resolution=(0.5, 0.5), metadata={"unit": "nm"}))  # 2 nm per pixel
    assert size.um == pytest.approx(0.002, rel=1e-9)


def test_fei_pixel_width_in_metres():
    text = "[User]\nDate=01/02/2025\n[Scan]\nPixelWidth=3.3e-09\nPixelHeight=3.3e-09\n"
    size = _size(_tiff(extratags=[(34682, "s", 0, text, True)]))
    assert size.source == "FEI/Thermo metadata" and size.um == pytest.approx(3.3e-3, rel=1e-9)


def test_zeiss_image_pixel_size():
    text = "AP_IMAGE_PIXEL_SIZE\nImage Pixel Size = 4.5 nm\nAP_WD\nWD = 8.5 mm\n"
    size = _size(_tiff(extratags=[(34118, "s", 0, text, True)]))
    assert size.source == "Zeiss SEM metadata" and size.um == pytest.approx(4.5e-3, rel=1e-9)


def test_centimetre_resolution_is_read_and_inches_are_not():
    per_cm = _size(_tiff(resolution=(20000.0, 20000.0), resolutionunit="CENTIMETER"))  # 0.5 µm per pixel
    assert per_cm.source == "TIFF resolution tags" and per_cm.um == pytest.approx(0.5, rel=1e-9)
    assert _size(_tiff(resolution=(300.0, 300.0), resolutionunit="INCH")) is None  # a print setting
    assert _size(_tiff()) is None


def test_the_set_agrees_on_one_pixel_size_or_says_none():
    a = _tiff(imagej=True, resolution=(80.0, 80.0), metadata={"unit": "micron"})
    b = _tiff(imagej=True, resolution=(40.0, 40.0), metadata={"unit": "micron"})
    assert load_images([("a.tif", a), ("c.tif", a)]).pixel_size.um == pytest.approx(0.0125)
    assert load_images([("a.tif", a), ("b.tif", b)]).pixel_size is None


def test_damaged_metadata_does_not_refuse_the_pixels():
    text = "[Scan]\nPixelWidth=not a number\n"
    result = load_images([("x.tif", _tiff(extratags=[(34682, "s", 0, text, True)]))])
    assert not result.errors and "x" in result.images and "x" not in result.pixel_sizes


@pytest.mark.parametrize("text,um", [("12.5 nm", 0.0125), ("0.5", 0.5), ("2 µm", 2.0), ("1e-3 mm", 1.0),
                                     ("3 Å", 3e-4)])
def test_typed_pixel_sizes(text, um):
    assert parse_pixel_size(text) == pytest.approx(um, rel=1e-12)


@pytest.mark.parametrize("text", ["", "-1 nm", "5 parsecs", "nm", "0"])
def test_bad_typed_pixel_sizes_say_what_is_expected(text):
    with pytest.raises(InputError, match="positive length"):
        parse_pixel_size(text)


def test_scale_bar_is_a_round_length_near_a_quarter_of_the_width():
    for pixel_um, width in ((0.0125, 1024), (0.37, 640), (2.0, 100), (1e-3, 4096)):
        length, pixels = scale_bar_length(pixel_um, width)
        mantissa = length / 10 ** np.floor(np.log10(length))
        assert round(mantissa, 9) in (1, 2, 5)
        assert 0.1 * width <= pixels <= 0.25 * width + 1e-9
        assert pixels == pytest.approx(length / pixel_um)
    assert format_length(0.0125) == "12.5 nm"


class TestDatasetPixelSize:
    def test_upload_keeps_the_files_pixel_size_through_save_and_load(self):
        from msdash.data.datastore import load_dataset, save_dataset
        from msdash.data.ingest import build_dataset

        data = _tiff(imagej=True, resolution=(80.0, 80.0), metadata={"unit": "micron"})
        loaded = load_images([("a.tif", data), ("b.tif", data)])
        ds = build_dataset(loaded.images, name="sem", pixel_size=loaded.pixel_size)
        assert ds.pixel_size_um == pytest.approx(0.0125) and any("12.5 nm" in n for n in ds.notes)
        assert load_dataset(save_dataset(ds)).pixel_size_um == pytest.approx(0.0125)

    def test_pixel_size_is_not_part_of_the_id_and_can_be_set_and_cleared(self):
        from msdash.data.dataset import Dataset
        from msdash.data.datastore import load_dataset, save_dataset, set_pixel_size

        images = {"a": np.zeros((4, 4)), "b": np.ones((4, 4))}
        plain, scaled = Dataset("x", images), Dataset("x", images, pixel_size_um=0.5)
        assert plain.content_hash() == scaled.content_hash()
        dataset_id = save_dataset(plain)
        assert set_pixel_size(dataset_id, 2.5) == 2.5 and load_dataset(dataset_id).pixel_size_um == 2.5
        assert set_pixel_size(dataset_id, None) is None and load_dataset(dataset_id).pixel_size_um is None
        with pytest.raises(InputError, match="positive number of micrometres"):
            set_pixel_size(dataset_id, -1)
        with pytest.raises(InputError, match="positive number of micrometres"):
            Dataset("x", images, pixel_size_um=float("nan"))

    def test_the_data_page_sets_the_pixel_size(self):
        from streamlit.testing.v1 import AppTest

        from conftest import ROOT
        from msdash.data.dataset import Dataset
        from msdash.data.datastore import load_dataset, save_dataset

        dataset_id = save_dataset(Dataset("x", {"a": np.zeros((4, 4)), "b": np.ones((4, 4))}))
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.query_params["ds"] = dataset_id
        at.run()
        at.text_input(key=f"pixel_size_{dataset_id}").input("12.5 nm").run()
        at.button(key="set_pixel_size").click().run()
        assert not at.exception
        assert load_dataset(dataset_id).pixel_size_um == pytest.approx(0.0125)
        at.text_input(key=f"pixel_size_{dataset_id}").input("twelve").run()
        at.button(key="set_pixel_size").click().run()
        assert any("positive length" in str(e.value) for e in at.error)
        assert load_dataset(dataset_id).pixel_size_um == pytest.approx(0.0125)  # a bad entry loses nothing


class TestScaleBar:
    def test_the_bar_is_as_long_as_its_label_says(self):
        from msdash.data.pixelsize import draw_scale_bar

        # a 1,024 px image at 0.0125 µm/px shown at 128 px: a 2 µm bar is 160 source px, 20 shown px
        shown = draw_scale_bar(np.zeros((128, 128), np.uint8), pixel_um=0.0125, source_width=1024)
        assert shown.shape == (128, 128, 3)
        white_rows = [(shown[r, :, 0] == 255).sum() for r in range(96, 128)]
        bar = max(white_rows)  # the bar's rows are its longest white runs (text strokes are shorter)
        assert 19 <= bar <= 21
        assert (shown[:64, :64] == 0).all()  # nothing drawn outside the corner

    def test_the_original_picture_is_left_as_it_was(self):
        from msdash.data.pixelsize import draw_scale_bar

        picture = np.full((64, 80), 100, np.uint8)
        draw_scale_bar(picture, pixel_um=0.5, source_width=80)
        assert (picture == 100).all()

    def test_the_viewer_shows_the_bar_and_the_width_in_micrometres(self):
        from streamlit.testing.v1 import AppTest

        from conftest import ROOT
        from msdash.data.dataset import Dataset
        from msdash.data.datastore import save_dataset

        ds = Dataset("sem", {"a": np.zeros((100, 200)), "b": np.ones((100, 200))}, pixel_size_um=0.05)
        dataset_id = save_dataset(ds)
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.query_params["ds"] = dataset_id
        at.run()
        at.switch_page("msdash/app/screens/gallery.py").run()
        assert not at.exception
        captions = [img.caption for image in at.image for img in image.proto.imgs]
        assert any("10 µm wide (50 nm per pixel)" in c for c in captions), captions


class TestLengthsInMicrometres:
    """Values stay in px; what is shown converts them with the pixel size (compared with hand arithmetic)."""

    def test_length_labels(self):
        from msdash.data.lengths import length_label

        assert length_label(32, 0.0125) == "400 nm"  # 32 × 12.5 nm
        assert length_label(7, 2.0) == "14 µm"
        assert length_label(3000, 1.0) == "3 mm"
        assert length_label(32, None) == "32 px"
        assert length_label(0.08, 0.0125, power=-1) == "6.4 1/µm"  # 0.08 / 0.0125
        assert length_label(100, 0.5, power=2) == "25 µm²"  # 100 × 0.25
        with pytest.raises(ValueError, match="power"):
            length_label(1, 1.0, power=3)

    def test_lag_axis(self):
        from msdash.data.lengths import lag_axis_um

        lags, unit = lag_axis_um(32, 0.0125)
        assert unit == "µm" and len(lags) == 65
        assert np.allclose(lags, [k * 0.0125 for k in range(-32, 33)], rtol=0, atol=1e-15)
        assert lag_axis_um(3, None)[1] == "px" and lag_axis_um(3, None)[0].tolist() == [-3, -2, -1, 0, 1, 2, 3]

    @pytest.mark.parametrize("column,expected", [
        ("correlation_length (px)", ("correlation_length (µm)", 0.25)),
        ("interface_density (1/px)", ("interface_density (1/µm)", 4.0)),
        ("grain area [px²]", ("grain area [µm²]", 0.0625)),
        ("width (pixels)", ("width (µm)", 0.25)),
        ("hardness (HV)", None), ("pixels", None), ("px", None)])
    def test_which_columns_convert(self, column, expected):
        from msdash.data.lengths import column_in_um

        assert column_in_um(column, 0.25) == expected

    def test_the_table_is_converted_for_display_and_the_stored_one_is_not(self):
        import pandas as pd

        from msdash.data.lengths import properties_in_um

        table = pd.DataFrame({"correlation_length (px)": [2.0, 8.0], "interface_density (1/px)": [0.1, 0.25],
                              "family": ["a", "b"], "L (px)": [1.0, 2.0], "L (µm)": [5.0, 6.0]}, index=["s0", "s1"])
        before = table.copy()
        shown = properties_in_um(table, 0.0125)
        assert list(shown.columns) == ["correlation_length (µm)", "interface_density (1/µm)", "family", "L (px)",
                                       "L (µm)"]  # "L (px)" stays: its µm name is taken
        assert shown["correlation_length (µm)"].tolist() == pytest.approx([2.0 * 0.0125, 8.0 * 0.0125])
        assert shown["interface_density (1/µm)"].tolist() == pytest.approx([0.1 / 0.0125, 0.25 / 0.0125])
        assert shown["family"].tolist() == ["a", "b"] and shown["L (µm)"].tolist() == [5.0, 6.0]
        pd.testing.assert_frame_equal(table, before)
        assert properties_in_um(table, None) is table

    def test_the_dataset_as_shown_shares_its_images_and_keeps_its_group(self):
        import pandas as pd

        from msdash.data.dataset import Dataset
        from msdash.data.lengths import dataset_in_um

        table = pd.DataFrame({"d (px)": [1.0, 3.0], "group (px)": ["x", "y"]}, index=["a", "b"])
        ds = Dataset("t", {"a": np.zeros((4, 4), np.uint8), "b": np.ones((4, 4), np.uint8)}, table,
                     group_column="group (px)", derived={"d (px)": "d (px) = 1 × e"}, pixel_size_um=2.0)
        shown = dataset_in_um(ds)
        assert shown.properties["d (µm)"].tolist() == [2.0, 6.0]
        assert shown.group_column == "group (µm)" and shown.derived == {"d (µm)": "d (px) = 1 × e"}
        assert shown.images.raw("a") is ds.images.raw("a")
        assert list(ds.properties.columns) == ["d (px)", "group (px)"]  # the set itself is unchanged
        plain = Dataset("t", {"a": np.zeros((4, 4))}, pd.DataFrame({"d (px)": [1.0]}, index=["a"]))
        assert dataset_in_um(plain) is plain

    def test_the_two_point_lags_of_a_computed_table(self):
        from msdash.data.lengths import feature_axis_note
        from msdash.features import extract
        from msdash.data.dataset import Dataset

        rng = np.random.default_rng(0)
        ds = Dataset("t", {f"s{i}": (rng.random((32, 32)) < 0.4).astype(np.float32) for i in range(2)})
        table = extract(ds, "two_point", cutoff=4)
        note = feature_axis_note(table.labels, 0.0125)
        assert note.startswith("Two-point lags dy, dx run from −4 to 4 px in steps of 1 px")
        assert note.endswith(": −50 nm to 50 nm in steps of 12.5 nm.")  # 4 × 12.5 nm
        assert "set it on the Data page" in feature_axis_note(table.labels, None)

    def test_the_psd_bins_in_inverse_micrometres(self):
        from msdash.data.lengths import feature_axis_note
        from msdash.features.spectral import psd_labels

        note = feature_axis_note(psd_labels(32), 0.5)
        low, high = 0.5 / 64, 31.5 / 64  # bin centres in cycles per pixel
        assert f"{low / 0.5:.3g} 1/µm to {high / 0.5:.3g} 1/µm" in note
        assert feature_axis_note(["vf"], 0.5) is None and feature_axis_note([], 0.5) is None

    def test_a_selection_exported_from_the_shown_set_names_its_units(self):
        import pandas as pd

        from msdash.data.dataset import Dataset
        from msdash.data.lengths import dataset_in_um
        from msdash.selection import selection_table

        table = pd.DataFrame({"correlation_length (px)": [4.0, 6.0]}, index=["a", "b"])
        ds = Dataset("t", {"a": np.zeros((4, 4)), "b": np.ones((4, 4))}, table, pixel_size_um=0.0125)
        export = selection_table(dataset_in_um(ds), ["b"])
        assert list(export.columns) == ["correlation_length (µm)"]
        assert export.loc["b", "correlation_length (µm)"] == pytest.approx(6.0 * 0.0125)
