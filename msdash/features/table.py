"""A feature table: one row per sample, labelled columns, the failures and where the values came from."""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["FeatureError", "FeatureTable"]


@dataclass(frozen=True)
class FeatureError:
    """Why one sample has no features: ``name`` (the sample) and a plain ``message``."""

    name: str
    message: str

    def __str__(self):
        return f"{self.name}: {self.message}"


@dataclass(eq=False)
class FeatureTable:
    """Features of a data set: one row per sample, in input order.

    Attributes
    ----------
    values : ndarray of float64, shape (n_samples, n_features)
        NaN rows for the samples in ``errors``.
    labels : list of str, length n_features
        Human-readable column labels (``"S2[dy=3,dx=-1]"``); beyond
        :data:`~msdash.features.labels.LIST_LABELS_MAX` columns a lazy sequence of str made on demand.
    names : list of str, length n_samples
    errors : list of FeatureError
    extractor : str
        Registry name (``"imported:<file>"`` for imported tables).
    params : dict
        Complete parameters, defaults filled.
    provenance : dict
        How the table was made: extractor, params, version, segmentation, counts, store hits/misses.
    key : str
        Hex digest of extractor, params and version (the store's ``extractor_key``).
    kind : str
        The extractor's kind: ``"classical"``, ``"foundation"``, ``"learned"`` or ``"imported"``.
    """

    values: np.ndarray
    labels: list
    names: list
    errors: list = field(default_factory=list)
    extractor: str = ""
    params: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    key: str = ""
    kind: str = "classical"

    @property
    def ok(self):
        """Boolean mask (n_samples,) of the rows without error."""
        failed = {e.name for e in self.errors}
        return np.array([name not in failed for name in self.names], dtype=bool)

    def to_frame(self):
        """The values as a pandas DataFrame indexed by sample name, one column per label."""
        import pandas as pd

        return pd.DataFrame(self.values, index=pd.Index(self.names, name="sample", dtype="str"),
                            columns=list(self.labels))
