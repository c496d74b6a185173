"""Volume fraction and two-point statistics against direct sums over pixels and displacements."""

import itertools

import numpy as np
import pytest

from msdash.errors import InputError
from msdash.features.correlation import check_stack, two_point, two_point_labels, volume_fraction
from msdash.features.correlation_papers import (two_point_paper_a, two_point_paper_a_labels, two_point_paper_b,
                                                two_point_paper_b_labels)

DTYPES = [np.uint8, bool, np.int64, np.float32, np.float64]


def labels(shape, seed=0, n_phases=2):
    return np.random.default_rng(seed).integers(0, n_phases, size=shape)


def direct_two_point(image, phases, periodic, c):
    """S[c + r] = mean over the valid x of 1[u(x) = p] · 1[u(x + r) = p'], one displacement at a time."""
    p, q = phases
    a, b = image == p, image == q
    out = np.zeros((2 * c + 1,) * image.ndim)
    for r in itertools.product(range(-c, c + 1), repeat=image.ndim):
        if periodic:
            shifted = np.roll(b, [-ri for ri in r], axis=tuple(range(image.ndim)))  # shifted[x] = b[x + r]
            value = np.mean(a & shifted)
        else:
            start = tuple(slice(max(0, -ri), n - max(0, ri)) for ri, n in zip(r, image.shape))
            end = tuple(slice(max(0, ri), n - max(0, -ri)) for ri, n in zip(r, image.shape))
            value = np.mean(a[start] & b[end])
        out[tuple(ri + c for ri in r)] = value
    return out


def checkerboard(shape):
    return np.indices(shape).sum(axis=0) % 2


class TestCheckStack:
    @pytest.mark.parametrize("shape, ndim, expected", [((4, 5), None, (1, 4, 5)), ((3, 4, 5), None, (3, 4, 5)),
                                                       ((2, 3, 4, 5), None, (2, 3, 4, 5)),
                                                       ((3, 4, 5), 3, (1, 3, 4, 5)), ((4, 5), 2, (1, 4, 5))])
    def test_reads_shapes(self, shape, ndim, expected):
        stack, d = check_stack(np.zeros(shape), ndim=ndim)
        assert stack.shape == expected and stack.dtype == np.float64 and d == len(expected) - 1

    @pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((1, 2, 3, 4, 5)), np.zeros((0, 4, 4)),
                                     np.array([["a", "b"]]), np.full((2, 2), np.nan), np.ones((2, 2)) * 1j])
    def test_refuses_with_the_argument_name(self, bad):
        with pytest.raises(InputError, match="`images`"):
            check_stack(bad)

    def test_ragged_sequence(self):
        with pytest.raises(InputError, match="sizes differ"):
            check_stack([np.zeros((2, 2)), np.zeros((3, 3))])

    def test_bad_ndim(self):
        with pytest.raises(InputError, match="`ndim`"):
            check_stack(np.zeros((2, 2)), ndim=4)


class TestVolumeFraction:
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_checkerboard_is_half(self, dtype):
        np.testing.assert_array_equal(volume_fraction(checkerboard((4, 4)).astype(dtype)), [0.5])

    @pytest.mark.parametrize("shape", [(3, 5, 7), (2, 3, 4, 5), (6, 6)])
    def test_counts_pixels(self, shape):
        u = labels(shape)
        stack = u if len(shape) > 2 else u[None]
        expected = [np.count_nonzero(s == 1) / s.size for s in stack]
        np.testing.assert_allclose(volume_fraction(u), expected)

    def test_other_phase_and_single_volume(self):
        u = labels((3, 4, 5), n_phases=3)
        np.testing.assert_allclose(volume_fraction(u, phase=2, ndim=3), [np.mean(u == 2)])

    def test_refuses_grey_values(self):
        with pytest.raises(InputError, match=r"`images`.*\(4, 4\)"):
            volume_fraction(np.full((4, 4), 0.3))


