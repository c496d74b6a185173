"""The dashboard through Streamlit's AppTest: pages, uploads, saving, refresh, isolation, deletion."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, phase_maps, png_bytes, zip_bytes
from msdash.data.dataset import Dataset
from msdash.data.datastore import list_datasets, save_dataset

APP = str(ROOT / "app.py")


def new_app(query=None):
    at = AppTest.from_file(APP, default_timeout=60)
    if query:
        at.query_params.update(query)
    return at.run()


def text_of(at):
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [e.value for e in at.success] + [e.value for e in at.warning]
    parts += [e.value for e in at.info]
    return "\n".join(str(p) for p in parts)


def upload_zip_and_table(at, n=4, table=None):
    maps = phase_maps(n)
    archive = zip_bytes({f"set/{name}.png": png_bytes(a) for name, a in maps.items()})
    if table is None:
        rows = "\n".join(f"{name.upper()}.png;{410 + i},5;P{i % 2}" for i, name in enumerate(maps) if i < n - 1)
        table = ("name;hardness (HV);paper\n" + rows + "\nghost.png;1;P9\n").encode("latin-1")
    at.file_uploader(key="upload_images").set_value([("set.zip", archive, "application/zip")])
    at.file_uploader(key="upload_table").set_value([("props.csv", table, "text/csv")])
    return at.run(), maps


class TestFirstOpen:
    def test_demo_is_open_and_saved(self):
        at = new_app()
        assert not at.exception
        assert "Demo" in text_of(at)
        ids = [info.id for info in list_datasets()]
        assert len(ids) == 1 and at.query_params["ds"] == ids[0]

    def test_gallery_shows_demo_thumbnails_and_pages(self):
        at = new_app()
        at.switch_page("msdash/app/screens/gallery.py").run()
        assert not at.exception
        grid = at.image[:-1]  # the last image is the sample viewer's
        assert len(grid) == 24  # the first page of 24 thumbnails
        assert grid[0].proto.imgs[0].caption.startswith("demo_000 · volume_fraction: ")
        assert "300 of 300 samples" in text_of(at)
        assert len(at.get("pagination")) == 1

    def test_gallery_filter_and_sort(self):
        from msdash.data.dataset import demo_dataset

        vf = demo_dataset().properties["volume_fraction"]
        at = new_app()
        at.switch_page("msdash/app/screens/gallery.py").run()
        at.selectbox(key="gallery_filter").set_value("volume_fraction").run()
        at.slider(key="gallery_range_volume_fraction").set_value((0.5, float(vf.max()))).run()
        at.selectbox(key="gallery_sort").set_value("volume_fraction").run()
        names = at.selectbox(key="viewer_sample").options
        assert 0 < len(names) < 300
        values = [vf[n] for n in names]
        assert min(values) >= 0.5 and values == sorted(values)
        assert len(names) == int((vf >= 0.5).sum())


class TestUpload:
    def test_zip_and_csv_match_report_then_save(self):
        at, maps = upload_zip_and_table(new_app())
        assert not at.exception
        shown = text_of(at)
        assert "Match report" in shown  # the counts are checked on the metrics below
        metrics = {m.label: m.value for m in at.metric}
        assert metrics["Matched images"] == "3"
        assert metrics["Images without a row"] == "1"
        assert metrics["Rows without an image"] == "1"
        at.selectbox(key="group_column").set_value("paper").run()
        at.button(key="save_upload").click().run()
        assert not at.exception
        saved = [i for i in list_datasets() if i.source == "upload"]
        assert len(saved) == 1 and saved[0].n_samples == 4
        assert at.query_params["ds"] == saved[0].id
        from msdash.data.datastore import load_dataset

        ds = load_dataset(saved[0].id)
        assert ds.group_column == "paper"
        assert ds.properties.loc["img_01", "hardness (HV)"] == pytest.approx(411.5)  # decimal comma with ';'
        np.testing.assert_array_equal(ds.images["img_02"], maps["img_02"] / 255)

    def test_bad_file_is_reported_and_others_load(self):
        at = new_app()
        at.file_uploader(key="upload_images").set_value([
            ("good.png", png_bytes(np.full((8, 8), 100)), "image/png"),
            ("broken.png", b"\x89PNG not really", "image/png"),
        ]).run()
        assert not at.exception
        assert any("broken.png" in e.value for e in at.error)
        assert any("Read 1 image" in s.value for s in at.success)

    def test_unsaved_upload_is_private_to_its_session(self):
        first, _ = upload_zip_and_table(new_app())
        assert any(m.label == "Matched images" for m in first.metric)
        second = new_app()
        assert not any(m.label == "Matched images" for m in second.metric)
        assert [i.source for i in list_datasets()] == ["demo"]


class TestWorkspace:
    def test_refresh_keeps_the_open_data_set(self):
        volume = np.zeros((5, 6, 7), np.float32)
        volume[:, :3] = 1
        ds_id = save_dataset(Dataset(name="My volumes", images={"v": volume}, properties=None, source="upload"))
        at = new_app({"ds": ds_id})
        assert "My volumes" in text_of(at)
        at.switch_page("msdash/app/screens/gallery.py").run()
        assert not at.exception
        assert [s.label for s in at.slider] == ["z (depth)", "y (rows)", "x (columns)"]

    def test_unknown_id_in_url_falls_back_to_demo_with_a_warning(self):
        at = new_app({"ds": "0123456789abcdef"})
        assert not at.exception
        assert "not in this workspace" in text_of(at)
        assert "Demo" in text_of(at)

    def test_open_and_delete_saved(self):
        other = save_dataset(Dataset(name="Other", images={"a": np.eye(4, dtype=np.float32)}, properties=None))
        at = new_app()
        at.button(key=f"open_{other}").click().run()
        assert at.query_params["ds"] == other and "Other" in text_of(at)
        at.button(key=f"delete_{other}").click().run()
        assert "cannot be undone" in text_of(at)
        assert other in [i.id for i in list_datasets()]  # nothing deleted before confirming
        at.button(key="confirm_delete").click().run()
        assert not at.exception
        assert other not in [i.id for i in list_datasets()]
        assert "Demo" in text_of(at)


class TestUploadKinds:
    def test_folder_upload(self):
        at = new_app()
        at.segmented_control(key="upload_mode").set_value("A folder").run()
        uploader = at.file_uploader(key="upload_folder")
        assert uploader.accept_directory
        uploader.set_value([("run1/a.png", png_bytes(np.zeros((6, 6))), "image/png"),
                            ("run1/sub/b.png", png_bytes(np.full((6, 9), 255)), "image/png")]).run()
        assert not at.exception
        assert any("Read 2 image" in s.value for s in at.success)

    def test_mat_with_several_arrays_lets_the_user_choose(self):
        import io

        import scipy.io

        buffer = io.BytesIO()
        scipy.io.savemat(buffer, {"phase": np.eye(5), "grain_ids": np.arange(30.0).reshape(5, 6)})
        at = new_app()
        at.file_uploader(key="upload_images").set_value([("scan.mat", buffer.getvalue(), "application/octet-stream")])
        at.run()
        assert any("scan" in e.value and "grain_ids" in e.value for e in at.error)
        at.selectbox(key="mat_scan").set_value("grain_ids").run()
        assert not at.exception
        assert any("Read 1 image" in s.value for s in at.success)
        at.button(key="save_upload").click().run()
        from msdash.data.datastore import load_dataset

        saved = load_dataset(at.query_params["ds"])
        assert saved.images["scan"].shape == (5, 6)


class TestGenerate:
    def test_generate_an_ising_set_from_the_data_page(self):
        at = new_app()
        at.selectbox(key="gen_kind").set_value("ising").run()
        at.number_input(key="gen_ising_n").set_value(8).run()
        at.number_input(key="gen_ising_size").set_value(16).run()
        at.button(key="generate").click().run()
        assert not at.exception
        assert "Generated “8 Ising snapshots 16×16”" in text_of(at)
        assert any(i.source == "generated" and i.n_samples == 8 for i in list_datasets())

    def test_cahn_hilliard_energy_curve_marks_the_saved_steps(self):
        import json

        from msdash.synthetic.generate import cahn_hilliard_history

        at = new_app()
        at.selectbox(key="gen_kind").set_value("cahn-hilliard").run()
        at.number_input(key="gen_cahn-hilliard_size").set_value(16).run()
        at.number_input(key="gen_cahn-hilliard_steps").set_value(200).run()
        at.number_input(key="gen_cahn-hilliard_snapshots").set_value(8).run()
        at.button(key="ch_energy").click().run()
        assert not at.exception
        import base64

        def values(field):  # plotly sends arrays as lists or as base64 typed arrays
            if isinstance(field, dict):
                return np.frombuffer(base64.b64decode(field["bdata"]), dtype=field["dtype"])
            return np.asarray(field)

        spec = json.loads(at.get("plotly_chart")[0].proto.spec)
        line, marks = spec["data"]
        expected = cahn_hilliard_history(size=16, steps=200, snapshots=8, ramp_snapshots=5, seed=0)
        np.testing.assert_allclose(values(line["y"]), expected["energy"])
        np.testing.assert_allclose(values(marks["y"]), expected["energy"][expected["saved"]])
        np.testing.assert_array_equal(values(marks["customdata"]), expected["saved"] + 1)
        assert sum(1 for step in expected["saved"] if step < 100) == 4  # min(5, 8 // 2) saved during the ramp
