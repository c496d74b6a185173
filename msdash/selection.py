"""Exports of a selection of samples: a table of names, properties and features, and a zip of images."""

import io
import zipfile

import numpy as np

from msdash.display import to_uint8


def selection_table(dataset, names, tables=()):
    """Properties and features of the selected samples, one row each.

    Parameters
    ----------
    dataset : Dataset
    names : list of str
        Selected sample names (order kept).
    tables : sequence of FeatureTable
        Feature sets to include; their columns are prefixed ``"<extractor>:"``.

    Returns
    -------
    pandas.DataFrame
        Indexed by sample name: the property columns, then the feature columns of each table.
    """
    export = dataset.properties.loc[list(names)].copy()
    export.index.name = "name"
    for table in tables:
        frame = table.to_frame().reindex(list(names))
        frame.columns = [f"{table.extractor}:{column}" for column in frame.columns]
        frame.index.name = "name"
        export = export.join(frame)
    return export


def selection_zip(dataset, names):
    """Zip archive (bytes) of the selected samples: 2-D and RGB images as 8-bit PNG, volumes as NPY.

    Parameters
    ----------
    dataset : Dataset
    names : list of str

    Returns
    -------
    bytes
    """
    from PIL import Image

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            image = dataset.images[name]
            member = io.BytesIO()
            if dataset.kind(name) == "3d":
                np.save(member, image, allow_pickle=False)
                archive.writestr(f"{name}.npy", member.getvalue())
            else:
                Image.fromarray(to_uint8(image)).save(member, format="PNG")
                archive.writestr(f"{name}.png", member.getvalue())
    return buffer.getvalue()
