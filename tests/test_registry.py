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
        assert params["segmentation"].choices == ("otsu", "paper-b", "none")
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


def test_builtin_functions_resolve_when_installed():
    pytest.importorskip("msdash.features.correlation")
    fn = EXTRACTORS["volume_fraction"].load()
    assert fn(np.ones((1, 2, 2))).tolist() == [1.0]
