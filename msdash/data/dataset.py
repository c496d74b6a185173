"""Data sets: named images plus a property table, with content hashes.

Saved, listed, loaded and deleted by :mod:`msdash.data.datastore` (``save_dataset``, ``load_dataset``…), which imports
this module and is not imported by it.
"""

import hashlib
import importlib.resources
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .imagestore import Images
from .kinds import KINDS, image_kind

__all__ = ["Dataset", "DatasetInfo", "demo_dataset", "sample_hash"]

#: The demo set's files, package data of :mod:`msdash.data` (a folder on disk in every install, wheel or tree).
_DEMO_DIR = Path(str(importlib.resources.files("msdash.data") / "demo"))
DEMO_NAME = "Demo: 300 two-phase microstructures (64×64)"


@dataclass(eq=False)
class Dataset:
    """Named images with a property table: what the dashboard works on.

    Construction checks and normalises the contents: images are read as float32 arrays of shape
    ``(H, W)``, ``(H, W, 3)`` or ``(D, H, W)`` (kept compactly: an :class:`~msdash.data.imagestore.Images`
    passed in, e.g. ``LoadResult.images``, keeps its 8-bit, 16-bit and binary arrays as they are);
    properties are re-ordered to the sample order, numeric columns become
    float64 and all other columns text (``str`` dtype, missing values NaN).

    Parameters
    ----------
    name : str
        Human label shown in the app.
    images : dict of str to ndarray, or Images
        Sample name → image; insertion order is the sample order. Plain arrays are cast to float32.
    properties : pandas.DataFrame, optional
        Index = sample names (all of them, any order); may have zero columns. Column names must be
        unique strings (units in the name are welcome: ``"hardness (HV)"``).
    group_column : str, optional
        A property column whose values group related samples (for group-aware cross-validation).
    source : str, optional
        Where the data came from: ``"demo"``, ``"upload"``, ``"generated"``, …
    notes : list of str, optional
        Messages for the user (skipped files, conversions).
    derived : dict of str to str, optional
        Provenance of derived columns: column → formula (see :mod:`msdash.derived`), saved with the set.
    pixel_size_um : float, optional
        Micrometres per pixel when known (read from the files, see :mod:`msdash.data.pixelsize`, or set by the
        user); lengths are then shown in µm. Not part of the content hash: it describes the images, it does
        not change them or their features.
    kinds : dict of str to str, optional
        Sample name → ``"rgb"`` or ``"3d"`` where the sample is not what its shape alone says
        (:func:`msdash.data.images.image_kind`: a 4×4 RGB PNG, a TIFF stack 3 pixels wide). Images from
        :func:`msdash.io.load_images` bring the loader's record (``LoadResult.images.kinds``); entries equal to
        the shape rule are dropped. Part of the content hash when not empty (the same bytes read as colour
        or as a volume are different data).

    Examples
    --------
    >>> ds = Dataset("tiny", {"a": np.zeros((4, 4)), "b": np.ones((2, 4, 4))})
    >>> ds.names, len(ds), ds.kind("b"), ds.images["a"].dtype
    (['a', 'b'], 2, '3d', dtype('float32'))
    >>> same = Dataset("other label", {"a": np.zeros((4, 4)), "b": np.ones((2, 4, 4))})
    >>> ds.content_hash() == same.content_hash()
    True
    >>> Dataset("tiny", {"c": np.zeros((4, 4, 3))}, kinds={"c": "rgb"}).kind("c")
    'rgb'
    """

    name: str
    images: Images
    properties: pd.DataFrame | None = None
    group_column: str | None = None
    source: str = ""
    notes: list[str] = field(default_factory=list)
    derived: dict[str, str] = field(default_factory=dict)
    pixel_size_um: float | None = None
    kinds: dict[str, str] = field(default_factory=dict)
    _image_hashes: list | None = field(default=None, init=False, repr=False, compare=False)
    _content_hash: str | None = field(default=None, init=False, repr=False, compare=False)
    _summary: dict | None = field(default=None, init=False, repr=False, compare=False)
    _images_digest: object = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        recorded = getattr(self.images, "kinds", None) or {}  # the loader's record (LoadedImages)
        self.images = _normalise_images(self.images)
        self.kinds = _normalise_kinds({**recorded, **(self.kinds or {})}, self.images)
        self.properties = _normalise_properties(self.properties, list(self.images))
        if self.group_column is not None and self.group_column not in self.properties.columns:
            raise InputError(
                f"`group_column` {self.group_column!r} is not a property column", name="group_column"
            )
        self.notes = [str(note) for note in self.notes]
        self.derived = dict(self.derived or {})
        self.pixel_size_um = _check_pixel_size(self.pixel_size_um)
        unknown = [c for c in self.derived if c not in self.properties.columns]
        if unknown or not all(isinstance(f, str) for f in self.derived.values()):
            raise InputError(f"`derived` must map property columns to formulas (text); not columns: {unknown}",
                             name="derived")

    @property
    def names(self):
        """Sample names in order (list of str)."""
        return list(self.images)

    def __len__(self):
        return len(self.images)

    def kind(self, name):
        """What sample ``name`` is: ``"2d"``, ``"rgb"`` or ``"3d"`` (its entry in :attr:`kinds`, else
        :func:`~msdash.data.images.image_kind` of its shape)."""
        return self.kinds.get(name) or image_kind(self.images.raw(name))

    @property
    def numeric_columns(self):
        """Property columns holding numbers (float64), in table order."""
        return [c for c in self.properties.columns if self.properties[c].dtype == np.float64]

    @property
    def text_columns(self):
        """Property columns holding text, in table order."""
        return [c for c in self.properties.columns if self.properties[c].dtype != np.float64]

    def image_hashes(self):
        """Content hash of every sample (as :func:`msdash.features.store.image_hash`), in sample order.

        Computed once per object (samples are treated as read-only), so repeated feature-store look-ups
        of a data set skip the hashing. A sample whose kind is recorded in :attr:`kinds` gets
        :func:`sample_hash` with its kind (its features differ from those of the same
        bytes read by their shape).

        Returns
        -------
        list of str
        """
        if self._image_hashes is None:
            self._image_hashes = [sample_hash(self.images[name], self.kinds.get(name)) for name in self.images]
        return self._image_hashes

    def content_hash(self):
        """Identifier of the contents: 16 hex characters of a SHA-256.

        Hashes the sample names in order, each array's dtype, shape and bytes, the property table as
        canonical CSV (with the column kinds), the group column and the formulas of derived columns (when
        there are any, so ids of sets without them are as before) — not ``name``, ``source`` or ``notes``,
        so the same data uploaded twice under different labels gets the same id. Computed once per object
        (a data set is treated as read-only once built).
        """
        if self._content_hash is None:
            self._content_hash = self._compute_content_hash()
        return self._content_hash

    def _compute_content_hash(self):
        if self._images_digest is None:  # the images' part, kept so an edited table does not re-hash them
            digest = hashlib.sha256(b"msdash-dataset-v1\0")
            for sample, image in self.images.items():
                header = json.dumps([sample, image.dtype.str, list(image.shape)], ensure_ascii=False)
                digest.update(header.encode() + b"\0")
                digest.update(np.ascontiguousarray(image).data)
            self._images_digest = digest
        digest = self._images_digest.copy()
        numeric = set(self.numeric_columns)
        kinds = [[c, "num" if c in numeric else "text"] for c in self.properties.columns]
        digest.update(json.dumps([kinds, self.group_column], ensure_ascii=False).encode() + b"\0")
        if self.derived:
            digest.update(json.dumps(sorted(self.derived.items()), ensure_ascii=False).encode() + b"\0")
        if self.kinds:  # only then, so ids of sets whose samples are what their shapes say are as before
            digest.update(json.dumps(["kinds", sorted(self.kinds.items())], ensure_ascii=False).encode() + b"\0")
        # "\N" tells a missing value from an empty string.
        table = self.properties.to_csv(lineterminator="\n", na_rep="\\N")
        digest.update(table.encode())
        return digest.hexdigest()[:16]

    def with_table(self, properties, *, group_column=None, derived=None, notes=None):
        """A copy with another property table; the images are shared, neither copied nor hashed again.

        Parameters
        ----------
        properties : pandas.DataFrame or None
            As for the constructor (one row per sample).
        group_column : str, optional
        derived : dict of str to str, optional
            Formulas of derived columns (default none).
        notes : list of str, optional
            Default: this set's notes.

        Returns
        -------
        Dataset
            Same name, source and images; image hashes computed for this set are reused.

        Examples
        --------
        >>> ds = Dataset("t", {"a": np.zeros((2, 2)), "b": np.ones((2, 2))})
        >>> edited = ds.with_table(pd.DataFrame({"x": [1.0, 2.0]}, index=["a", "b"]))
        >>> edited.content_hash() == Dataset("t", dict(ds.images), edited.properties).content_hash()
        True
        """
        edited = Dataset(self.name, self.images, properties, group_column=group_column, source=self.source,
                         notes=list(self.notes if notes is None else notes), derived=dict(derived or {}),
                         pixel_size_um=self.pixel_size_um, kinds=self.kinds)
        edited._image_hashes, edited._images_digest = self._image_hashes, self._images_digest
        return edited

    def kind_counts(self):
        """Samples of each kind (dict ``"2d"``/``"rgb"``/``"3d"`` → count, kinds present only)."""
        counts = {}
        for name in self.images:
            kind = self.kind(name)
            counts[kind] = counts.get(kind, 0) + 1
        return counts

    def summary(self):
        """Counts for display: samples, kinds, smallest/largest shape (by pixels), columns.

        Returns
        -------
        dict
            ``n_samples``, ``kinds`` (kind → count), ``shape_min``, ``shape_max`` (tuples, None when
            empty), ``columns``, ``numeric_columns``, ``text_columns``, ``group_column``.
        """
        if self._summary is not None:
            return dict(self._summary)
        by_size = sorted(self.images.raw_values(), key=lambda a: (a.size, a.shape))
        self._summary = {
            "n_samples": len(self),
            "kinds": self.kind_counts(),
            "shape_min": tuple(by_size[0].shape) if by_size else None,
            "shape_max": tuple(by_size[-1].shape) if by_size else None,
            "columns": list(self.properties.columns),
            "numeric_columns": self.numeric_columns,
            "text_columns": self.text_columns,
            "group_column": self.group_column,
            "derived": dict(self.derived),
        }
        return dict(self._summary)


