"""Study D's CNN set-ups as specs: the Learn page's widgets and the run options come from msdash.learned.cnn.presets."""

import pytest

from msdash.errors import InputError
from msdash.learned.cnn.presets import PARAMS, PRESETS, CNNPreset, run_options
from msdash.learned.cnn.runs import run_cnn_cv
from msdash.learned.cnn.train import train_cnn_regressor


class TestPresets:
    def test_the_presets_are_study_ds_three_set_ups(self):
        # the (arch, inputs, optimizer) the Learn page offered before they became specs
        assert {name: (p.arch, p.inputs, p.optimizer) for name, p in PRESETS.items()} == {
            "ResNet-18 from scratch (image; Adam, L1)": ("resnet18", "image", "adam"),
            "ResNet-34 from scratch (image; Adam, L1)": ("resnet34", "image", "adam"),
            "MuCha-CNN: ResNet-34 on image + FFT + wavelet (SGD, L1)": ("resnet34", "mucha", "sgd"),
        }
        assert all(isinstance(p, CNNPreset) and p.name == name for name, p in PRESETS.items())

    def test_every_option_is_a_keyword_of_the_trainer_or_the_cv_run(self):
        import inspect

        accepted = set(inspect.signature(train_cnn_regressor).parameters) | set(
            inspect.signature(run_cnn_cv).parameters)
        options = run_options("MuCha-CNN: ResNet-34 on image + FFT + wavelet (SGD, L1)", {})
        assert set(options) <= accepted
        assert {p.name for p in PARAMS} <= set(options)


class TestRunOptions:
    def test_defaults_are_study_ds_and_auto_means_no_device(self):
        options = run_options(PRESETS["ResNet-18 from scratch (image; Adam, L1)"], {})
        assert options == {"arch": "resnet18", "inputs": "image", "optimizer": "adam", "loss": "l1", "outer": 5,
                           "epochs": 30, "patience": 10, "batch_size": 32, "device": None}

    def test_values_are_converted_and_kept(self):
        options = run_options("ResNet-34 from scratch (image; Adam, L1)",
                              {"loss": "mse", "outer": "3", "batch_size": 4.0, "device": "cpu"})
        assert (options["loss"], options["outer"], options["batch_size"], options["device"]) == ("mse", 3, 4, "cpu")
        assert type(options["outer"]) is int

    @pytest.mark.parametrize("preset, values, name", [
        ("VGG from scratch", {}, "preset"), (None, {"outer": 1}, "outer"), (None, {"loss": "huber"}, "loss"),
        (None, {"batch_size": 1}, "batch_size"), (None, {"lr": 0.1}, "lr")])
    def test_bad_preset_or_values_are_refused_by_name(self, preset, values, name):
        with pytest.raises(InputError) as caught:
            run_options(preset or next(iter(PRESETS)), values)
        assert caught.value.name == name
