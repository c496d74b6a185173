"""Failed samples of an extraction: lengths that cannot match, known from shapes; messages grouped with counts."""

from collections import Counter
from dataclasses import dataclass

from msdash.errors import InputError

__all__ = ["error_summary"]

#: Failures caused by the machine rather than the image: never cached, so a retry can succeed.
_TRANSIENT = (MemoryError, OSError, ImportError, RecursionError)


@dataclass(frozen=True)
class Failure:
    """Why one sample has no features (``message``), and whether the store may keep that answer."""

    message: str
    cacheable: bool = True


def failure(exc):
    """The :class:`Failure` of an exception raised by an extractor (the message a user reads)."""
    message = str(exc) if isinstance(exc, InputError) else f"{type(exc).__name__}: {exc}"
    return Failure(message, cacheable=not isinstance(exc, _TRANSIENT))


def error_summary(errors):
    """Failures grouped by message, the most frequent first: ``[(message, [sample names]), ...]``.

    Examples
    --------
    >>> from msdash.features.table import FeatureError
    >>> errors = [FeatureError("a", "too small"), FeatureError("b", "NaN"), FeatureError("c", "too small")]
    >>> error_summary(errors)
    [('too small', ['a', 'c']), ('NaN', ['b'])]
    """
    groups = {}
    for error in errors:
        groups.setdefault(error.message, []).append(error.name)
    return sorted(groups.items(), key=lambda item: -len(item[1]))


def summary_text(errors, limit=3):
    """One sentence for many failures: each distinct message once, with its count and an example sample."""
    groups = error_summary(errors)
    parts = [f"{message} ({len(names):,} sample{'' if len(names) == 1 else 's'}, e.g. {names[0]})"
             for message, names in groups[:limit]]
    if len(groups) > limit:
        parts.append(f"and {len(groups) - limit} other reasons")
    return "; ".join(parts)


def off_length(spec, params, samples):
    """Samples whose feature length, known from their shape, differs from the most common one: index → message."""
    from msdash.features.sizing import feature_count

    per_shape, expected = {}, {}
    for i, sample in enumerate(samples):
        if sample is not None:
            if sample.shape not in per_shape:
                per_shape[sample.shape] = feature_count(spec, params, [sample.shape])
            if per_shape[sample.shape] is not None:
                expected[i] = per_shape[sample.shape]
    lengths = Counter(expected.values())
    if len(lengths) < 2:
        return {}
    d = max(lengths, key=lambda length: (lengths[length], length))
    return {i: length_message(length, d, samples[i].shape) for i, length in expected.items() if length != d}


def length_message(length, d, shape):
    """Why a sample whose feature length is not the table's is an error row."""
    return (f"gives {length} features where most samples give {d} (shape {shape}); images of different sizes need "
            "a fixed cutoff, or crop them to one size (volumes mixed with 2-D images need sections='mean')")