@dataclass(frozen=True)
class DatasetInfo:
    """One saved data set as listed in the workspace (read from its ``meta.json``, no arrays loaded).

    ``created``: ISO 8601 UTC time; ``kinds``: ``"2d"``/``"rgb"``/``"3d"`` → count; ``size_bytes``: on disk.
    """

    id: str
    name: str
    n_samples: int
    created: str
    source: str
    kinds: dict[str, int]
    size_bytes: int


def demo_dataset():
    """The built-in demo set (``msdash/data/demo``), regenerated in memory when its files are missing.

    Returns
    -------
    Dataset
        300 two-phase 64×64 microstructures with the properties described in :mod:`msdash.synthetic.demo`,
        grouped by ``family``.
    """
    from ..synthetic.demo import make_demo, read_demo  # scipy only when needed

    notes = []
    try:
        stack, table = read_demo(_DEMO_DIR)
    except (OSError, ValueError, KeyError):
        stack, table = make_demo()
        notes.append("The demo files were missing or damaged, so the demo set was regenerated.")
    images = dict(zip(table["name"], stack))
    return Dataset(DEMO_NAME, images, table.set_index("name"), group_column="family", source="demo",
                   notes=notes)


def sample_hash(image, kind=None):
    """Feature-store key of one sample: its content hash, with its kind when the shape alone would mislead.

    Parameters
    ----------
    image : ndarray
        The sample as float32 (what the extractors see).
    kind : {"2d", "rgb", "3d"}, optional
        What the sample is; None or the kind its shape says give :func:`msdash.features.store.image_hash`
        unchanged, so the features of every ordinary sample keep their keys.

    Returns
    -------
    str
        64 hex characters.

    Examples
    --------
    >>> a = np.zeros((4, 4, 3), np.float32)
    >>> sample_hash(a) == sample_hash(a, "3d"), sample_hash(a) == sample_hash(a, "rgb")
    (True, False)
    """
    from ..features.storekeys import image_hash

    content = image_hash(image)
    if kind is None or kind == image_kind(image):
        return content
    return hashlib.sha256(f"{content}:{kind}".encode()).hexdigest()


