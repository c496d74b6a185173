"""CNN regressors trained from scratch (study D): ResNet-18/34 on the images or on MuCha channels.

Study D's recipe: inputs standardised, targets standardised, Adam at 1e-3 halved on a validation plateau
down to 1e-5, early stopping with patience (best weights kept), 20% of the training images for validation,
batch 32; MuCha-CNN is a ResNet-34 on three 64×64 channels trained with SGD (1e-3, momentum 0.9) and an L1
loss. Training follows the contract of :mod:`msdash.learned.runs` (checkpoint and callback every epoch,
cancel, resume). :func:`msdash.learned.cnn.cv.cnn_cv` evaluates the recipe on given outer folds.

References
----------
- Study D: B. D. Nguyen, P. Potapenko, A. Demirci, K. Govind, S. Bompas, S. Sandfeld, "Efficient Surrogate Models
  for Materials Science Simulations: Machine Learning-based Prediction of Microstructure Properties"
  (``docs/references.md``).
"""

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from msdash.errors import InputError
from msdash.learned.cnn.data import INPUTS, check_targets, fingerprint, prepare_inputs, statistics
from msdash.learned.cnn.schedule import PlateauSchedule, validation_split
from msdash.learned.runs import has_checkpoint, load_checkpoint, read_meta, save_checkpoint, write_meta

__all__ = ["CNNFit", "train_cnn_regressor", "load_cnn_regressor", "predict_cnn", "prepare_inputs", "read_run",
           "INPUTS"]

LOSSES, OPTIMIZERS = ("l1", "mse"), ("adam", "sgd")
BEST = "best.safetensors"
_EVAL_BATCH = 256
# settings that may change when a run is resumed
_RESUMABLE = ("epochs", "patience")


@dataclass
class CNNFit:
    """Outcome of :func:`train_cnn_regressor`.

    Attributes
    ----------
    model : ResNetRegressor
        The best weights (lowest validation loss), eval mode, on the CPU.
    run_dir : pathlib.Path
    history : list of dict
        One event per finished epoch (see :func:`train_cnn_regressor`).
    status : {"done", "cancelled"}
    stop_reason : {"early stopping", "epochs", "cancelled"}
    best_epoch : int
        1-based epoch whose weights ``model`` holds.
    """

    model: object
    run_dir: Path
    history: list = field(default_factory=list)
    status: str = "done"
    stop_reason: str = "epochs"
    best_epoch: int = 0


def _settings(arch, inputs, loss, optimizer, lr, momentum, batch_size, epochs, patience, lr_patience, min_lr,
              val_fraction, seed, folder, overrides):
    if inputs not in INPUTS:
        raise InputError(f"`inputs` must be one of {', '.join(INPUTS)}, got {inputs!r}", name="inputs")
    arch = INPUTS[inputs][0] if arch is None else arch
    optimizer = INPUTS[inputs][1] if optimizer is None else optimizer
    from msdash.learned.resnet import ARCHS

    for name, value, allowed in (("arch", arch, ARCHS), ("loss", loss, LOSSES), ("optimizer", optimizer, OPTIMIZERS)):
        if value not in allowed:
            raise InputError(f"`{name}` must be one of {', '.join(allowed)}, got {value!r}", name=name)
    for name, value, low in (("batch_size", batch_size, 2), ("epochs", epochs, 1), ("lr_patience", lr_patience, 0),
                             ("seed", seed, 0)) + ((("patience", patience, 1),) if patience is not None else ()):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise InputError(f"`{name}` must be an integer >= {low}, got {value!r}", name=name)
    for name, value, ok, expected in (("val_fraction", val_fraction, lambda v: 0 < v < 1, "in (0, 1)"),
                                      ("lr", lr, lambda v: 0 < v <= 1, "in (0, 1]"),
                                      ("min_lr", min_lr, lambda v: 0 < v <= lr, "in (0, lr]"),
                                      ("momentum", momentum, lambda v: 0 <= v < 1, "in [0, 1)")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value):
            raise InputError(f"`{name}` must be a number {expected}, got {value!r}", name=name)
    try:  # JSON form, as a resumed run reads it back from meta (tuples become lists)
        overrides = json.loads(json.dumps(overrides or None))
    except (TypeError, ValueError):
        raise InputError("`overrides` must be a dict of plain ResNetConfig values", name="overrides") from None
    return {"arch": arch, "inputs": inputs, "loss": loss, "optimizer": optimizer, "lr": float(lr),
            "momentum": float(momentum), "batch_size": int(batch_size), "epochs": int(epochs),
            "patience": None if patience is None else int(patience), "lr_patience": int(lr_patience),
            "min_lr": float(min_lr), "val_fraction": float(val_fraction), "seed": int(seed),
            "folder": None if folder is None else str(folder), "overrides": overrides}


