"""The notebook API: open a data set, compute features through the store, draw a map, run nested CV, launch the app.

>>> from msdash import api
>>> study = api.demo()
>>> len(study), study.dataset.group_column
(300, 'family')

A :class:`Study` holds one :class:`~msdash.data.dataset.Dataset`; every feature it computes goes through the same
feature store as the app (``MSDASH_HOME``), so the dashboard launched on the study with :func:`launch` finds them
computed.
"""

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from msdash.errors import InputError

__all__ = ["Study", "open_images", "open_saved", "demo", "launch", "show", "read_features"]

#: Parquet metadata key under which :meth:`Study.export_features` writes the table's provenance (JSON).
PROVENANCE_KEY = b"msdash"


@dataclass
class Study:
    """One data set in a notebook, with the feature tables computed for it.

    Parameters
    ----------
    dataset : Dataset
        The images and their property table.
    tables : dict, optional
        Feature tables computed so far, keyed by ``(extractor, sorted parameters)``.
    """

    dataset: object
    tables: dict = field(default_factory=dict, repr=False)

    def __len__(self):
        return len(self.dataset)

    @property
    def properties(self):
        """The property table, ``pandas.DataFrame`` indexed by sample name."""
        return self.dataset.properties

    def features(self, extractor, **params):
        """Compute (or read from the feature store) one extractor's table for every sample.

        Parameters
        ----------
        extractor : str
            A registered extractor (``msdash.features.EXTRACTORS``, e.g. ``"two_point"``, ``"phys_feat2"``).
        **params
            The extractor's parameters (defaults otherwise), as on the Features page.

        Returns
        -------
        FeatureTable
            ``values`` of shape ``(n_samples, n_features)``; samples that failed are NaN rows listed in
            ``errors``.
        """
        from msdash.features import extract

        key = (extractor, json.dumps(params, sort_keys=True, default=str))
        if key not in self.tables:
            self.tables[key] = extract(self.dataset.images, extractor, **params)
        return self.tables[key]

    def feature_frame(self, extractor, **params):
        """:meth:`features` as a ``pandas.DataFrame`` (index: sample names, columns: feature labels)."""
        return self.features(extractor, **params).to_frame()

    def map(self, extractor, *, method="pca", standardize=False, params=None, **options):
        """A 2-D microstructure map of one feature table, with the properties beside the coordinates.

        Parameters
        ----------
        extractor : str
            Feature set to map (computed with ``params`` if needed).
        method : {"pca", "umap"}
            PCA (first two components) or UMAP (``options``: ``n_neighbors``, ``min_dist``, ``metric``…).
        standardize : bool
            Scale every feature to unit variance first.
        params : dict, optional
            The extractor's parameters.

        Returns
        -------
        pandas.DataFrame
            Index: sample names; columns ``x``, ``y`` then every property. Samples with a non-finite feature
            have NaN coordinates.
        """
        from msdash.maps import pca_map, umap_map

        values = self.features(extractor, **(params or {})).values
        if method == "pca":
            coords = pca_map(values, n_components=2, standardize=standardize).coords[:, :2]
        elif method == "umap":
            coords = umap_map(values, standardize=standardize, **options)
        else:
            raise InputError(f"`method` must be 'pca' or 'umap', got {method!r}", name="method")
        frame = pd.DataFrame(np.asarray(coords, dtype=float), index=pd.Index(self.dataset.names, name="name"),
                             columns=["x", "y"])
        return frame.join(self.properties)

    def nested_cv(self, target, *, features, model="pr", params=None, group_column=None, **options):
        """Nested cross-validation of ``target`` on one feature table (rows without a target value left out).

        Parameters
        ----------
        target : str
            A numeric property column.
        features : str
            The feature set (extractor name), computed with ``params`` if needed.
        model : str
            A key of ``msdash.models.MODELS`` (``"pr"`` polynomial regression on PCs, ``"svr"``, …).
        group_column : str, optional
            Property column of groups for group-aware folds; default the data set's own group column.
        **options
            Passed to :func:`msdash.models.nested_cv` (``outer``, ``inner``, ``scoring``, ``random_state``…).

        Returns
        -------
        CVResult
            As :func:`msdash.models.nested_cv`; ``result.rows`` are the positions of the samples used.
        """
        from msdash.models import nested_cv

        props = self.properties
        if target not in props.columns or not pd.api.types.is_numeric_dtype(props[target]):
            numeric = [c for c in props.columns if pd.api.types.is_numeric_dtype(props[c])]
            raise InputError(f"`target` must be a numeric property, one of {numeric}, got {target!r}", name="target")
        X = np.asarray(self.features(features, **(params or {})).values, dtype=np.float64)
        y = props[target].to_numpy(dtype=np.float64)
        rows = np.flatnonzero(np.isfinite(y) & np.isfinite(X).all(axis=1))
        group_column = group_column or self.dataset.group_column
        groups = None if group_column is None else props[group_column].to_numpy()[rows]
        result = nested_cv(X[rows], y[rows], model=model, groups=groups, **options)
        result.rows = rows
        return result

    def export_features(self, extractor, path, **params):
        """Write one feature table to Parquet, with names, labels and provenance.

        Parameters
        ----------
        extractor : str
            The feature set (computed with ``params`` if needed).
        path : str or path
            The ``.parquet`` file to write.

        Returns
        -------
        pathlib.Path
            ``path``. Read it back with :func:`read_features`; the provenance (extractor, parameters, version,
            the data set's content hash) is JSON under the schema metadata key ``b"msdash"``.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq
        from pathlib import Path

        table = self.features(extractor, **params)
        frame = table.to_frame()
        frame.columns = [str(c) for c in frame.columns]
        provenance = {"extractor": table.extractor, "params": table.params, "key": table.key,
                      "provenance": table.provenance, "dataset": self.dataset.name,
                      "dataset_content_hash": self.dataset.content_hash(),
                      "failed": [{"name": e.name, "message": e.message} for e in table.errors]}
        arrow = pa.Table.from_pandas(frame, preserve_index=True)
        metadata = dict(arrow.schema.metadata or {})
        metadata[PROVENANCE_KEY] = json.dumps(provenance, default=str).encode()
        path = Path(path)
        pq.write_table(arrow.replace_schema_metadata(metadata), path)
        return path

    def save(self):
        """Save the data set in the workspace (as *Save and open* does); returns its id."""
        from msdash.data.datastore import save_dataset

        return save_dataset(self.dataset)


def read_features(path):
    """Read a table written by :meth:`Study.export_features`.

    Returns
    -------
    frame : pandas.DataFrame
        Index: sample names; columns: feature labels.
    provenance : dict
        What computed it (extractor, parameters, data set).
    """
    import pyarrow.parquet as pq

    arrow = pq.read_table(path)
    provenance = json.loads((arrow.schema.metadata or {}).get(PROVENANCE_KEY, b"{}"))
    return arrow.to_pandas(), provenance


def open_images(sources, table=None, *, name=None, name_column=None, group_column=None, sheet=None,
                drop_unmatched=False):
    """Open micrographs (files, folders, zips) and an optional property table, matched by file name.

    Parameters
    ----------
    sources : str, path or list of them
        Image files, folders or ``.zip`` archives (the formats of the Data page).
    table : str or path, optional
        CSV or XLSX property table.
    name_column : str, optional
        Column of the table holding the image names; guessed as on the Data page by default.
    group_column : str, optional
        Column grouping related samples (group-aware CV).
    drop_unmatched : bool
        Leave out images without a row in the table.

    Returns
    -------
    Study
        ``study.dataset.notes`` lists files that could not be read and how the table matched.
    """
    from pathlib import Path

    from msdash.data.ingest import build_dataset, guess_name_column
    from msdash.io import load_images, match_properties, read_properties

    loaded = load_images(sources if isinstance(sources, (list, tuple)) else [sources])
    notes = [f"{error.name}: {error.message}" for error in loaded.errors]
    report = None
    if table is not None:
        frame = read_properties(Path(table), sheet=sheet)
        column = name_column or guess_name_column(frame, loaded.images)
        report = match_properties(list(loaded.images), frame, name_column=column, group_column=group_column)
    label = name or (Path(sources).name if isinstance(sources, (str, Path)) else "Notebook data set")
    return Study(build_dataset(loaded.images, report, name=label, source="notebook",
                               drop_unmatched=drop_unmatched, notes=notes, pixel_size=loaded.pixel_size))


def open_saved(dataset_id):
    """Open a data set saved in the workspace (the id shown on the Data page)."""
    from msdash.data.datastore import load_dataset

    return Study(load_dataset(dataset_id))


def demo():
    """The built-in demo data set (300 simulated two-phase microstructures)."""
    from msdash.data.dataset import demo_dataset

    return Study(demo_dataset())


def launch(study=None, *, port=None, wait_s=60.0):
    """Start the dashboard in a background process, opened on ``study`` (saved to the workspace first).

    Parameters
    ----------
    study : Study, optional
        The data set to open; the demo by default.
    port : int, optional
        Port on 127.0.0.1 (a free one by default).
    wait_s : float
        Seconds to wait for the server to answer.

    Returns
    -------
    Server
        ``server.page_url`` opens the study (``server.url`` is the server's base address); ``server.stop()``
        ends it.
    """
    from msdash.config import workspace
    from msdash.launcher import Server

    home = workspace()
    server = Server(home=home, port=port, log=home / "dashboard.log").start(timeout=wait_s)
    server.page_url = server.url if study is None else f"{server.url}/?ds={study.save()}"  # the app opens ?ds=
    return server


def show(study=None, *, height=800, **kwargs):
    """:func:`launch` and display the dashboard inside a Jupyter cell (an IFrame); returns the server."""
    server = launch(study, **kwargs)
    try:
        from IPython.display import IFrame, display
    except ImportError:  # not in Jupyter: open server.page_url in a browser
        return server
    display(IFrame(server.page_url, width="100%", height=height))
    return server
