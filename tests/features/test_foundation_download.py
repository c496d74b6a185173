"""download_model with huggingface_hub's snapshot_download replaced by a local fake (no network)."""

import huggingface_hub
import pytest

from foundation_tiny import fake_snapshot_download
from msdash.errors import InputError
from msdash.features.foundation import download_model, model_status


def test_download_fills_the_cache_with_progress(tiny, hub_cache, monkeypatch):
    calls, progress = [], []
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download(tiny["dinov2"], calls))
    assert not model_status("dinov2-small")["present"]
    status = download_model("dinov2-small", progress=lambda *a: progress.append(a))
    assert status["present"] and status["path"].endswith("0123abcd") and model_status("dinov2-small")["present"]
    (call,) = calls
    assert call["repo_id"] == "facebook/dinov2-small" and call["cache_dir"] == str(hub_cache)
    assert {"config.json", "preprocessor_config.json", "*.safetensors"} <= set(call["allow_patterns"])
    assert not any(p.endswith(".bin") or p == "*" for p in call["allow_patterns"])
    assert progress[:2] == [(2**20, 3 * 2**20, "Downloading bytes: 1.0 of 3.0 MiB"),
                            (3 * 2**20, 3 * 2**20, "Downloading bytes: 3.0 of 3.0 MiB")]
    assert progress[-1] == (2, 2, "Fetching 2 files: 2 of 2")


@pytest.mark.parametrize("variable", ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"])
def test_offline_is_a_clear_error_and_no_call(tiny, hub_cache, monkeypatch, variable):
    calls = []
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download(tiny["dinov2"], calls))
    monkeypatch.setenv(variable, "1")
    with pytest.raises(InputError, match="HF_HUB_OFFLINE is set.*huggingface-cli download facebook/dinov2-small"):
        download_model("dinov2-small")
    assert calls == []


def test_unknown_preset(hub_cache):
    with pytest.raises(InputError, match="Unknown preset 'dinov9'"):
        download_model("dinov9")


def test_network_failure_becomes_an_input_error(hub_cache, monkeypatch):
    def broken(**kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda repo_id, **kw: broken(**kw))
    with pytest.raises(InputError, match="Downloading openai/clip-vit-base-patch16 failed: OSError"):
        download_model("clip-b16")


def test_download_without_weights_is_reported(tmp_path, hub_cache, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.json").write_text('{"model_type": "sam"}')
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download(empty, []))
    with pytest.raises(InputError, match="no weights"):
        download_model("sam-base")
