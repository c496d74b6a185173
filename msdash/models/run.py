"""Model comparisons as typed runs: repeated nested CV of every feature set × model, a constant baseline
through the same folds, on the common samples, each run labelled with all its settings."""

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np

from msdash.config import memory_budget
from msdash.errors import InputError
from msdash.models.inputs import aligned_values, common_samples, input_columns

__all__ = ["DEFAULT_REPEATS", "ModelRun", "RunSettings", "group_folds", "run_comparison"]

#: Repeats of the nested CV (seeds ``seed, seed + 1, …``): enough to see the seed-to-seed spread, cheap.
DEFAULT_REPEATS = 3


@dataclass(frozen=True)
class RunSettings:
    """Everything that produced a run besides its feature set and model (shown beside every result).

    Attributes
    ----------
    dataset : str
        Data set label.
    target : str
    extra : tuple of str
        Property columns added to the features.
    standardize : bool
        StandardScaler before the model (always on with ``extra``).
    group_column : str or None
        The group column of the comparison (its runs are random *and* grouped by it).
    outer, inner : int
    scoring : str
    seeds : tuple of int
        One per repeat; repeat ``i`` draws the folds with ``seeds[i]`` and, with ``shuffle_order``, also
        shuffles the sample order with it (the first keeps the data set's order).
    samples : int
        Common samples compared.
    shuffle_order : bool
        Whether repeats after the first shuffled the sample order (off when a shuffled copy of the table
        would not fit the memory budget: the seed then varies the folds only).
    """

    dataset: str
    target: str
    extra: tuple = ()
    standardize: bool = False
    group_column: str | None = None
    outer: int = 10
    inner: int = 5
    scoring: str = "mape"
    seeds: tuple = (42,)
    samples: int = 0
    shuffle_order: bool = True

    def label(self):
        """Short text naming every setting: ``"hardness · +Ni, Cr · standardised · grouped by paper · …"``."""
        parts = [self.target, f"data {self.dataset}"]
        if self.extra:
            parts.append("+" + ", ".join(self.extra))
        parts.append("standardised" if self.standardize else "raw features")
        if self.group_column:
            parts.append(f"groups {self.group_column}")
        seeds = (f"seed {self.seeds[0]}" if len(self.seeds) == 1
                 else f"seeds {self.seeds[0]}–{self.seeds[-1]} ({len(self.seeds)} repeats"
                      + (", order shuffled)" if self.shuffle_order else ", folds only)"))
        parts += [f"{self.outer}×{self.inner}-fold", self.scoring, seeds, f"{self.samples} samples"]
        return " · ".join(parts)

    def to_dict(self):
        """JSON-ready settings."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
                for f in dataclasses.fields(self)}


@dataclass(frozen=True, eq=False)
class ModelRun:
    """One feature set × model × split of a comparison, with all its repeats and settings.

    A typed record: fields are read as attributes (the string-keyed run dicts it replaced are gone).

    Attributes
    ----------
    feature_set, model : str
        ``model="baseline"`` for the constant predictor (``feature_set`` is then ``"(constant)"``).
    grouped : str or None
        Group column of this run's split; None for random folds.
    result : CVResult
        The first repeat (seed ``settings.seeds[0]``, the data set's sample order).
    repeats : tuple of CVResult
        Every repeat, first included, mapped back to the data set's sample order.
    names : ndarray of str, shape (n_samples,)
    settings : RunSettings
    folds : str
        How the outer folds were made ("random folds", "10-fold GroupKFold over 19 groups", …).
    X : ndarray, shape (n_samples, n_features), or None
        The training table (features plus added columns).
    groups : ndarray or None
    key : str or None
        Cache key of the inputs (table, target, rows, groups, added columns).
    entry : tuple or None
        The feature set's entry (``("computed", extractor, params)`` or ``("imported", name, None)``).
    extra : tuple of str
    dropped : tuple of str
        Samples of the data set left out of the comparison.
    set_missing : int
        Samples for which this feature set itself had non-finite features.
    common : CommonSamples or None
        The comparison's rows and why the others were left out.
    cnn, baseline : bool
    """

    feature_set: str
    model: str
    result: object
    names: np.ndarray
    settings: RunSettings
    repeats: tuple = ()
    grouped: str | None = None
    folds: str = "random folds"
    X: np.ndarray | None = None
    groups: np.ndarray | None = None
    key: str | None = None
    entry: tuple | None = None
    extra: tuple = ()
    dropped: tuple = ()
    set_missing: int = 0
    common: object = None
    cnn: bool = False
    baseline: bool = False

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @property
    def target(self):
        return self.settings.target

    @property
    def all_results(self):
        return self.repeats or (self.result,)

    @property
    def repeat_scores(self):
        """Mean outer-fold score of every repeat, shape (n_repeats,)."""
        return np.array([float(np.mean(r.fold_scores)) for r in self.all_results])

    @property
    def mean_score(self):
        """Mean over repeats of the mean outer-fold score."""
        return float(np.mean(self.repeat_scores))

    @property
    def spread(self):
        """Standard deviation (ddof=1) of the repeats' mean scores: how much the seed alone moves the result."""
        scores = self.repeat_scores
        return float(np.std(scores, ddof=1)) if len(scores) > 1 else 0.0

    def metric(self, name):
        """Mean over repeats and folds of a metric column (``mape_pct``, ``rmse``, ``mae``, ``r2``)."""
        return float(np.mean([r.metrics[name].mean() for r in self.all_results]))

    def title(self):
        """``"pr on two_point, grouped by family"`` (plain text; escape before showing)."""
        what = "constant baseline" if self.baseline else f"{self.model} on {self.feature_set}"
        return what + (f", grouped by {self.grouped}" if self.grouped else "")

    def identity(self):
        """What makes two runs the same run: feature set, model, split and settings."""
        return (self.feature_set, self.model, self.grouped, self.settings)

    def to_dict(self):
        """JSON-ready: the run's labels and settings, and every repeat's :meth:`CVResult.to_dict`."""
        return {"feature_set": self.feature_set, "model": self.model, "grouped": self.grouped,
                "folds": self.folds, "settings": self.settings.to_dict(), "label": self.settings.label(),
                "names": [str(n) for n in self.names], "dropped": list(self.dropped),
                "mean_score": self.mean_score, "spread_over_seeds": self.spread,
                "repeats": [dict(r.to_dict(), seed=s) for r, s in zip(self.all_results, self.settings.seeds)]}


def group_folds(groups, outer, inner):
    """Outer and inner folds for group-aware CV: leave-one-group-out when there are fewer groups than folds.

    Returns
    -------
    (outer, inner, note) : (int or "logo", int, str)
    """
    n_groups = len(set(groups))
    if n_groups < 3:
        raise InputError(f"Group-aware CV needs at least 3 groups; the group column has {n_groups}.")
    if n_groups >= outer:
        inner = min(inner, n_groups - n_groups // outer)
        return outer, max(2, inner), f"{outer}-fold GroupKFold over {n_groups} groups"
    inner = max(2, min(inner, n_groups - 1))
    return "logo", inner, f"leave-one-group-out over {n_groups} groups (fewer groups than folds), inner {inner}-fold"


def run_key(table_key, target, rows, groups, extra_columns):
    """A string naming the inputs of a run (cache key): table key, target, rows, groups and extra columns."""
    digest = hashlib.sha256("\0".join(map(str, rows)).encode())
    if groups is not None:
        digest.update(b"\1" + "\0".join(map(str, groups)).encode())
    return f"{table_key}|{target}|{','.join(extra_columns)}|{digest.hexdigest()[:16]}"


def _plain_cv(X, y, *, key=None, **options):
    from msdash.models.cv import nested_cv

    return nested_cv(X, y, **options)


def _unshuffle(result, order, y):
    """A CVResult computed on ``X[order]`` expressed in the original sample order."""
    if order is None:
        return result
    predictions = np.empty_like(result.predictions)
    predictions[order] = result.predictions
    folds = [(np.sort(order[train]), np.sort(order[test])) for train, test in result.folds]
    return dataclasses.replace(result, predictions=predictions, folds=folds, y=y)


def _repeats(X, y, groups, *, seeds, shuffle, cv, key, callback, **options):
    """Nested CV once per seed; with ``shuffle`` the sample order is shuffled by the seed (the first seed keeps
    the order)."""
    results = []
    for number, seed in enumerate(seeds, start=1):
        order = None if number == 1 or not shuffle else np.random.default_rng(seed).permutation(len(y))

        def report(event, number=number):
            return callback({**event, "repeat": number, "repeats": len(seeds)}) if callback else None

        if order is None:
            result = cv(X, y, groups=groups, random_state=seed, key=f"{key}|{seed}", callback=report, **options)
        else:  # a shuffled copy of the table for this repeat only
            result = cv(X[order], y[order], groups=None if groups is None else groups[order], random_state=seed,
                        key=f"{key}|{seed}|shuffled", callback=report, **options)
        if result is None:
            return None
        results.append(_unshuffle(result, order, y))
    return results


def run_comparison(dataset, tables, *, target, models, extra=(), group_column=None, outer=10, inner=5,
                   scoring="mape", standardize=False, repeats=DEFAULT_REPEATS, seed=42, dataset_label=None,
                   entries=None, cv=None, callback=None):
    """Repeated nested CV of every feature set × model on the common samples, with a constant baseline.

    With ``group_column`` every combination runs twice: on random folds (optimistic) and grouped by the
    column (honest), side by side. Every run uses the same rows (:func:`msdash.models.inputs.common_samples`)
    and, per split and seed, the same outer folds, so the constant baseline
    (:func:`msdash.models.evaluation.constant_baseline`) is scored through exactly the folds of the models.

    Parameters
    ----------
    dataset : Dataset
    tables : dict
        Feature-set label → FeatureTable.
    target : str
        Numeric property to predict.
    models : sequence of str
        Keys of :data:`msdash.models.MODELS`.
    extra : sequence of str
        Property columns added to the features (then standardised). The target and columns derived from
        it (:func:`msdash.models.inputs.input_columns`) are refused.
    group_column : str, optional
    outer, inner : int
        Folds; with groups, leave-one-group-out when there are fewer groups than ``outer``.
    scoring : {"mape", "rmse", "r2"}
    standardize : bool
    repeats : int
        Nested CV runs per combination, with seeds ``seed, seed + 1, …``; repeat ``i > 0`` also shuffles the
        sample order with its seed.
    seed : int
    dataset_label : str, optional
        Shown in the settings (default ``dataset.name``).
    entries : dict, optional
        Feature-set label → its entry (kept on the run for the Predict page).
    cv : callable, optional
        ``cv(X, y, *, key, groups, model, outer, inner, scoring, standardize, random_state, callback)`` with
        :func:`msdash.models.nested_cv`'s meaning (a cached or gated wrapper); default ``nested_cv``.
    callback : callable, optional
        Called after every outer fold with ``fold``, ``folds``, ``repeat``, ``repeats``, ``task``, ``tasks``
        and ``title``; a ``False`` answer stops the comparison.

    Returns
    -------
    list of ModelRun
        The model runs in the order feature set → model → split, then one baseline per split. When stopped,
        the runs finished so far and the baselines of their splits.
    """
    from msdash.models.evaluation import constant_baseline
    from msdash.models.metrics import check_scoring

    check_scoring(scoring)
    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise InputError(f"`repeats` must be a positive integer, got {repeats!r}", name="repeats")
    if not tables or not models:
        raise InputError("choose at least one feature set and one model", name="models")
    extra = tuple(extra)
    _, excluded = input_columns(dataset, target)
    refused = [f"{c} ({excluded[c]})" for c in extra if c in excluded]
    if refused:
        raise InputError("Added columns may not reveal the target: " + "; ".join(refused), name="extra")
    common = common_samples(dataset, tables, target=target, extra=extra, group_column=group_column)
    keep = common.keep
    if keep.sum() < 4:
        raise InputError(f"only {int(keep.sum())} samples have the target, every feature set and the added "
                         "columns: too few to cross-validate. " + common.summary())
    names = np.asarray(dataset.names, dtype=object)[keep]
    y = dataset.properties[target].to_numpy(float)[keep]
    groups = None if not group_column else dataset.properties[group_column].astype(str).to_numpy()[keep]
    splits = [(None, int(outer), int(inner), "random folds")]
    if group_column:
        splits.append((group_column, *group_folds(groups, int(outer), int(inner))))
    seeds = tuple(int(seed) + i for i in range(int(repeats)))
    widest = max(np.shape(table.values)[1] for table in tables.values()) + len(extra)
    shuffle = 8 * int(keep.sum()) * widest <= memory_budget() // 4  # a shuffled copy of the table per repeat
    settings = RunSettings(dataset=str(dataset_label or dataset.name), target=target, extra=extra,
                           standardize=bool(standardize or extra), group_column=group_column, outer=int(outer),
                           inner=int(inner), scoring=scoring, seeds=seeds, samples=int(keep.sum()),
                           shuffle_order=bool(shuffle))
    cv = cv or _plain_cv
    extra_values = dataset.properties[list(extra)].to_numpy(float)[keep] if extra else None
    combos = [(label, model, split) for label in tables for model in models for split in splits]
    runs, folds_of, tables_of = [], {}, {}
    for number, (label, model, (grouped, folds, inner_folds, note)) in enumerate(combos, start=1):
        table = tables[label]
        if label not in tables_of:  # one training table per feature set, shared by its models and splits
            X = aligned_values(table, list(dataset.names))[keep]
            tables_of[label] = X if extra_values is None else np.hstack([X, extra_values])
        X = tables_of[label]
        run_groups = groups if grouped else None
        key = run_key(getattr(table, "key", label), target, names, run_groups, extra)
        title = f"{model} on {label}" + (f", grouped by {grouped}" if grouped else "")

        def report(event, number=number, title=title):
            return callback({**event, "task": number, "tasks": len(combos), "title": title}) if callback else None

        results = _repeats(X, y, run_groups, seeds=seeds, shuffle=shuffle, cv=cv,
                           key=f"{key}|{model}|{folds}|{inner_folds}",
                           callback=report, model=model, outer=folds, inner=inner_folds, scoring=scoring,
                           standardize=settings.standardize)
        if results is None:
            break
        folds_of.setdefault(grouped, (note, [r.folds for r in results]))
        runs.append(ModelRun(feature_set=label, model=model, result=results[0], repeats=tuple(results),
                             names=names, settings=settings, grouped=grouped, folds=note, X=X, groups=run_groups,
                             key=key, entry=(entries or {}).get(label), extra=extra,
                             dropped=tuple(common.dropped), set_missing=common.per_set.get(label, 0),
                             common=common))
    for grouped, (note, fold_sets) in folds_of.items():
        results = [constant_baseline(y, folds, scoring=scoring) for folds in fold_sets]
        runs.append(ModelRun(feature_set="(constant)", model="baseline", result=results[0], repeats=tuple(results),
                             names=names, settings=settings, grouped=grouped, folds=note,
                             groups=groups if grouped else None, extra=extra, dropped=tuple(common.dropped),
                             common=common, baseline=True))
    return runs