def read_run(run_dir):
    """The meta of a run folder made by :func:`msdash.learned.runs.new_run`; :class:`InputError` otherwise."""
    try:
        return read_meta(run_dir)
    except (OSError, ValueError):
        raise InputError(f"{str(run_dir)!r} is not a training run folder (make one with new_run)",
                         name="run_dir") from None


def _save_best(run_dir, model):
    import os
    import uuid

    from safetensors.torch import save

    from msdash.data.atomic import fsync_dir, write_bytes

    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    tmp = Path(run_dir) / f".tmp-{uuid.uuid4().hex}-{BEST}"
    write_bytes(tmp, save(state))
    os.replace(tmp, Path(run_dir) / BEST)
    fsync_dir(run_dir)


def _load_best(run_dir, model):
    from safetensors.torch import load_file

    path = Path(run_dir) / BEST
    if path.is_file():
        model.load_state_dict(load_file(path))
    return model


def _optimizer(model, s):
    import torch

    if s["optimizer"] == "adam":
        return torch.optim.Adam(model.parameters(), lr=s["lr"])
    return torch.optim.SGD(model.parameters(), lr=s["lr"], momentum=s["momentum"])


def train_cnn_regressor(images, y, *, run_dir, arch=None, inputs="image", loss="l1", optimizer=None, lr=1e-3,
                        momentum=0.9, batch_size=32, epochs=50, patience=10, lr_patience=3, min_lr=1e-5,
                        val_fraction=0.2, groups=None, seed=0, folder=None, overrides=None, resume=False,
                        callback=None, device=None):
    """Train a ResNet regressor from scratch (or from local weights) on images and one property.

    Each epoch shuffles the fitting rows (seeded by ``seed`` and the epoch, so a resumed run repeats an
    uninterrupted one), takes optimizer steps on batches of ``batch_size`` (a last batch of a single image is
    skipped: batch norm needs two), then scores the validation rows. The :class:`PlateauSchedule` halves the
    rate after ``lr_patience`` epochs without improvement (not below ``min_lr``) and stops after
    ``patience``. Inputs (per channel) and the target are standardised with the mean and standard
    deviation of the fitting rows; the statistics are stored in meta and inside the model.

    Parameters
    ----------
    images : array_like, shape (n, H, W)
        Grey images (see :func:`prepare_inputs`).
    y : array_like, shape (n,)
        The property, in its own units.
    run_dir : path
        A run folder from :func:`msdash.learned.runs.new_run` (``kind`` e.g. ``"cnn"``).
    arch : {"resnet18", "resnet34", "resnet50"}, optional
        Default ResNet-18 for ``"image"``, ResNet-34 for ``"mucha"`` inputs.
    inputs : {"image", "mucha"}
    loss : {"l1", "mse"}
        On the standardised target.
    optimizer : {"adam", "sgd"}, optional
        Default Adam for ``"image"``, SGD (with ``momentum``) for ``"mucha"``.
    lr, momentum : float
    batch_size, epochs : int
    patience : int or None
        Early stopping after this many epochs without a better validation loss; None runs all epochs.
    lr_patience : int
        Epochs without improvement before the rate is halved.
    min_lr : float
    val_fraction : float
        Share of the images held out for validation (see :func:`validation_split`).
    groups : array_like, shape (n,), optional
        Keeps related images on one side of the validation split.
    seed : int
        Seeds the initialisation, the split and the shuffles.
    folder : str, optional
        Local folder of pretrained backbone weights (see :func:`msdash.learned.resnet.build_resnet`).
    overrides : dict, optional
        ``ResNetConfig`` fields of a non-standard backbone (tiny test models).
    resume : bool
        Continue the run in ``run_dir`` from its last saved epoch (same data and settings; ``epochs`` and
        ``patience`` may grow).
    callback : callable, optional
        ``callback(event)`` after every saved epoch; returning ``False`` cancels. ``event`` has ``epoch``
        (1-based), ``epochs``, ``step`` (optimizer steps so far), ``train_loss``, ``val_loss`` (mean loss on
        the standardised target), ``val_rmse`` and ``val_mae`` (target units), ``lr`` (rate used),
        ``next_lr``, ``images_per_s`` (training), ``seconds``, ``improved``, ``best_epoch``.
    device : str, optional
        Default: the GPU when present, else the CPU.

    Returns
    -------
    CNNFit
    """
    import torch

    from msdash.learned.resnet import backbone_config, default_device, make_regressor

    s = _settings(arch, inputs, loss, optimizer, lr, momentum, batch_size, epochs, patience, lr_patience, min_lr,
                  val_fraction, seed, folder, overrides)
    x = prepare_inputs(images, inputs)
    y = check_targets(y, len(x))
    fit, val = validation_split(len(x), val_fraction, seed=seed, groups=groups)
    stats = statistics(x, y, fit)
    run_dir = Path(run_dir)
    meta = read_run(run_dir)
    data = {"n": len(x), "shape": list(x.shape[1:]), "sha1": fingerprint(x, y, groups), "n_fit": len(fit),
            "n_val": len(val)}
    if resume:
        old = meta.get("training")
        if old is None:
            raise InputError(f"Run {run_dir.name!r} has not trained yet; start it with resume=False", name="run")
        fixed = {k: v for k, v in s.items() if k not in _RESUMABLE}
        changed = [k for k, v in fixed.items() if old["settings"].get(k) != v]
        if changed or old["data"] != data:
            what = ", ".join(changed) if changed else "the images or targets"
            raise InputError(f"Run {run_dir.name!r} was trained with other {what}; resume it with the same "
                             "data and settings", name="run")
    elif meta.get("history"):
        raise InputError(f"Run {run_dir.name!r} has trained already; resume it or start a new run", name="run")
    device = default_device(device)
    model = make_regressor(s["arch"], in_channels=x.shape[1], folder=folder, seed=seed, overrides=overrides)
    model.set_standardisation(stats["input_mean"], stats["input_std"], stats["target_mean"], stats["target_std"])
    model.inputs, model.image_shape = inputs, tuple(x.shape[2:])
    model.to(device)
    opt = _optimizer(model, s)
    schedule = PlateauSchedule(lr=s["lr"], lr_patience=s["lr_patience"], min_lr=s["min_lr"], patience=s["patience"])
    history = []
    if resume and has_checkpoint(run_dir):
        meta = load_checkpoint(run_dir, model, optimizer=opt, device=device)
        history = list(meta["history"])
        schedule = PlateauSchedule.from_state({**meta["training"]["schedule"], "patience": s["patience"]})
        schedule.stop = schedule.patience is not None and schedule.bad_epochs >= schedule.patience
    meta.update({"history": history, "config": {**meta.get("config", {}), **s},
                 "training": {"settings": s, "data": data, "statistics": stats, "schedule": schedule.state(),
                              "backbone": backbone_config(model), "in_channels": int(x.shape[1])}})
    loss_fn = torch.nn.L1Loss() if loss == "l1" else torch.nn.MSELoss()
    x_val = torch.from_numpy(x[val])
    z = ((y - stats["target_mean"]) / stats["target_std"]).astype(np.float32)
    step = history[-1]["step"] if history else 0
    status, reason = "done", "epochs"
    for epoch in range(len(history) + 1, s["epochs"] + 1):
        if schedule.stop:
            break
        for group in opt.param_groups:
            group["lr"] = schedule.lr
        used_lr, started = schedule.lr, time.perf_counter()
        model.train()
        order = fit[np.random.default_rng([seed, epoch]).permutation(len(fit))]
        total, seen = 0.0, 0
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            if len(rows) < 2:
                continue
            xb, zb = torch.from_numpy(x[rows]).to(device), torch.from_numpy(z[rows]).to(device)
            opt.zero_grad(set_to_none=True)
            batch_loss = loss_fn(model(xb), zb)
            batch_loss.backward()
            opt.step()
            step += 1
            total += float(batch_loss.detach()) * len(rows)
            seen += len(rows)
        train_s = time.perf_counter() - started
        pred = _forward(model, x_val, device)
        val_loss = float(np.mean(np.abs(pred - z[val]) if loss == "l1" else (pred - z[val]) ** 2))
        error = (pred - z[val]) * stats["target_std"]
        outcome = schedule.step(epoch, val_loss)
        if outcome["improved"]:
            _save_best(run_dir, model)
        event = {"epoch": epoch, "epochs": s["epochs"], "step": step, "train_loss": total / max(seen, 1),
                 "val_loss": val_loss, "val_rmse": float(np.sqrt(np.mean(error ** 2))),
                 "val_mae": float(np.mean(np.abs(error))), "lr": used_lr, "next_lr": outcome["lr"],
                 "images_per_s": seen / train_s if train_s > 0 else float("nan"),
                 "seconds": time.perf_counter() - started, "improved": outcome["improved"],
                 "best_epoch": schedule.best_epoch}
        history.append(event)
        meta["training"]["schedule"] = schedule.state()
        meta.update({"history": history, "status": "running", "best_epoch": schedule.best_epoch})
        save_checkpoint(run_dir, model, optimizer=opt, meta=meta)
        if callback is not None and callback(dict(event)) is False:
            status, reason = "cancelled", "cancelled"
            break
    if status == "done" and schedule.stop:
        reason = "early stopping"
    meta.update({"status": status, "stop_reason": reason, "best_epoch": schedule.best_epoch})
    write_meta(run_dir, meta)
    model = _load_best(run_dir, model.to("cpu")).eval()
    return CNNFit(model, run_dir, history, status, reason, schedule.best_epoch)


