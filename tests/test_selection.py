"""Exports of a selection: the CSV table and the zip of images."""

import io
import zipfile

import numpy as np
import pandas as pd
from PIL import Image

from msdash.dataset import Dataset
from msdash.features import extract
from msdash.selection import selection_table, selection_zip


def _dataset():
    images = {"a": np.eye(4, dtype=np.float32), "b": np.ones((4, 4), np.float32), "v": np.zeros((2, 4, 4), np.float32)}
    props = pd.DataFrame({"hv": [1.0, 2.0, np.nan], "paper": ["x", "y", "x"]}, index=list(images))
    return Dataset("s", images, props)


class TestSelectionTable:
    def test_rows_in_selection_order_with_prefixed_features(self):
        ds = _dataset()
        table = extract(ds, "volume_fraction", store=False)
        out = selection_table(ds, ["b", "a"], [table])
        assert list(out.index) == ["b", "a"]
        assert list(out.columns) == ["hv", "paper", "volume_fraction:" + table.labels[0]]
        assert out.loc["a", "volume_fraction:" + table.labels[0]] == 0.25
        assert out.loc["b", "hv"] == 2.0


class TestSelectionZip:
    def test_png_for_images_npy_for_volumes(self):
        ds = _dataset()
        with zipfile.ZipFile(io.BytesIO(selection_zip(ds, ["a", "v"]))) as archive:
            assert sorted(archive.namelist()) == ["a.png", "v.npy"]
            png = np.asarray(Image.open(io.BytesIO(archive.read("a.png"))))
            np.testing.assert_array_equal(png, np.eye(4) * 255)
            volume = np.load(io.BytesIO(archive.read("v.npy")), allow_pickle=False)
            assert volume.shape == (2, 4, 4)