def _normalise_kinds(kinds, images):
    """Check recorded kinds against the images; keep only those the shape rule would not give."""
    if not isinstance(kinds, Mapping):
        raise InputError(f"`kinds` must be a dict sample name → kind, got {type(kinds).__name__}", name="kinds")
    out = {}
    for name, kind in kinds.items():
        if name not in images:
            continue  # a sample left out (unmatched, dropped): its record goes with it
        if kind not in KINDS:
            raise InputError(f"`kinds` of {name!r} must be one of {', '.join(KINDS)}, got {kind!r}", name="kinds")
        shape = images.raw(name).shape
        if (kind == "2d") != (len(shape) == 2) or (kind == "rgb" and shape[-1] != 3):
            raise InputError(f"Sample {name!r} of shape {shape} cannot be {kind!r}", name="kinds")
        if kind != image_kind(shape):
            out[name] = kind
    return out


def _normalise_images(images):
    if not isinstance(images, Mapping):
        raise InputError(f"`images` must be a dict name → array, got {type(images).__name__}", name="images")
    compact = isinstance(images, Images)
    out = Images()
    for name in images:
        if not isinstance(name, str) or not name:
            raise InputError(f"Image names must be non-empty strings, got {name!r}", name="images")
        array = images.raw(name) if compact else np.asarray(images[name], dtype=np.float32)
        if array.ndim not in (2, 3) or 0 in array.shape:
            raise InputError(
                f"Image {name!r} must be (H, W), (H, W, 3) or (D, H, W), got shape {array.shape}", name=name
            )
        out[name] = array
    return out


