"""Tests of msdash.features.foundation with tiny randomly initialised models saved to a temp folder (no network)."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from foundation_tiny import DIM, save_tiny_models
from msdash.errors import InputError
from msdash.features import foundation
from msdash.features.foundation import PRESETS, embed, embed_labels, load_model, model_status, status_table


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return save_tiny_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def models(folders):
    return {name: load_model(folder, device="cpu") for name, folder in folders.items()}


def _images(n=4, shape=(30, 44), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.random(shape).astype(np.float32) for _ in range(n)]


class TestPresets:
    def test_dims_and_ids(self):
        assert PRESETS["dinov2-small"].dim == 384 and PRESETS["dinov2-giant"].dim == 1536
        assert PRESETS["dinov2-base-with-registers"].hub_id == "facebook/dinov2-with-registers-base"
        assert PRESETS["clip-b32"].hub_id == "openai/clip-vit-base-patch32" and PRESETS["clip-l14"].dim == 1024
        assert PRESETS["sam-huge"].hub_id == "facebook/sam-vit-huge" and PRESETS["sam-huge"].dim == 256
        assert {p.family for p in PRESETS.values()} == {"dinov2", "clip", "sam"}

    def test_import_does_not_import_torch(self):
        code = "import sys, msdash.features.foundation; print('torch' in sys.modules, 'transformers' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.split() == ["False", "False"]


class TestModelStatus:
    def test_fake_cache_is_present(self, tmp_path, monkeypatch):
        snapshot = tmp_path / "models--facebook--dinov2-small" / "snapshots" / "abc123"
        snapshot.mkdir(parents=True)
        (snapshot / "config.json").write_text('{"model_type": "dinov2"}')
        (snapshot / "model.safetensors").write_bytes(b"0" * 2048)
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
        status = model_status("dinov2-small")
        assert status["present"] and status["path"] == str(snapshot) and status["family"] == "dinov2"
        assert status["size_mb"] >= 0

    def test_missing_preset_says_how_to_get_it(self, tmp_path):
        status = model_status("clip-b16", cache_dir=tmp_path)
        assert not status["present"] and status["path"] is None
        assert "huggingface-cli download openai/clip-vit-base-patch16" in status["message"]

    def test_hf_home_is_honoured(self, tmp_path, monkeypatch):
        monkeypatch.delenv("HF_HUB_CACHE", raising=False)
        monkeypatch.setenv("HF_HOME", str(tmp_path))
        snapshot = tmp_path / "hub" / "models--facebook--sam-vit-base" / "snapshots" / "x"
        snapshot.mkdir(parents=True)
        (snapshot / "config.json").write_text('{"model_type": "sam"}')
        (snapshot / "model.safetensors").write_bytes(b"0")
        assert model_status("sam-base")["present"]

    def test_status_table_lists_every_preset(self, tmp_path):
        table = status_table(cache_dir=tmp_path)
        assert [row["name"] for row in table] == list(PRESETS) and not any(row["present"] for row in table)

    def test_local_folder(self, folders):
        status = model_status(folders["dinov2"])
        assert status["present"] and status["id"] is None and status["family"] == "dinov2"
        assert model_status(folders["registers"])["family"] == "dinov2"
        assert model_status(folders["clip"])["family"] == "clip" and model_status(folders["sam"])["family"] == "sam"

    @pytest.mark.parametrize("files, problem", [
        ({}, "no config.json"),
        ({"config.json": "{not json"}, "cannot be read"),
        ({"config.json": '{"model_type": "bert"}', "model.safetensors": "x"}, "'bert'"),
        ({"config.json": '{"model_type": "dinov2"}'}, "no weights"),
    ])
    def test_folder_that_cannot_be_loaded_says_why(self, tmp_path, files, problem):
        folder = tmp_path / "weights"
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text)
        status = model_status(str(folder))
        assert not status["present"] and problem in status["message"] and str(folder) in status["message"]

    def test_missing_folder_is_not_present(self, tmp_path):
        status = model_status(str(tmp_path / "nowhere"))
        assert not status["present"] and "does not exist" in status["message"]

    def test_fingerprint_changes_with_the_weights(self, tmp_path):
        folder = tmp_path / "w"
        folder.mkdir()
        (folder / "config.json").write_text('{"model_type": "clip_vision_model"}')
        (folder / "model.safetensors").write_bytes(b"1234")
        first = model_status(str(folder))["fingerprint"]
        assert first == foundation.weights_fingerprint(folder) and len(first) == 16
        (folder / "model.safetensors").write_bytes(b"12345")
        assert model_status(str(folder))["fingerprint"] != first

    def test_status_table_adds_folders(self, tmp_path, folders):
        table = status_table(cache_dir=tmp_path, folders=[folders["clip"]])
        assert len(table) == len(PRESETS) + 1 and table[-1]["present"] and table[-1]["family"] == "clip"


class TestLoadModel:
    def test_unknown_preset(self):
        with pytest.raises(InputError, match="dinov9-tiny"):
            load_model("dinov9-tiny")

    def test_missing_folder(self, tmp_path):
        missing = tmp_path / "no-such-model"
        with pytest.raises(InputError, match="no-such-model"):
            load_model(str(missing))

    def test_missing_cached_preset(self, tmp_path, monkeypatch):
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        with pytest.raises(InputError, match="facebook/dinov2-large.*huggingface-cli download"):
            load_model("dinov2-large")

    def test_loaded_model(self, models):
        fm = models["dinov2"]
        assert fm.family == "dinov2" and not fm.model.training and fm.dtype == torch.float32
        assert fm.patch_size == 14 and models["registers"].num_registers == 4
        assert models["clip"].family == "clip" and models["sam"].family == "sam"


class TestEmbed:
    @pytest.mark.parametrize("name, pooling, d", [
        ("dinov2", "cls", DIM), ("dinov2", "mean", DIM), ("dinov2", "cls+mean", 2 * DIM),
        ("registers", "mean", DIM), ("clip", "cls", DIM), ("clip", "cls+mean", 2 * DIM), ("sam", "cls", 16)])
    @pytest.mark.parametrize("mode", ["paper", "standard"])
    def test_shapes(self, models, name, pooling, d, mode):
        out = embed(_images(3), model=models[name], mode=mode, pooling=pooling)
        assert out.shape == (3, d) and out.dtype == np.float32 and np.isfinite(out).all()

    @pytest.mark.parametrize("name", ["dinov2", "clip", "sam"])
    def test_batching_invariance(self, models, name):
        images = _images(4) + _images(2, shape=(40, 33), seed=1)
        one = embed(images, model=models[name], batch_size=1, pooling="cls")
        four = embed(images, model=models[name], batch_size=4, pooling="cls")
        np.testing.assert_allclose(one, four, atol=1e-5)

    def test_paper_dinov2_crop_matches_hand_forward(self, models):
        image = _images(1)[0]
        out = embed([image], model=models["dinov2"], mode="paper", pooling="cls")
        pixels = torch.from_numpy(np.repeat(image[None, :28, :42], 3, axis=0))[None]
        with torch.no_grad():
            expected = models["dinov2"].model(pixel_values=pixels).pooler_output.numpy()
        np.testing.assert_allclose(out, expected, atol=1e-5)

    def test_paper_dinov2_mean_excludes_registers(self, models):
        image = _images(1)[0]
        out = embed([image], model=models["registers"], mode="paper", pooling="mean")
        pixels = torch.from_numpy(np.repeat(image[None, :28, :42], 3, axis=0))[None]
        with torch.no_grad():
            hidden = models["registers"].model(pixel_values=pixels).last_hidden_state
        np.testing.assert_allclose(out, hidden[:, 5:].mean(1).numpy(), atol=1e-5)

    def test_paper_clip_matches_hand_forward(self, models):
        from PIL import Image

        image = _images(1)[0]  # 30×44 → 24×24 top-left crop (patch 8) → 32×32
        out = embed([image], model=models["clip"], mode="paper")
        crop = np.rint(np.repeat(image[:24, :24, None], 3, axis=2) * 255).astype(np.uint8)
        resized = np.asarray(Image.fromarray(crop).resize((32, 32), Image.BILINEAR), dtype=np.float32) / 255
        pixels = torch.from_numpy(resized.transpose(2, 0, 1).copy())[None]
        with torch.no_grad():
            expected = models["clip"].model(pixel_values=pixels).pooler_output.numpy()
        np.testing.assert_allclose(out, expected, atol=1e-5)

    def test_grey_equals_rgb_stack(self, models):
        grey = _images(2)
        rgb = [np.stack([g, g, g], axis=-1) for g in grey]
        for name in ("dinov2", "clip"):
            for mode in ("paper", "standard"):
                np.testing.assert_allclose(embed(grey, model=models[name], mode=mode),
                                           embed(rgb, model=models[name], mode=mode), atol=1e-6)

    def test_load_by_folder_and_progress(self, folders):
        calls = []
        out = embed(_images(3), model=folders["dinov2"], batch_size=2, progress=lambda d, t, m: calls.append((d, t)))
        assert out.shape == (3, DIM) and calls == [(2, 3), (3, 3)]
        from msdash.features.foundation.extract import extract_foundation

        assert extract_foundation(np.stack(_images(2)), model=folders["dinov2"]).shape == (2, DIM)

    @pytest.mark.parametrize("kwargs", [{"mode": "fancy"}, {"pooling": "max"}, {"batch_size": 0}])
    def test_bad_options(self, models, kwargs):
        with pytest.raises(InputError):
            embed(_images(1), model=models["dinov2"], **kwargs)

    def test_bad_image_shape(self, models):
        with pytest.raises(InputError, match="images"):
            embed([np.zeros((4, 4, 4, 4))], model=models["dinov2"])

    def test_labels(self):
        assert embed_labels(3, "clip-b32") == ["clip-b32[0]", "clip-b32[1]", "clip-b32[2]"]


class TestRegistry:
    def test_entries(self):
        from msdash.features import EXTRACTORS

        for family in ("dinov2", "clip", "sam"):
            spec = EXTRACTORS[family]
            assert spec.kind == "foundation" and spec.needs_weights and spec.input == "any"
            models = dict((p.name, p) for p in spec.params)["model"].choices
            assert models and all(PRESETS[m].family == family for m in models)
            assert {"mode", "pooling", "batch_size", "sections"} <= set(spec.defaults)

    def test_extract_from_fake_cache(self, folders, tmp_path, monkeypatch):
        import shutil

        from msdash.features.foundation import models as foundation_models
        from msdash.features.extract import extract

        snapshot = tmp_path / "models--facebook--dinov2-small" / "snapshots" / "0123"
        shutil.copytree(folders["dinov2"], snapshot)
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
        monkeypatch.setattr(foundation_models, "_LOADED", {})
        table = extract(_images(3), "dinov2", store=False, model="dinov2-small", pooling="cls+mean")
        assert table.values.shape == (3, 2 * DIM) and not table.errors and table.kind == "foundation"
        assert table.labels[0] == "dinov2-small[0]"
        expected = embed(_images(3), model=folders["dinov2"], pooling="cls+mean")
        np.testing.assert_allclose(table.values, expected, atol=1e-5)

    def test_extract_without_weights_reports_the_id(self, tmp_path, monkeypatch):
        from msdash.features.foundation import models as foundation_models
        from msdash.features.extract import extract

        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
        monkeypatch.setattr(foundation_models, "_LOADED", {})
        with pytest.raises(InputError, match="no sample gave features.*openai/clip-vit-base-patch16"):
            extract(_images(1), "clip", store=False)
