"""Tests of msdash.synthetic.cahn_hilliard: conservation, energy decay, coarsening law, the free energy."""

import numpy as np
import pytest

from msdash.errors import InputError
from msdash.synthetic.cahn_hilliard import cahn_hilliard, cahn_hilliard_dataset, free_energy, time_schedule


def _interface_length(fields):
    """Area over interface length of the thresholded fields (n, N, N), in pixels, averaged over the stack.

    The interface is counted as the unlike nearest-neighbour pairs of ``c > 1/2`` (periodic). Unlike the
    first moment of the structure factor, whose 2D Porod tail adds a log(L) lag, this length reaches the
    t^(1/3) scaling early (bench/cahn_hilliard.py compares the measures on longer runs).
    """
    phase = fields > 0.5
    unlike = (phase != np.roll(phase, 1, axis=-1)).sum() + (phase != np.roll(phase, 1, axis=-2)).sum()
    return phase.size / unlike


class TestCahnHilliard:
    def test_shapes_and_reproducible(self):
        x, e = cahn_hilliard(size=16, steps=30, n_snapshots=6, seed=0)
        assert x.shape == (6, 16, 16) and e.shape == (6,) and x.dtype == np.float64
        np.testing.assert_array_equal(x, cahn_hilliard(size=16, steps=30, n_snapshots=6, seed=0)[0])
        assert not np.array_equal(x, cahn_hilliard(size=16, steps=30, n_snapshots=6, seed=1)[0])

    def test_mass_conserved(self):
        start = np.random.default_rng(3).random((32, 32))  # the start the run draws from seed 3
        x, _ = cahn_hilliard(size=32, steps=300, n_snapshots=10, seed=3)
        np.testing.assert_allclose(x.mean(axis=(1, 2)), start.mean(), rtol=0, atol=1e-10)

    def test_free_energy_never_increases(self):
        x, e = cahn_hilliard(size=64, steps=600, n_snapshots=600, seed=4)
        assert np.all(np.diff(e) <= 1e-9 * np.abs(e[1:]))
        assert e[-1] < 0.2 * e[0]
        np.testing.assert_allclose(e, free_energy(x))

    def test_phases_separate_near_zero_and_one(self):
        x, _ = cahn_hilliard(size=64, steps=1000, n_snapshots=1, seed=5)
        values = x[0]
        assert -0.05 < values.min() < 0.05 and 0.95 < values.max() < 1.05
        assert np.mean((values < 0.1) | (values > 0.9)) > 0.7  # most pixels sit in a phase, not an interface

    def test_coarsening_exponent(self):
        # Late-time domain growth L ~ t^(1/3) (Lifshitz–Slyozov, Huse). Measured by the interface length the
        # exponent is 0.29–0.32 on these runs (seeds 6–8) and 0.31 on 4 × 256² up to t = 10⁴ (bench); well
        # apart from diffusive (1/2) or stalled growth.
        steps, n_snapshots = 1000, 20
        x, _, _ = cahn_hilliard_dataset(4, size=128, steps=steps, dt=2.0, n_snapshots=n_snapshots, seed=6)
        dts, saved = time_schedule(steps, dt=2.0, n_snapshots=n_snapshots)
        times = np.cumsum(dts)[saved - 1]
        runs = x.reshape(4, n_snapshots, 128, 128)
        lengths = np.array([_interface_length(runs[:, i]) for i in range(n_snapshots)])
        late = times >= 200
        exponent = np.polyfit(np.log(times[late]), np.log(lengths[late]), 1)[0]
        assert 0.27 <= exponent <= 0.38
        assert np.all(np.diff(lengths[late]) > 0)

    @pytest.mark.parametrize("kwargs, name", [
        ({"size": 1}, "size"), ({"steps": 0}, "steps"), ({"n_snapshots": 0}, "n_snapshots"),
        ({"n_snapshots": 11}, "n_snapshots"), ({"dt": 0.0}, "dt"), ({"c0": -1.0}, "c0"), ({"kc": np.inf}, "kc"),
        ({"mobility": "1"}, "mobility"), ({"ramp_steps": -1}, "ramp_steps"),
    ])
    def test_bad_input(self, kwargs, name):
        arguments = {"size": 8, "steps": 10, "n_snapshots": 2} | kwargs
        with pytest.raises(InputError) as error:
            cahn_hilliard(**arguments)
        assert error.value.name == name and f"`{name}`" in str(error.value)


class TestCahnHilliardDataset:
    def test_groups_are_runs(self):
        x, e, groups = cahn_hilliard_dataset(3, size=16, steps=20, n_snapshots=4, seed=7)
        assert x.shape == (12, 16, 16) and e.shape == groups.shape == (12,)
        np.testing.assert_array_equal(groups, np.repeat([0, 1, 2], 4))
        means = [x[groups == g].mean(axis=(1, 2)) for g in range(3)]
        assert all(np.ptp(m) < 1e-10 for m in means)  # each run keeps its own mass
        assert len({round(m[0], 8) for m in means}) == 3

    def test_rejects_zero_runs(self):
        with pytest.raises(InputError, match="n_runs"):
            cahn_hilliard_dataset(0, steps=10)


