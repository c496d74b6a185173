"""Training bookkeeping of the CNN regressors: learning rate halved on plateau, early stopping, validation split.

Plain Python (no torch), so the rules are unit-tested on their own and the state is JSON for resumable runs.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np

from msdash.errors import InputError

__all__ = ["PlateauSchedule", "validation_split"]


@dataclass
class PlateauSchedule:
    """Learning rate reduced on a validation plateau (``ReduceLROnPlateau``'s rule) plus early stopping.

    An epoch *improves* when its validation loss is below ``best · (1 − threshold)``. After more than
    ``lr_patience`` epochs without improvement (counted since the last improvement or the last reduction)
    the rate becomes ``max(lr · factor, min_lr)``, and the count restarts. Training stops once ``patience``
    epochs in a row have not improved; the weights of ``best_epoch`` are the ones to keep.

    Parameters
    ----------
    lr : float
        Current learning rate.
    factor : float
        Reduction factor (0.5: halved).
    lr_patience : int
        Epochs without improvement tolerated before a reduction.
    min_lr : float
        Floor of the learning rate.
    patience : int or None
        Epochs without improvement before stopping; None never stops early.
    threshold : float
        Relative improvement that counts.

    Examples
    --------
    >>> s = PlateauSchedule(lr=1e-3, lr_patience=1, patience=3)
    >>> [s.step(e, v)["lr"] for e, v in enumerate([1.0, 0.5, 0.6, 0.6, 0.6], start=1)]
    [0.001, 0.001, 0.001, 0.0005, 0.0005]
    >>> s.best_epoch, s.stop
    (2, True)
    """

    lr: float
    factor: float = 0.5
    lr_patience: int = 3
    min_lr: float = 1e-5
    patience: int | None = 10
    threshold: float = 1e-4
    best: float = math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    lr_wait: int = 0
    stop: bool = False

    def step(self, epoch, val_loss):
        """Account for one finished epoch.

        Parameters
        ----------
        epoch : int
            1-based number of the epoch just finished.
        val_loss : float
            Its validation loss (NaN never improves).

        Returns
        -------
        dict
            ``improved`` (bool), ``lr`` (the rate for the next epoch) and ``stop`` (bool).
        """
        improved = bool(val_loss < self.best * (1.0 - self.threshold)) if math.isfinite(self.best) \
            else bool(math.isfinite(val_loss))
        if improved:
            self.best, self.best_epoch, self.bad_epochs, self.lr_wait = float(val_loss), int(epoch), 0, 0
        else:
            self.bad_epochs += 1
            self.lr_wait += 1
            if self.lr_wait > self.lr_patience:
                new_lr = max(self.lr * self.factor, self.min_lr)
                if self.lr - new_lr > 1e-12:
                    self.lr = new_lr
                self.lr_wait = 0
        self.stop = self.patience is not None and self.bad_epochs >= self.patience
        return {"improved": improved, "lr": self.lr, "stop": self.stop}

    def state(self):
        """JSON-ready dict; ``PlateauSchedule(**state)`` restores it."""
        return {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_state(cls, state):
        """Inverse of :meth:`state`."""
        state = dict(state)
        if state.get("best") is None:
            state["best"] = math.inf
        return cls(**state)


def validation_split(n, fraction, *, seed=0, groups=None):
    """Seeded split of ``n`` training rows into a fitting part and a validation part.

    Parameters
    ----------
    n : int
        Number of training rows.
    fraction : float
        Share of the rows for validation, in (0, 1): ``round(fraction · n)`` rows (at least one, and at
        least two rows left to fit). With ``groups``, whole groups in random order are moved to the
        validation part until it holds at least ``fraction · n`` rows (and one group at least).
    seed : int
    groups : array_like, shape (n,), optional
        Related rows (one parent micrograph, one simulation run) are never split.

    Returns
    -------
    fit_idx, val_idx : ndarray of int, sorted

    Examples
    --------
    >>> fit, val = validation_split(10, 0.2, seed=0)
    >>> len(fit), len(val), sorted(set(fit) | set(val)) == list(range(10))
    (8, 2, True)
    """
    if not (isinstance(fraction, (int, float)) and 0 < fraction < 1):
        raise InputError(f"`val_fraction` must be a fraction in (0, 1), got {fraction!r}", name="val_fraction")
    rng = np.random.default_rng(seed)
    if groups is None:
        n_val = min(max(1, round(fraction * n)), n - 2)
        if n_val < 1:
            raise InputError(f"{n} training images are too few to hold out a validation part", name="images")
        order = rng.permutation(n)
        return np.sort(order[n_val:]), np.sort(order[:n_val])
    groups = np.asarray(groups).ravel()
    if len(groups) != n:
        raise InputError(f"`groups` has {len(groups)} labels for {n} images", name="groups")
    labels = np.unique(groups)
    if len(labels) < 2:
        raise InputError("a group-aware validation split needs at least 2 groups", name="groups")
    chosen, count = [], 0
    for label in rng.permutation(labels):
        if count >= fraction * n or len(chosen) == len(labels) - 1:
            break
        chosen.append(label)
        count += int(np.sum(groups == label))
    is_val = np.isin(groups, chosen)
    if np.sum(~is_val) < 2:
        raise InputError("too few images outside the validation groups to train on", name="groups")
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)
