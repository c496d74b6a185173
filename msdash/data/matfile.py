"""MATLAB ``.mat`` files: v4/v5 through ``scipy.io``, v7.3 (HDF5) through ``h5py``.

A file may hold several arrays; the numeric real 2-D or 3-D ones (after squeezing singleton axes) are the
candidates. One candidate loads; several raise :class:`MatChoiceError` listing them, so the page can ask.
"""

import numpy as np

from msdash.errors import InputError
from msdash.budget import check_decode
from msdash.data.images import check_shape, check_pixels

_MAT_ITEMSIZE = {
    "double": "f8", "single": "f4", "logical": "u1", "int8": "i1", "uint8": "u1", "int16": "i2",
    "uint16": "u2", "int32": "i4", "uint32": "u4", "int64": "i8", "uint64": "u8",
}
_MAT_NUMERIC_CLASSES = set(_MAT_ITEMSIZE)


class MatChoiceError(InputError):
    """A MAT file holds several candidate arrays and none was chosen.

    Parameters
    ----------
    message : str
        User-facing explanation.
    variables : list of str
        Names of the candidate arrays, in file order.
    """

    def __init__(self, message, *, variables, name=None):
        super().__init__(message, name=name)
        self.variables = list(variables)


def read_mat(fh, name, *, max_pixels, variable=None, budget=None):
    """Decode one array of a MATLAB ``.mat`` file (v4/v5 via scipy, v7.3 via h5py); return (array, colour).

    Parameters
    ----------
    variable : str, optional
        Array to load when the file holds several candidates (numeric, real, 2-D or 3-D after
        squeezing singleton axes).

    budget : msdash.budget.DecodeBudget, optional
        Checked with the chosen array's shape and type before it is read.

    Raises
    ------
    MatChoiceError
        When several candidates exist and ``variable`` names none of them.
    """
    head = fh.read(128)
    fh.seek(512)
    hdf_signature = fh.read(4) == b"\x89HDF" or head[:4] == b"\x89HDF"
    fh.seek(0)
    if b"MATLAB 7.3" in head or hdf_signature:
        return _read_mat_hdf5(fh, name, max_pixels, variable, budget)
    import scipy.io

    try:
        listing = scipy.io.whosmat(fh)
    except Exception as exc:
        raise InputError(
            f"{name}: could not be read as MAT: {exc}; the file may be damaged, save it again", name=name
        ) from None
    candidates = {
        var: _squeezed(shape) for var, shape, cls in listing
        if not var.startswith("__") and cls in _MAT_NUMERIC_CLASSES and len(_squeezed(shape)) in (2, 3)
    }
    classes = {var: cls for var, _, cls in listing}
    chosen, colour = _choose_variable(candidates, variable, name, max_pixels)
    check_decode(budget, name, candidates[chosen], _MAT_ITEMSIZE[classes[chosen]], colour=colour)
    fh.seek(0)
    try:
        array = scipy.io.loadmat(fh, variable_names=[chosen])[chosen]
    except Exception as exc:
        raise InputError(f"{name}: could not read array '{chosen}': {exc}", name=name) from None
    array = np.asarray(array).reshape(candidates[chosen])
    check_shape(array.shape, array.dtype, f"{name} ('{chosen}')")
    return array, colour


def _read_mat_hdf5(fh, name, max_pixels, variable, budget):
    import h5py

    try:
        mat = h5py.File(fh, "r")
    except Exception as exc:
        raise InputError(
            f"{name}: could not be read as MAT v7.3 (HDF5): {exc}; the file may be damaged", name=name
        ) from None
    with mat:
        _refuse_outside_references(mat, name)
        candidates = {}
        for var in mat:
            if not isinstance(mat.get(var, getlink=True), h5py.HardLink):
                continue  # a soft link names an object checked on its own; MATLAB writes none
            item = mat[var]
            matlab_class = item.attrs.get("MATLAB_class", b"") if isinstance(item, h5py.Dataset) else None
            if isinstance(matlab_class, bytes):
                matlab_class = matlab_class.decode("ascii", "replace")
            if (var.startswith("#") or matlab_class is None or "MATLAB_empty" in item.attrs
                    or (matlab_class and matlab_class not in _MAT_NUMERIC_CLASSES)
                    or item.dtype.kind not in "biuf"):
                continue
            shape = _squeezed(item.shape[::-1])  # MATLAB writes column-major: axes are reversed
            if len(shape) in (2, 3):
                candidates[var] = shape
        chosen, colour = _choose_variable(candidates, variable, name, max_pixels)
        check_decode(budget, name, candidates[chosen], mat[chosen].dtype, colour=colour)
        array = mat[chosen][()].T.reshape(candidates[chosen])
    return array, colour


def _refuse_outside_references(mat, name):
    """Raise InputError when any object of the HDF5 file reads bytes from outside the file.

    HDF5 lets a dataset keep its bytes in other files (external storage), map other files (virtual
    datasets), and lets a group link to objects of other files (external and user-defined links).
    Reading any of them would read a file of the server, so the whole upload is refused before any
    data is read. Links are listed without being followed (``visititems_links`` does not traverse them).
    """
    import h5py

    found = []

    def check(path, link):
        if isinstance(link, h5py.ExternalLink):
            found.append(f"'{path}' is a link to another file")
        elif not isinstance(link, (h5py.HardLink, h5py.SoftLink)):
            found.append(f"'{path}' is a link of a kind msdash does not follow")
        elif isinstance(link, h5py.HardLink):
            item = mat.get(path)
            if isinstance(item, h5py.Dataset):
                plist = item.id.get_create_plist()
                if plist.get_layout() == h5py.h5d.VIRTUAL:
                    found.append(f"'{path}' is a virtual dataset mapping other files")
                elif plist.get_external_count() > 0:
                    found.append(f"'{path}' keeps its data in another file (external storage)")
        return found[0] if len(found) >= 3 else None  # a non-None return stops the visit

    try:
        mat.visititems_links(check)
    except Exception as exc:
        raise InputError(
            f"{name}: could not be read as MAT v7.3 (HDF5): {exc}; the file may be damaged", name=name
        ) from None
    if found:
        raise InputError(
            f"{name}: refused: {'; '.join(found)}. msdash reads only arrays stored inside the uploaded file; "
            "save the variables again in MATLAB with save(..., '-v7.3') from plain arrays", name=name,
        )


def _squeezed(shape):
    return tuple(int(n) for n in shape if n != 1)


def _choose_variable(candidates, variable, name, max_pixels):
    """Return ``(variable to load, colour)`` after checking its size; raise InputError / MatChoiceError.

    ``candidates`` maps variable name → squeezed shape.
    """
    if not candidates:
        raise InputError(
            f"{name}: holds no numeric 2-D or 3-D array; save the image as a plain numeric matrix", name=name
        )
    chosen = next(iter(candidates)) if len(candidates) == 1 else variable
    if chosen in candidates:
        shape = candidates[chosen]
        colour = check_shape(shape, np.dtype(float), name)
        check_pixels(shape[:2] if colour else shape, max_pixels, name)
        return chosen, colour
    listed = ", ".join(candidates)
    unknown = f"; '{variable}' is not one of them" if variable is not None else ""
    raise MatChoiceError(
        f"{name}: holds several arrays ({listed}){unknown}; choose which one to load",
        variables=list(candidates), name=name,
    )
