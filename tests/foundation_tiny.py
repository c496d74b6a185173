"""Tiny randomly initialised DINOv2 / DINOv2-with-registers / CLIP / SAM models saved like a user's local folder,
a stand-in for huggingface_hub.snapshot_download (no network), and the fixtures of the tests that use them
(``tiny`` and ``hub_cache``, registered for every test by ``conftest.py``)."""

import os
import shutil

import pytest

DIM = 32


def save_tiny_models(root):
    """Build the four tiny models (seeded) and ``save_pretrained`` them under ``root``; return name → folder."""
    import torch
    import transformers

    torch.manual_seed(0)
    dinov2 = transformers.Dinov2Model(transformers.Dinov2Config(
        hidden_size=DIM, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, image_size=56,
        patch_size=14))
    registers = transformers.Dinov2WithRegistersModel(transformers.Dinov2WithRegistersConfig(
        hidden_size=DIM, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, image_size=56,
        patch_size=14, num_register_tokens=4))
    clip = transformers.CLIPVisionModel(transformers.CLIPVisionConfig(
        hidden_size=DIM, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, image_size=32,
        patch_size=8))
    sam = transformers.SamModel(transformers.SamConfig(vision_config=dict(
        hidden_size=DIM, num_hidden_layers=2, num_attention_heads=2, mlp_dim=64, image_size=64, patch_size=16,
        output_channels=16, global_attn_indexes=[1], window_size=2)))
    folders = {}
    for name, model in (("dinov2", dinov2), ("registers", registers), ("clip", clip), ("sam", sam)):
        model.eval().save_pretrained(root / name, safe_serialization=True)
        folders[name] = str(root / name)
    return folders


def fake_snapshot_download(source, calls):
    """Write ``source`` into the hub-cache layout like snapshot_download, driving ``tqdm_class`` like it does."""

    def snapshot_download(repo_id, *, cache_dir, allow_patterns, tqdm_class=None, **kwargs):
        calls.append({"repo_id": repo_id, "cache_dir": cache_dir, "allow_patterns": allow_patterns, **kwargs})
        repo = f"{cache_dir}/models--{repo_id.replace('/', '--')}"
        snapshot = f"{repo}/snapshots/0123abcd"
        shutil.copytree(source, snapshot)
        os.makedirs(f"{repo}/refs", exist_ok=True)
        with open(f"{repo}/refs/main", "w") as ref:
            ref.write("0123abcd")
        if tqdm_class is not None:
            transfer = tqdm_class(desc="Downloading bytes", total=0, initial=0, unit="B", unit_scale=True)
            transfer.total = 3 * 2**20
            transfer.update(2**20)
            transfer.update(2 * 2**20)
            with tqdm_class(total=2, desc="Fetching 2 files") as files:
                files.update(1)
                files.update(1)
        return snapshot

    return snapshot_download


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Folders of the tiny models, saved once per test module: name → folder."""
    return save_tiny_models(tmp_path_factory.mktemp("models"))


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An empty Hugging Face cache (``HF_HUB_CACHE``), online: returns its folder."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    return tmp_path / "hub"
