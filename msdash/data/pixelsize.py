"""A micrograph's pixel size in micrometres, from the metadata its microscope or ImageJ wrote into the TIFF."""

import re
from dataclasses import dataclass

__all__ = ["PixelSize", "UNITS_UM", "unit_to_um", "tiff_pixel_size", "format_length", "scale_bar_length",
           "parse_pixel_size", "draw_scale_bar"]

#: Length unit (as written in metadata, lower case) → micrometres.
UNITS_UM = {"m": 1e6, "meter": 1e6, "metre": 1e6, "cm": 1e4, "centimeter": 1e4, "mm": 1e3, "millimeter": 1e3,
            "um": 1.0, "µm": 1.0, "μm": 1.0, "micron": 1.0, "microns": 1.0, "micrometer": 1.0, "micrometre": 1.0,
            "\\u00b5m": 1.0, "nm": 1e-3, "nanometer": 1e-3, "nanometre": 1e-3, "pm": 1e-6, "a": 1e-4, "å": 1e-4,
            "angstrom": 1e-4}


@dataclass(frozen=True)
class PixelSize:
    """The side of one pixel and where it was read.

    Attributes
    ----------
    um : float
        Micrometres per pixel (> 0).
    source : str
        Where it came from, for the user: ``"FEI/Thermo metadata"``, ``"Zeiss SEM metadata"``,
        ``"ImageJ metadata"``, ``"TIFF resolution tags"`` or ``"set by the user"``.
    """

    um: float
    source: str


def unit_to_um(unit):
    """Micrometres in one ``unit`` (``"nm"``, ``"micron"``, ``"µm"``, ``"mm"``…), or None if unknown.

    Examples
    --------
    >>> unit_to_um("nm"), unit_to_um("Micron"), unit_to_um("pixel")
    (0.001, 1.0, None)
    """
    if not isinstance(unit, str):
        return None
    return UNITS_UM.get(unit.strip().lower())


def _positive(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if value > 0 and value == value and value != float("inf") else None


def _fei(tif):
    meta = tif.fei_metadata or {}
    for section in ("Scan", "EScan", "Image"):
        width = _positive((meta.get(section) or {}).get("PixelWidth"))
        if width:
            return PixelSize(width * 1e6, "FEI/Thermo metadata")  # metres
    return None


def _zeiss(tif):
    meta = tif.sem_metadata or {}
    for key in ("ap_image_pixel_size", "ap_pixel_size"):
        entry = meta.get(key)
        if isinstance(entry, tuple) and len(entry) >= 3:
            size, factor = _positive(entry[1]), unit_to_um(str(entry[2]))
            if size and factor:
                return PixelSize(size * factor, "Zeiss SEM metadata")
    return None


def _x_resolution(page):
    tag = page.tags.get(282)  # XResolution, pixels per unit as a rational
    if tag is None:
        return None
    value = tag.value
    if isinstance(value, tuple) and len(value) == 2:
        return _positive(value[0] / value[1]) if value[1] else None
    return _positive(value)


def _imagej(tif):
    meta = tif.imagej_metadata or {}
    factor = unit_to_um(meta.get("unit"))
    per_unit = _x_resolution(tif.pages.first)
    if factor and per_unit:
        return PixelSize(factor / per_unit, "ImageJ metadata")
    return None


def _resolution_tags(tif):
    page = tif.pages.first
    tag = page.tags.get(296)  # ResolutionUnit: 1 none, 2 inch, 3 centimetre
    per_unit = _x_resolution(page)
    # Only centimetres: an inch resolution is almost always a print setting (72, 96, 300 dpi), not the optics.
    if tag is not None and int(tag.value) == 3 and per_unit:
        return PixelSize(1e4 / per_unit, "TIFF resolution tags")
    return None


def tiff_pixel_size(tif):
    """The pixel size a TIFF's metadata states, or None.

    Read in this order: FEI/Thermo (``PixelWidth`` in metres), Zeiss SEM (``AP_IMAGE_PIXEL_SIZE``), ImageJ
    (``unit`` with the XResolution tag), then the baseline resolution tags when their unit is the centimetre
    (a resolution per inch is taken for a print setting and ignored).

    Parameters
    ----------
    tif : tifffile.TiffFile
        An open file.

    Returns
    -------
    PixelSize or None
    """
    for reader in (_fei, _zeiss, _imagej, _resolution_tags):
        try:
            found = reader(tif)
        except Exception:  # damaged metadata is no reason to refuse the pixels
            found = None
        if found is not None:
            return found
    return None


def format_length(um):
    """A length in micrometres written with a fitting unit.

    Examples
    --------
    >>> format_length(0.0125), format_length(2.5), format_length(1500)
    ('12.5 nm', '2.5 µm', '1.5 mm')
    """
    if um < 1:
        return f"{um * 1e3:.3g} nm"
    if um >= 1000:
        return f"{um / 1e3:.3g} mm"
    return f"{um:.3g} µm"


def scale_bar_length(pixel_um, width_px, *, fraction=0.25):
    """A round scale-bar length (1, 2 or 5 × 10^k µm) near ``fraction`` of an image's width.

    Parameters
    ----------
    pixel_um : float
        Micrometres per pixel.
    width_px : int
        Image width in pixels.

    Returns
    -------
    length_um : float
    length_px : float

    Examples
    --------
    >>> scale_bar_length(0.0125, 1024)  # a 12.8 µm wide image
    (2.0, 160.0)
    """
    import math

    target = pixel_um * width_px * fraction
    exponent = math.floor(math.log10(target))
    length = max(m * 10.0 ** exponent for m in (1, 2, 5) if m * 10.0 ** exponent <= target)
    return length, length / pixel_um


_NUMBER_UNIT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)\s*([A-Za-zµμÅå]+)?\s*(?:/\s*px)?\s*$")


