"""Download a preset's weights into the Hugging Face cache — only when the user asks, with progress.

Everything else in msdash loads with ``local_files_only=True``; this is the one place that goes to the network.
Only what loading needs is fetched (``allow_patterns``: safetensors weights, their index, ``config.json`` and
``preprocessor_config.json``), never pickled ``*.bin`` files, tokenizers or other frameworks' weights.
"""

import os

from msdash.errors import InputError
from msdash.features.foundation.models import PRESETS, _hub_cache, model_status

__all__ = ["ALLOW_PATTERNS", "download_model", "offline"]

#: Files fetched from a model repository.
ALLOW_PATTERNS = ("config.json", "preprocessor_config.json", "*.safetensors", "*.safetensors.index.json")
_TRUE = {"1", "true", "yes", "on"}


def offline():
    """Whether ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set to a true value (1, true, yes, on) now.

    Read at call time, unlike ``huggingface_hub.constants.HF_HUB_OFFLINE`` (read once at import).
    """
    return any(os.environ.get(name, "").strip().lower() in _TRUE for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _progress_bar_class(progress):
    """A tqdm class forwarding updates to ``progress(done, total, message)`` (bytes, or files for the file bar)."""
    from tqdm.auto import tqdm

    class _Forward(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True  # nothing printed; progress goes to the callback
            super().__init__(*args, **kwargs)
            self._done = kwargs.get("initial", 0) or 0
            self._desc = kwargs.get("desc") or ""
            self._unit = kwargs.get("unit") or "it"

        def update(self, n=1):
            self._done += n or 0
            total = self.total or 0
            if self._unit == "B":
                message = f"{self._desc}: {self._done / 2**20:.1f} of {total / 2**20:.1f} MiB"
            else:
                message = f"{self._desc}: {self._done} of {total}"
            progress(self._done, total, message)
            return True

    return _Forward


def download_model(preset, *, cache_dir=None, progress=None):
    """Download a preset's weights into the Hugging Face cache and return where they are.

    Parameters
    ----------
    preset : str
        A :data:`~msdash.features.foundation.models.PRESETS` name (e.g. ``"dinov2-small"``) or its hub id.
    cache_dir : str or Path, optional
        Hugging Face hub cache; default ``HF_HUB_CACHE``, else ``HF_HOME/hub`` (where loading looks).
    progress : callable, optional
        ``progress(done, total, message)`` while downloading: bytes for the byte counters (``message`` in
        MiB), files for the file counter.

    Returns
    -------
    dict
        :func:`~msdash.features.foundation.models.model_status` of the preset after the download
        (``present`` True, ``path`` the snapshot folder).

    Raises
    ------
    InputError
        Unknown preset; ``HF_HUB_OFFLINE`` is set (the message says to unset it or copy the cache); the
        download failed (network, disk) or left no loadable weights.
    """
    hub_id = PRESETS[preset].hub_id if preset in PRESETS else preset
    if hub_id not in {p.hub_id for p in PRESETS.values()}:
        raise InputError(f"Unknown preset {preset!r}; choose one of {', '.join(PRESETS)}", name="model")
    if offline():
        raise InputError(f"Cannot download {hub_id}: HF_HUB_OFFLINE is set, so this machine is offline by choice. "
                         f"Unset HF_HUB_OFFLINE to download, or run `huggingface-cli download {hub_id}` on a "
                         "machine with network access and copy its Hugging Face cache here.", name="model")
    import huggingface_hub

    cache = _hub_cache(cache_dir)
    kwargs = {"repo_id": hub_id, "cache_dir": str(cache), "allow_patterns": list(ALLOW_PATTERNS)}
    if progress is not None:
        kwargs["tqdm_class"] = _progress_bar_class(progress)
    try:
        huggingface_hub.snapshot_download(**kwargs)
    except Exception as exc:  # noqa: BLE001 — network, HTTP and disk errors all become one plain message
        raise InputError(f"Downloading {hub_id} failed: {type(exc).__name__}: {exc}", name="model") from exc
    status = model_status(hub_id, cache_dir=cache)
    if not status["present"]:
        raise InputError(f"Downloaded {hub_id}, but {status['message']}", name="model")
    return status