class TestTimeSchedule:
    def test_ramp_then_constant(self):
        dts, saved = time_schedule(200, dt=0.5, ramp_steps=50, n_snapshots=4)
        np.testing.assert_allclose(dts[:50], np.geomspace(0.005, 0.5, 50))
        np.testing.assert_allclose(dts[50:], 0.5)
        np.testing.assert_array_equal(saved, [50, 100, 150, 200])

    def test_ramp_longer_than_run(self):
        dts, saved = time_schedule(3, dt=1.0, ramp_steps=100)
        np.testing.assert_allclose(dts, [0.01, 0.1, 1.0])
        np.testing.assert_array_equal(saved, [1, 2, 3])


class TestFreeEnergy:
    @pytest.mark.parametrize("value", [0.0, 0.25, 0.5, 1.0, 1.2])
    def test_bulk_term_of_a_uniform_field(self, value):
        c = np.full((6, 6), value)
        assert free_energy(c, c0=3.0, kc=5.0) == pytest.approx(36 * 3.0 * value**2 * (1 - value) ** 2, abs=1e-12)

    def test_gradient_term_of_a_sine(self):
        # c = a sin(2π m x / N): Σ |∇c|² = N² a² q² / 2 with q = 2π m / N, exactly for the spectral gradient.
        n, m, a = 32, 3, 0.1
        q = 2 * np.pi * m / n
        c = 0.5 + a * np.sin(q * np.arange(n))[None, :] * np.ones((n, 1))
        bulk = (2.0 * c**2 * (1 - c) ** 2).sum()
        assert free_energy(c, c0=2.0, kc=0.7) == pytest.approx(bulk + 0.5 * 0.7 * n * n * a * a * q * q / 2)

    def test_stack_and_rectangular(self):
        c = np.random.default_rng(1).random((3, 8, 12))
        np.testing.assert_allclose(free_energy(c), [free_energy(field) for field in c])

    def test_rejects_bad_fields(self):
        with pytest.raises(InputError, match="`c`"):
            free_energy(np.zeros(5))
        with pytest.raises(InputError, match="`kc`"):
            free_energy(np.zeros((4, 4)), kc=0)


class TestRampSnapshotsAndHistory:
    def test_schedule_log_spaced_in_the_ramp_then_equal(self):
        _, saved = time_schedule(1000, ramp_steps=100, n_snapshots=8, ramp_snapshots=5)
        assert saved.tolist() == [1, 3, 10, 32, 100, 400, 700, 1000]
        _, crowded = time_schedule(50, ramp_steps=10, n_snapshots=12, ramp_snapshots=10)
        assert crowded[:10].tolist() == list(range(1, 11))  # rounding repeats are moved up, still distinct

    @pytest.mark.parametrize("kwargs", [{"ramp_snapshots": 11}, {"ramp_snapshots": 6, "n_snapshots": 6},
                                        {"ramp_snapshots": -1}, {"ramp_snapshots": 2, "n_snapshots": 40}])
    def test_schedule_refuses_impossible_requests(self, kwargs):
        with pytest.raises(InputError) as error:
            time_schedule(**{"steps": 30, "ramp_steps": 10, "n_snapshots": 8} | kwargs)
        assert error.value.name == "ramp_snapshots"

    def test_history_marks_the_saved_steps_and_covers_the_fast_decay(self):
        x, e, history = cahn_hilliard(size=32, steps=300, n_snapshots=8, ramp_snapshots=4, seed=2,
                                      return_history=True)
        assert history["energy"].shape == history["time"].shape == (300,)
        np.testing.assert_allclose(history["energy"][history["saved"]], e, rtol=1e-12)
        np.testing.assert_allclose(free_energy(x), e)
        dts, saved = time_schedule(300, n_snapshots=8, ramp_snapshots=4)
        np.testing.assert_array_equal(history["saved"], saved - 1)
        np.testing.assert_allclose(history["time"], np.cumsum(dts))
        assert np.all(np.diff(history["energy"]) <= 1e-9 * np.abs(history["energy"][1:]))
        # Without ramp snapshots the first image comes after the ramp, when most of the decay is over.
        _, e_equal = cahn_hilliard(size=32, steps=300, n_snapshots=8, seed=2)
        assert e[0] > 2 * e_equal[0]


def test_energy_curve_figure_marks_the_saved_snapshots():
    from msdash.synthetic.energy_figure import energy_curve_figure

    _, e, history = cahn_hilliard(size=16, steps=120, n_snapshots=6, ramp_snapshots=3, seed=0,
                                  return_history=True)
    fig = energy_curve_figure(history)
    line, marks = fig.data
    assert len(line.x) == 120 and list(marks.y) == pytest.approx(list(e))
    assert list(marks.customdata) == (history["saved"] + 1).tolist()
    assert fig.layout.xaxis.type == "log" and min(marks.x) < 0.05  # a snapshot inside the ramp's early times
