"""Saved data sets together with what the workspace derived from them: deleting or editing one takes its
feature tables, imported features and training runs along.

:mod:`msdash.data.datastore` keeps the data sets' own entries and imports nothing above the data layer; this module
sits above it and the feature store, so neither has to import the other back.
"""

from msdash import config
from msdash.data import datastore

__all__ = ["delete_saved", "replace_saved"]


def delete_saved(dataset_id):
    """Delete a saved data set and what the workspace keeps only for it.

    Its cached feature tables, imported feature tables, training runs, cached hover-image atlases and the store
    rows of images no other saved data set has go (:func:`msdash.features.cleanup.delete_dataset_features`,
    first, so it can still read the set's image hashes), then its entry
    (:func:`msdash.data.datastore.delete_dataset`).

    Parameters
    ----------
    dataset_id : str

    Returns
    -------
    int
        Bytes freed by the features and atlases (the entry's own files not counted).

    Raises
    ------
    WorkspaceError
        A malformed id, no such data set, or a workspace that cannot be written.
    """
    from msdash.atlas import delete_atlases
    from msdash.features.cleanup import delete_dataset_features

    if not datastore.dataset_exists(dataset_id):
        datastore.delete_dataset(dataset_id)  # says why (malformed id, no such set)
    freed = delete_dataset_features(dataset_id) + delete_atlases(dataset_id)
    datastore.delete_dataset(dataset_id)
    return freed


def replace_saved(dataset_id, ds, *, keep_old=False):
    """Save an edited version of a saved data set, keeping its images, features, imported tables and runs.

    :func:`msdash.data.datastore.replace_dataset` writes the new entry (images hard-linked, never rewritten);
    imported feature tables and training runs recorded for the old id follow the new one; the old entry and
    what only it had then go (:func:`delete_saved`) unless ``keep_old``.

    Parameters
    ----------
    dataset_id : str
        The saved data set that ``ds`` edits.
    ds : Dataset
        The edited set (same images).
    keep_old : bool
        Keep the old entry too (e.g. the built-in demo).

    Returns
    -------
    str
        The id of the edited set (the old id when nothing but the name changed).
    """
    new_id = datastore.replace_dataset(dataset_id, ds, keep_old=True)
    if new_id == dataset_id:
        return new_id
    _move_imported(dataset_id, new_id)
    _move_runs(dataset_id, new_id)
    if not keep_old:
        delete_saved(dataset_id)
    return new_id


def _move_imported(old_id, new_id):
    # Imported feature tables are kept per data set id (by sample name): the edited set keeps them.
    from msdash.features.imported_store import load_imported, save_imported

    for table in load_imported(old_id):
        save_imported(new_id, table)


def _move_runs(old_id, new_id):
    # Training runs were made on the images, which an edited table keeps: they follow the new id.
    from msdash.learned.runs import read_meta, write_meta

    learned = config.workspace() / "learned"
    for run in sorted(learned.glob("*/*/meta.json")) if learned.is_dir() else ():
        try:
            meta = read_meta(run.parent)
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and meta.get("dataset_id") == old_id:
            write_meta(run.parent, {**meta, "dataset_id": new_id})
