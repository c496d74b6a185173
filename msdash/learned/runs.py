"""Training runs on disk: one folder per run, weights in safetensors, progress in JSON, resumable.

Layout of a run (``<workspace>/learned/<kind>/<run id>/``)::

    meta.json           {"kind", "run_id", "config", "history": [per-epoch dicts], "status", "created", ...}
    model.safetensors   the model's ``state_dict`` (tensors only; never pickled)
    optimizer.pt        optimizer / scheduler state, written by us and read with ``weights_only=True``

Every file is written to a temporary sibling and renamed into place, so a run killed mid-save keeps its
previous checkpoint. The training functions of this package share one contract:

``train_*(..., run_dir, resume=False, callback=None)`` saves a checkpoint after every epoch, calls
``callback(event)`` with a dict (``epoch``, ``epochs``, ``step``, ``train_loss``, ``val_loss``, ``lr``,
``images_per_s``, ...) and stops, after saving, when the callback returns ``False`` (cancel). With
``resume=True`` it continues from the last saved epoch with the same history.
"""

import json
import re
import time
import uuid
from pathlib import Path

from msdash.data.atomic import write_file_atomic
from msdash.config import workspace
from msdash.errors import InputError

__all__ = ["runs_root", "new_run", "run_path", "list_runs", "read_meta", "write_meta", "save_checkpoint",
           "load_checkpoint", "has_checkpoint"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
META, WEIGHTS, OPTIMIZER = "meta.json", "model.safetensors", "optimizer.pt"


def _check_name(value, what):
    if not isinstance(value, str) or not _NAME.match(value) or ".." in value:
        raise InputError(f"Invalid {what} {value!r}: use letters, digits, '_', '-' or '.' (at most 64).", name=what)
    return value


def runs_root(kind):
    """Folder holding the runs of one model kind (``<workspace>/learned/<kind>``), created when missing.

    >>> runs_root("texture_vae").parts[-2:]
    ('learned', 'texture_vae')
    """
    path = workspace() / "learned" / _check_name(kind, "model kind")
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_path(kind, run_id):
    """Folder of an existing run; :class:`InputError` naming the known runs when it does not exist."""
    path = runs_root(kind) / _check_name(run_id, "run id")
    if not (path / META).is_file():
        known = ", ".join(r["run_id"] for r in list_runs(kind)) or "none yet"
        raise InputError(f"No {kind} run named {run_id!r} (known: {known}).", name="run")
    return path


def new_run(kind, config, *, run_id=None):
    """Create a run folder with its ``meta.json`` and return its path.

    Parameters
    ----------
    kind : str
        Model kind (``"texture_vae"``, ``"cnn"``, ``"mucha"``, ...).
    config : dict
        JSON-serialisable training configuration, stored as given.
    run_id : str, optional
        Default: ``<UTC time>-<6 hex>``; an existing id is an :class:`InputError`.
    """
    if run_id is None:
        run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
    _check_name(run_id, "run id")
    path = runs_root(kind) / run_id
    try:
        path.mkdir()
    except FileExistsError:
        raise InputError(f"A {kind} run named {run_id!r} exists already.", name="run") from None
    write_meta(path, {"kind": kind, "run_id": run_id, "config": config, "history": [], "status": "new",
                      "created": time.time()})
    return path


def read_meta(run_dir):
    """The run's ``meta.json`` as a dict."""
    return json.loads((Path(run_dir) / META).read_text())


def write_meta(run_dir, meta):
    """Replace the run's ``meta.json`` atomically."""
    write_file_atomic(Path(run_dir) / META, json.dumps(meta, indent=1, default=float).encode())


def list_runs(kind):
    """Meta dicts of the runs of ``kind``, newest first (unreadable folders are skipped)."""
    runs = []
    for folder in runs_root(kind).iterdir():
        if folder.is_dir() and not folder.name.startswith("."):
            try:
                runs.append(read_meta(folder))
            except (OSError, ValueError):
                continue
    return sorted(runs, key=lambda m: m.get("created", 0), reverse=True)


def has_checkpoint(run_dir):
    """Whether the run has saved weights."""
    return (Path(run_dir) / WEIGHTS).is_file()


def save_checkpoint(run_dir, model, *, optimizer=None, scheduler=None, meta=None):
    """Save the model's weights (safetensors), optimizer/scheduler state and, if given, ``meta``.

    Parameters
    ----------
    run_dir : path
    model : torch.nn.Module
    optimizer, scheduler : torch objects with ``state_dict()``, optional
    meta : dict, optional
        Written last, so ``meta["history"]`` never claims an epoch whose weights are not on disk.
    """
    import torch
    from safetensors.torch import save

    run_dir = Path(run_dir)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    write_file_atomic(run_dir / WEIGHTS, save(state))
    if optimizer is not None or scheduler is not None:
        import io
        buffer = io.BytesIO()
        torch.save({"optimizer": optimizer.state_dict() if optimizer is not None else None,
                    "scheduler": scheduler.state_dict() if scheduler is not None else None}, buffer)
        write_file_atomic(run_dir / OPTIMIZER, buffer.getvalue())
    if meta is not None:
        write_meta(run_dir, meta)


def load_checkpoint(run_dir, model, *, optimizer=None, scheduler=None, device=None):
    """Load weights (and optimizer/scheduler state when given) saved by :func:`save_checkpoint`.

    Returns
    -------
    dict
        The run's meta.

    Raises
    ------
    InputError
        No weights saved, or they do not fit ``model``.
    """
    import torch
    from safetensors.torch import load_file

    run_dir = Path(run_dir)
    if not has_checkpoint(run_dir):
        raise InputError(f"Run {run_dir.name!r} has no saved weights yet.", name="run")
    try:
        model.load_state_dict(load_file(run_dir / WEIGHTS, device=str(device or "cpu")))
    except RuntimeError as exc:
        raise InputError(f"The weights of run {run_dir.name!r} do not fit this model: {exc}", name="run") from exc
    if (optimizer is not None or scheduler is not None) and (run_dir / OPTIMIZER).is_file():
        state = torch.load(run_dir / OPTIMIZER, map_location=device or "cpu", weights_only=True)
        if optimizer is not None and state.get("optimizer") is not None:
            optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
    return read_meta(run_dir)
