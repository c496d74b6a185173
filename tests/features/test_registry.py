"""The extractor registry: names, parameters, validation and extra registrations."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from msdash.errors import InputError
from msdash.features import EXTRACTORS, ExtractorSpec, Param, register
from msdash.features.registry import get_spec, resolve_params

REQUIRED = ["volume_fraction", "two_point", "two_point_paper_a", "two_point_paper_b", "radial_psd",
            "phys_feat1", "phys_feat2", "grad_feature"]


class TestListing:
    def test_required_extractors_are_registered_with_labels_and_kinds(self):
        for name in REQUIRED:
            spec = EXTRACTORS[name]
            assert spec.name == name and spec.kind == "classical" and spec.title and spec.description
            assert ":" in spec.function and spec.version

    def test_two_point_params_and_defaults(self):
        spec = EXTRACTORS["two_point"]
        params = {p.name: p for p in spec.params}
        assert params["phases"].choices == ("auto (1,1)", "auto (0,0)", "cross (1,0)")
        assert params["periodic"].type == "bool" and params["cutoff"].type == "int"
        assert params["segmentation"].choices == ("otsu", "paper-b", "nlm-adaptive", "none")
        assert spec.defaults == {"phases": "auto (1,1)", "periodic": True, "cutoff": None,
                                 "segmentation": "otsu", "sections": "mean"}
        assert spec.input == "labels"

    def test_two_point_cutoff_help_states_the_default_and_why(self):
        spec = EXTRACTORS["two_point"]
        text = {p.name: p for p in spec.params}["cutoff"].help
        assert "1/8 of the shorter side" in text and "32 and 64 px" in text and "correlation length" in text
        assert "16,641" in text
        assert spec.version == "2"  # the default window changed for images over 64 px: new store keys

    def test_grey_extractors_have_no_segmentation_param(self):
        assert "segmentation" not in EXTRACTORS["radial_psd"].defaults
        assert EXTRACTORS["radial_psd"].defaults["bins"] == 32

    def test_listing_imports_no_descriptor_module(self):
        code = ("import sys, msdash.features as f; f.EXTRACTORS['two_point'].defaults; "
                "print([m for m in ('scipy', 'msdash.features.correlation', 'msdash.features.spectral') "
                "if m in sys.modules])")
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "[]"


class TestValidation:
    def test_unknown_extractor_lists_the_valid_ones(self):
        with pytest.raises(InputError, match="valid extractors: .*two_point"):
            get_spec("two_pint")

    def test_unknown_param_lists_the_valid_ones(self):
        with pytest.raises(InputError, match="valid parameters: phases, periodic, cutoff"):
            resolve_params(EXTRACTORS["two_point"], {"cutof": 3})

    @pytest.mark.parametrize("value, expected", [("5", 5), (5.0, 5), (7, 7), ("none", None), (None, None)])
    def test_int_coercion(self, value, expected):
        assert resolve_params(EXTRACTORS["two_point"], {"cutoff": value})["cutoff"] == expected

    @pytest.mark.parametrize("param, value", [("cutoff", 2.5), ("cutoff", "abc"), ("cutoff", 0), ("cutoff", True),
                                              ("periodic", "maybe"), ("periodic", 2), ("phases", "(1,1)")])
    def test_bad_values_are_refused_naming_the_param(self, param, value):
        with pytest.raises(InputError, match=f"`{param}`"):
            resolve_params(EXTRACTORS["two_point"], {param: value})

    def test_required_int_refuses_none(self):
        with pytest.raises(InputError, match="`bins` needs a value"):
            resolve_params(EXTRACTORS["radial_psd"], {"bins": None})

    def test_bool_strings(self):
        assert resolve_params(EXTRACTORS["two_point"], {"periodic": "false"})["periodic"] is False


class TestRegister:
    def test_register_adds_preparation_params_and_refuses_duplicates(self):
        spec = register(ExtractorSpec("toy_registry", "Toy", "learned", "a toy", lambda s: s.sum(axis=(1, 2)),
                                      (Param("alpha", 0.5, "float", min=0.0),), input="labels"))
        try:
            assert [p.name for p in spec.params] == ["alpha", "segmentation", "sections"]
            assert EXTRACTORS["toy_registry"] is spec
            with pytest.raises(ValueError, match="already registered"):
                register(spec)
            assert spec.labels({}, (4, 4), 3) == ["toy_registry[0]", "toy_registry[1]", "toy_registry[2]"]
        finally:
            EXTRACTORS.pop("toy_registry", None)

    def test_bad_param_type_is_refused(self):
        with pytest.raises(ValueError):
            Param("x", 1, "integer")

    def test_labels_fall_back_when_the_label_function_disagrees(self):
        spec = EXTRACTORS["volume_fraction"]
        assert spec.labels({"phase": 0}, (8, 8), 1) == ["volume fraction (phase 0)"]
        assert spec.labels({"phase": 0}, (8, 8), 2) == ["volume_fraction[0]", "volume_fraction[1]"]


def test_builtin_functions_resolve():
    fn = EXTRACTORS["volume_fraction"].load()
    assert fn(np.ones((1, 2, 2))).tolist() == [1.0]


class TestFitToSizes:
    """Images of different sizes: parameters that give every sample the same features, chosen before any work."""

    @staticmethod
    def _default(side):  # default_cutoff's closed form, written out independently
        return min(max(32, side // 8), 64, side // 2)

    def test_mixed_sizes_take_the_smallest_images_default_cutoff(self):
        from msdash.features.registry import fit_to_sizes

        shapes = [(512, 512), (100, 80), (300, 400)]
        params, note = fit_to_sizes("two_point", {}, shapes)
        c = min(self._default(min(s)) for s in shapes)
        assert params["cutoff"] == c == 32
        assert "100×80" in note and "512×512" in note and f"fixed at {c} px" in note and "4,225 features" in note
        assert params["phases"] == "auto (1,1)" and params["periodic"] is True  # the rest untouched

    def test_equal_defaults_explicit_cutoff_and_other_extractors_change_nothing(self):
        from msdash.features.registry import fit_to_sizes

        assert fit_to_sizes("two_point", {}, [(600, 600), (512, 800)]) == (resolve_params(
            EXTRACTORS["two_point"], {}), None)  # both default to 64 px
        assert fit_to_sizes("two_point", {"cutoff": "5"}, [(40, 40), (512, 512)])[0]["cutoff"] == 5
        params, note = fit_to_sizes("phys_feat2", {"bins": 8}, [(40, 40), (512, 512)])
        assert params == {"bins": 8, "sections": "mean"} and note is None
        assert fit_to_sizes("two_point", {}, [])[1] is None

    def test_rgb_is_read_as_grey_and_volumes_as_their_sections(self):
        from msdash.features.registry import fit_to_sizes

        assert fit_to_sizes("two_point", {}, [(100, 50, 3), (512, 512)])[0]["cutoff"] == self._default(50)
        # one non-cubic volume: its sections (40, 50), (30, 50), (30, 40) default to 20, 15 and 15 px
        params, note = fit_to_sizes("two_point", {}, [(30, 40, 50)])
        assert params["cutoff"] == 15 and "30×40" in note

    def test_fitted_run_gives_every_sample_the_smallest_window(self):
        from msdash.features import extract
        from msdash.features.correlation import two_point
        from msdash.features.registry import fit_to_sizes

        rng = np.random.default_rng(3)
        images = {"small": (rng.random((40, 48)) < 0.4).astype(np.float32),
                  "big1": (rng.random((300, 300)) < 0.4).astype(np.float32),
                  "big2": (rng.random((300, 300)) < 0.6).astype(np.float32)}
        params, _ = fit_to_sizes("two_point", {}, [a.shape for a in images.values()])
        table = extract(images, "two_point", store=False, **params)
        c = self._default(40)
        assert table.errors == [] and table.values.shape == (3, (2 * c + 1) ** 2)
        for i, image in enumerate(images.values()):
            np.testing.assert_allclose(table.values[i], two_point(image, cutoff=c)[0].ravel())
        assert table.params["cutoff"] == c


class TestSplitModules:
    def test_the_published_variants_resolve_from_their_own_module(self):
        """The built-ins and the published variants have modules of their own, imported only downward."""
        from msdash.features import correlation, correlation_papers

        assert set(REQUIRED) <= set(EXTRACTORS)
        for name in ("two_point_paper_a", "two_point_paper_b"):
            assert get_spec(name).load() is getattr(correlation_papers, name)  # "module:attr" resolves
            assert not hasattr(correlation, name)  # one home, no re-export that imports back

    @pytest.mark.parametrize("first", ["msdash.features.correlation_papers", "msdash.features.builtin_extractors",
                                       "msdash.features.registry"])
    def test_any_module_can_be_imported_first(self, first):
        code = (f"import {first}; from msdash.features.correlation_papers import two_point_paper_b; "
                "from msdash.features import EXTRACTORS; print(len(EXTRACTORS) >= 8)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert out.returncode == 0 and out.stdout.strip() == "True", out.stderr