def _forward(model, x, device):
    """Standardised predictions (n,) of float32 inputs (n, c, H, W), eval mode, in batches."""
    import torch

    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(x), _EVAL_BATCH):
            out.append(model(x[start:start + _EVAL_BATCH].to(device)).float().cpu().numpy())
    return np.concatenate(out) if out else np.empty(0, dtype=np.float32)


def load_cnn_regressor(run_dir):
    """The trained regressor of a run folder: its best weights (lowest validation loss), eval mode, CPU.

    Raises
    ------
    InputError
        The run has not finished an epoch yet.
    """
    from msdash.learned.resnet import regressor_from_config

    run_dir = Path(run_dir)
    meta = read_run(run_dir)
    training = meta.get("training")
    if training is None or not has_checkpoint(run_dir):
        raise InputError(f"Run {run_dir.name!r} has no trained CNN yet", name="run")
    model = regressor_from_config(training["backbone"], in_channels=training["in_channels"])
    model.inputs = training["settings"]["inputs"]
    model.image_shape = tuple(training["data"]["shape"][1:])  # (H, W) of the inputs
    load_checkpoint(run_dir, model)
    return _load_best(run_dir, model).eval()


def predict_cnn(run_dir_or_model, images, *, device=None):
    """Predictions of a trained CNN regressor, in target units.

    Parameters
    ----------
    run_dir_or_model : path or ResNetRegressor
        A run folder (loaded with :func:`load_cnn_regressor`) or a regressor (e.g. ``CNNFit.model``).
    images : array_like, shape (n, H, W)
        Prepared as the model was trained (``model.inputs``).
    device : str, optional

    Returns
    -------
    ndarray of float64, shape (n,)
    """
    import torch

    from msdash.learned.resnet import default_device

    model = run_dir_or_model
    if isinstance(model, (str, Path)):
        model = load_cnn_regressor(model)
    x = prepare_inputs(images, getattr(model, "inputs", "image"))
    if x.shape[1] != model.input_mean.numel():
        raise InputError(f"The model takes {model.input_mean.numel()} channels, the images give {x.shape[1]}",
                         name="images")
    shape = getattr(model, "image_shape", None)
    if shape is not None and tuple(x.shape[2:]) != tuple(shape):
        raise InputError(f"The model was trained on {shape[0]}×{shape[1]} inputs; these images give "
                         f"{x.shape[2]}×{x.shape[3]}", name="images")
    device = default_device(device)
    model.to(device)
    z = _forward(model, torch.from_numpy(x), device)
    return z.astype(np.float64) * float(model.target_std) + float(model.target_mean)