def parse_pixel_size(text):
    """A pixel size typed by the user (``"12.5 nm"``, ``"0.0125 µm"``, ``"0.5"`` = µm) in micrometres.

    Raises
    ------
    msdash.errors.InputError
        Not a positive length with a known unit.

    Examples
    --------
    >>> parse_pixel_size("12.5 nm"), parse_pixel_size("0.5")
    (0.0125, 0.5)
    """
    from msdash.errors import InputError

    match = _NUMBER_UNIT.match(str(text))
    factor = unit_to_um(match.group(2) or "um") if match else None
    value = _positive(match.group(1)) if match else None
    if not value or not factor:
        raise InputError(f"Pixel size must be a positive length such as '12.5 nm' or '0.5 µm', got {text!r}",
                         name="pixel_size")
    return value * factor


def draw_scale_bar(picture, *, pixel_um, source_width):
    """A copy of a displayed micrograph with a scale bar and its length in the bottom-right corner.

    Parameters
    ----------
    picture : ndarray of uint8, shape (h, w) or (h, w, 3)
        The image as shown (e.g. :func:`msdash.display.thumbnail`), possibly resized from the original.
    pixel_um : float
        Micrometres per pixel of the original image.
    source_width : int
        Width of the original image in pixels (the bar is scaled by ``w / source_width``).

    Returns
    -------
    ndarray of uint8, shape (h, w, 3)
        White bar with a black outline, about a quarter of the width long (:func:`scale_bar_length`), labelled
        with :func:`format_length` ("um" for "µm" where Pillow's bundled font has no micro sign); the rest of
        the picture is unchanged.
    """
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    picture = np.asarray(picture, dtype=np.uint8)
    rgb = np.repeat(picture[..., None], 3, axis=-1) if picture.ndim == 2 else picture.copy()
    h, w = rgb.shape[:2]
    length_um, length_px = scale_bar_length(pixel_um, int(source_width))
    bar = max(1, round(length_px * w / source_width))
    thick, margin = max(2, h // 64), max(3, h // 40)
    x1, y1 = w - margin, h - margin
    x0, y0 = x1 - bar, y1 - thick
    canvas = Image.fromarray(rgb)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle([x0 - 1, y0 - 1, x1, y1], fill=(0, 0, 0))  # outline: readable on bright and dark phases
    draw.rectangle([x0, y0, x1 - 1, y1 - 1], fill=(255, 255, 255))
    try:  # Pillow's bundled scalable font (no file outside the package is read)
        font = ImageFont.load_default(size=max(10, h // 22))
    except (TypeError, ImportError, OSError):  # a Pillow without FreeType: the small bitmap font
        font = ImageFont.load_default()
    text = _drawable(format_length(length_um), font)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    tx, ty = max(0, x1 - (right - left)), max(0, y0 - 2 - (bottom - top) - top)
    draw.text((tx, ty), text, fill=(255, 255, 255), font=font, stroke_width=1, stroke_fill=(0, 0, 0))
    return np.asarray(canvas)


def _drawable(text, font):
    # Pillow's bundled font has no micro sign (it draws an empty box): write "um" then, as plain-text labels do.
    import numpy as np
    from PIL import Image, ImageDraw

    def mask(glyph):
        canvas = Image.new("L", (64, 64))
        ImageDraw.Draw(canvas).text((4, 4), glyph, font=font, fill=255)
        return np.asarray(canvas)

    return text.replace("µ", "u") if "µ" in text and (mask("µ") == mask("\uffff")).all() else text
