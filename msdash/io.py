"""The stable entry point for reading micrographs and property tables.

The implementation lives in :mod:`msdash.data` (:mod:`msdash.data.loader`, :mod:`msdash.data.tables`); this module
re-exports its public names so that ``from msdash.io import load_images`` keeps working as the data layer moves.

>>> from msdash.io import load_images
>>> len(load_images([]).images), load_images([]).errors
(0, [])
"""

from msdash.data.loader import (LoadError, LoadResult, MatchReport, SUPPORTED_EXTENSIONS, load_images,
                                match_properties, read_properties, to_grey)

__all__ = [
    "SUPPORTED_EXTENSIONS", "LoadError", "LoadResult", "load_images", "to_grey",
    "read_properties", "match_properties", "MatchReport",
]