class TestTwoPoint:
    @pytest.mark.parametrize("shape", [(5, 7), (6, 6), (4, 9)])
    @pytest.mark.parametrize("periodic", [True, False])
    @pytest.mark.parametrize("phases", [(1, 1), (1, 0), (0, 1)])
    def test_matches_direct_sum_2d(self, shape, periodic, phases):
        u = labels((3, *shape), seed=sum(shape))
        for cutoff in (None, 1):
            c = min(shape) // 2 if cutoff is None else cutoff
            expected = np.stack([direct_two_point(image, phases, periodic, c) for image in u])
            got = two_point(u, phases=phases, periodic=periodic, cutoff=cutoff)
            assert got.shape == (3, 2 * c + 1, 2 * c + 1)
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-14)

    @pytest.mark.parametrize("periodic", [True, False])
    @pytest.mark.parametrize("phases", [(1, 1), (0, 1), (2, 0)])
    def test_matches_direct_sum_3d(self, periodic, phases):
        u = labels((2, 3, 4, 5), seed=3, n_phases=3)
        expected = np.stack([direct_two_point(v, phases, periodic, 1) for v in u])
        got = two_point(u, phases=phases, periodic=periodic)
        assert got.shape == (2, 3, 3, 3)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-14)

    def test_largest_non_periodic_cutoff(self):
        u = labels((2, 4, 6), seed=5)
        np.testing.assert_allclose(two_point(u, periodic=False, cutoff=3),
                                   np.stack([direct_two_point(v, (1, 1), False, 3) for v in u]), atol=1e-14)

    def test_periodic_cutoff_beyond_the_side_repeats(self):
        u = labels((1, 3, 4), seed=6)
        np.testing.assert_allclose(two_point(u, cutoff=5)[0], direct_two_point(u[0], (1, 1), True, 5), atol=1e-14)

    @pytest.mark.parametrize("dtype", [np.uint8, bool, np.float32, np.float64])
    @pytest.mark.parametrize("periodic", [True, False])
    def test_origin_is_volume_fraction(self, dtype, periodic):
        u = labels((4, 6, 8), seed=1).astype(dtype)
        s = two_point(u, periodic=periodic)
        np.testing.assert_allclose(s[:, 3, 3], volume_fraction(u), rtol=0, atol=1e-15)

    def test_single_image_and_single_volume(self):
        u = labels((5, 6, 7))
        assert two_point(u[0], cutoff=2).shape == (1, 5, 5)
        np.testing.assert_array_equal(two_point(u, cutoff=2, ndim=3), two_point(u[None], cutoff=2))

    def test_checkerboard_pattern(self):
        s = two_point(checkerboard((6, 6)), cutoff=3)[0]
        dy, dx = np.indices(s.shape) - 3
        np.testing.assert_array_equal(s, np.where((dy + dx) % 2 == 0, 0.5, 0.0))

    @pytest.mark.parametrize("periodic", [True, False])
    def test_auto_is_symmetric_cross_is_mirrored(self, periodic):
        u = labels((2, 7, 8), seed=2)
        auto = two_point(u, periodic=periodic)
        np.testing.assert_array_equal(auto, auto[:, ::-1, ::-1])
        np.testing.assert_array_equal(two_point(u, phases=(1, 0), periodic=periodic),
                                      two_point(u, phases=(0, 1), periodic=periodic)[:, ::-1, ::-1])

    def test_workers_do_not_change_the_result(self):
        u = labels((3, 16, 16))
        np.testing.assert_array_equal(two_point(u, periodic=False, workers=-1), two_point(u, periodic=False))

    @pytest.mark.parametrize("bad, match", [
        (dict(images=np.zeros((2, 2, 3, 4, 5))), r"`images`.*\(2, 2, 3, 4, 5\)"),
        (dict(images=np.zeros((3, 4)), ndim=3), r"`images`.*\(3, 4\)"),
        (dict(images=np.zeros((2, 3, 4, 5)), ndim=2), r"`images`.*\(2, 3, 4, 5\)"),
        (dict(images=np.full((2, 4, 4), 0.5)), r"`images`.*integer.*\(2, 4, 4\)"),
        (dict(images=np.zeros((2, 4, 6)), periodic=False, cutoff=4), r"`cutoff`.*4 px"),
        (dict(images=np.zeros((2, 4, 6)), cutoff=-1), "`cutoff`"),
        (dict(images=np.zeros((2, 4, 6)), cutoff=1.5), "`cutoff`"),
        (dict(images=np.zeros((2, 4, 6)), phases=(1,)), "`phases`"),
        (dict(images=np.zeros((2, 4, 6)), phases=(1, 0.5)), "`phases`"),
    ])
    def test_refuses_bad_input(self, bad, match):
        with pytest.raises(InputError, match=match):
            two_point(**bad)


