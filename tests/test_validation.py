"""Validation checks (msdash.validation): their reference formulas against hand-checkable cases, and the checks
themselves pass and fail when the numbers are wrong (their run time is in bench/bench_validation.py)."""

import numpy as np
import pandas as pd
import pytest

from msdash.errors import InputError
from msdash.validation import CHECKS, Check, run_checks
from msdash.validation.physics import direct_two_point, laminate_stiffness, onsager_energy


class TestReferences:
    def test_laminate_stiffness_of_equal_phases_is_the_phase(self):
        # plane strain, E = 2.6, ν = 0.3: λ = 1.5, μ = 1
        np.testing.assert_allclose(laminate_stiffness(0.3, youngs=(2.6, 2.6)),
                                   [[3.5, 1.5, 0], [1.5, 3.5, 0], [0, 0, 1]], atol=1e-12)

    def test_laminate_stiffness_lies_between_reuss_and_voigt(self):
        from msdash.synthetic import effective_stiffness

        C = laminate_stiffness(0.4, youngs=(1.0, 50.0))
        phases = [effective_stiffness(np.full((2, 2), p), youngs=(1.0, 50.0)) for p in (0, 1)]
        voigt = 0.6 * phases[0] + 0.4 * phases[1]
        reuss = np.linalg.inv(0.6 * np.linalg.inv(phases[0]) + 0.4 * np.linalg.inv(phases[1]))
        assert np.all(np.linalg.eigvalsh(voigt - C) > -1e-12) and np.all(np.linalg.eigvalsh(C - reuss) > -1e-12)
        assert C[1, 1] == pytest.approx(reuss[1, 1])  # across the layers: the harmonic (Reuss) mean

    def test_onsager_energy_limits(self):
        from msdash.synthetic import TC

        # ground state −2 J per spin; −√2 at Tc; high-temperature series u ≈ −2 tanh(1/T)
        np.testing.assert_allclose(onsager_energy([0.3, TC]), [-2.0, -np.sqrt(2)], atol=1e-6)
        assert onsager_energy(50.0) == pytest.approx(-2 * np.tanh(1 / 50.0), rel=1e-3)

    def test_direct_two_point_on_hand_checked_cases(self):
        board = np.indices((4, 4)).sum(axis=0) % 2
        np.testing.assert_array_equal(direct_two_point(board, cutoff=1),
                                      [[0.5, 0, 0.5], [0, 0.5, 0], [0.5, 0, 0.5]])
        # rows [1, 1, 0] and [1, 0, 0], non-periodic: one of the four pairs at dx = 1 is white-white
        got = direct_two_point(np.array([[1, 1, 0], [1, 0, 0]]), periodic=False, cutoff=1)
        np.testing.assert_allclose(got[1], [0.25, 0.5, 0.25])
        assert got[2, 1] == pytest.approx(1 / 3)  # dy = 1: of the three vertical pairs only the left is 1 above 1


class TestChecks:
    def test_every_check_passes_with_its_numbers_and_downloads(self):
        seen = []
        results = run_checks(progress=lambda done, total, name: seen.append((done, total)))
        assert list(results) == list(CHECKS) and seen[-1] == (5, 5)
        for name, check in results.items():
            assert check.passed, (name, check.summary)
            assert isinstance(check.table, pd.DataFrame) and len(check.table) > 0
            assert len(check.figure.data) > 0
            html = check.figure_html()
            assert b"<html>" in html and len(html) > 1_000_000  # plotly.js inside: the file opens offline
            assert check.table_csv().splitlines()[0].decode().split(",")[0] == check.table.columns[0]
        table = results["conformal"].table
        grouped = table[table["residuals"] == "group-aware"].groupby("nominal")["coverage on new groups"].mean()
        random = table[table["residuals"] == "random folds"].groupby("nominal")["coverage on new groups"].mean()
        assert np.all(np.abs(grouped.to_numpy() - grouped.index.to_numpy()) <= 0.05)
        assert np.all(random.to_numpy() < random.index.to_numpy() - 0.05)
        ising = results["ising"].table
        cold = ising[(ising["T"] <= 1.5)]
        # the note's point: 64 sweeps from a random start stay out of equilibrium below Tc
        assert (cold[cold["start"] == "random"]["|m|"].to_numpy()
                < cold[cold["start"] == "ordered"]["|m|"].to_numpy()).any()

    def test_a_wrong_number_fails_the_check(self, monkeypatch):
        import msdash.features

        real = msdash.features.two_point
        monkeypatch.setattr(msdash.features, "two_point", lambda *a, **k: real(*a, **k) * (1 + 1e-9))
        check = run_checks(["two_point"])["two_point"]
        assert not check.passed and isinstance(check, Check)

    def test_unknown_check_is_refused(self):
        with pytest.raises(InputError, match="unknown validation check"):
            run_checks(["homogenisation", "nope"])