def _normalise_properties(properties, names):
    if properties is None or properties.shape == (0, 0):
        return pd.DataFrame(index=pd.Index(names, dtype="str"))
    if not isinstance(properties, pd.DataFrame):
        raise InputError("`properties` must be a pandas DataFrame indexed by sample name", name="properties")
    columns = list(properties.columns)
    if not all(isinstance(c, str) for c in columns) or len(set(columns)) != len(columns):
        raise InputError(f"Property columns must be unique text names, got {columns}", name="properties")
    index = [str(i) for i in properties.index]
    missing, extra = set(names) - set(index), set(index) - set(names)
    if missing or extra or len(index) != len(names):
        raise InputError(
            "The property table must have exactly one row per image "
            f"(rows without image: {sorted(extra)[:5]}, images without row: {sorted(missing)[:5]})",
            name="properties",
        )
    table = properties.copy()
    table.index = pd.Index(index, dtype="str")
    table = table.loc[names]
    for column in columns:
        numeric = table[column].dtype.kind in "biuf"
        table[column] = table[column].astype(np.float64 if numeric else "str")
    table.index.name = None
    return table


def _check_pixel_size(value):
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        value = float("nan")
    if not (0 < value < float("inf")):
        raise InputError(f"`pixel_size_um` must be a positive number of micrometres, got {value!r}",
                         name="pixel_size_um")
    return value