class TestTwoPointLabels:
    @pytest.mark.parametrize("ndim", [2, 3])
    @pytest.mark.parametrize("order", ["C", "F"])
    def test_labels_follow_the_flattened_window(self, ndim, order):
        c = 2
        names = ("dz", "dy", "dx")[3 - ndim:]
        grid = np.indices((2 * c + 1,) * ndim) - c
        flat = [g.ravel(order=order) for g in grid]
        got = two_point_labels(c, ndim=ndim, order=order)
        assert len(got) == (2 * c + 1) ** ndim
        for i in (0, 7, len(got) - 1):
            assert got[i] == "S2[" + ",".join(f"{n}={v[i]}" for n, v in zip(names, flat)) + "]"

    def test_marker_lands_on_its_label(self):
        u = np.zeros((1, 9, 9), dtype=int)
        u[0, 2, 3], u[0, 3, 1] = 1, 2  # phase 2 sits at r = (dy, dx) = (1, -2) from phase 1
        for order in ("C", "F"):
            s = two_point(u, phases=(1, 2), periodic=False, cutoff=2)[0].ravel(order=order)
            assert np.count_nonzero(s) == 1
            assert two_point_labels(2, order=order)[int(np.argmax(s))] == "S2[dy=1,dx=-2]"

    @pytest.mark.parametrize("bad", [dict(ndim=4), dict(order="K"), dict(cutoff=-2)])
    def test_refuses_bad_options(self, bad):
        with pytest.raises(InputError):
            two_point_labels(**{"cutoff": 1, **bad})


class TestTwoPointPaperA:
    def test_shape_and_values(self):
        u = labels((2, 51, 51), seed=4)
        got = two_point_paper_a(u)
        assert got.shape == (2, 1681) and len(two_point_paper_a_labels()) == 1681
        np.testing.assert_array_equal(got, two_point(u, cutoff=20).reshape(2, -1))
        assert two_point_paper_a_labels()[0] == "S2[dy=-20,dx=-20]"

    def test_mixed_sizes_keep_the_order(self):
        u = [labels((42, 42), seed=1), labels((51, 51), seed=2), labels((42, 42), seed=3)]
        got = two_point_paper_a(u)
        for row, image in zip(got, u):
            np.testing.assert_array_equal(row, two_point(image, cutoff=20).ravel())


class TestTwoPointPaperB:
    def test_shape_and_values(self):
        u = labels((1, 200, 180), seed=7)
        got = two_point_paper_b(u)
        assert got.shape == (1, 25281) and len(two_point_paper_b_labels()) == 25281
        full = two_point(u, phases=(1, 0), periodic=False, cutoff=90)
        window = full[:, 90 - 79:90 + 80, 90 - 79:90 + 80]
        np.testing.assert_array_equal(got, window.reshape(1, -1, order="F"))
        assert two_point_paper_b_labels()[1] == "S2[dy=-78,dx=-79]"

    def test_refuses_small_images(self):
        with pytest.raises(InputError, match="158 px"):
            two_point_paper_b(np.zeros((1, 157, 300)))
