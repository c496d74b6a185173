"""ResNet backbones, embeddings, CNN regressors (training, schedule, resume, CV) and the resnet_embed extractor.

Tiny ResNets (8/16 channels) on 16–32 px images keep every test to a few seconds; nothing is downloaded.
"""

import json
import math
import socket

import numpy as np
import pytest
import torch

from msdash.errors import InputError
from msdash.learned.cnn import load_cnn_regressor, predict_cnn, train_cnn_regressor
from msdash.learned.cnn.cv import CNNCVResult, cnn_cv
from msdash.learned.cnn.schedule import PlateauSchedule, validation_split
from msdash.learned.resnet import build_resnet, make_regressor, resnet_config, resnet_embed
from msdash.learned.runs import new_run, read_meta
from msdash.synthetic import two_phase

TINY = {"hidden_sizes": [8, 16], "depths": [1, 1], "embedding_size": 8}
# standard ResNet-18 layout with narrow stages: passes the folder layout check, stays small
NARROW18 = {"hidden_sizes": [8, 8, 16, 16], "embedding_size": 8}


@pytest.fixture(autouse=True)
def one_thread_no_network(monkeypatch):
    """One torch thread (the test machine is shared) and no network: any connection attempt fails."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)

    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield
    torch.set_num_threads(threads)


def fraction_set(n, size=32, seed=0):
    """Two-phase fields with volume fractions uniform in [0.1, 0.9]; target = volume fraction in %."""
    fractions = np.random.default_rng(seed).uniform(0.1, 0.9, n)
    images = two_phase(n, (size, size), volume_fraction=fractions, correlation_length=2.0, seed=seed + 1)
    return images.astype(np.float32), 100.0 * images.mean(axis=(1, 2))


# --- backbones -----------------------------------------------------------------------------------------

def _conv(cin, cout, k):
    return cin * cout * k * k + 2 * cout  # bias-free conv + batch norm (weight, bias)


def _layout_parameters(depths, block, widths):
    """Parameter count of a ResNet backbone (stem, stages; no classifier), written from the paper's layout."""
    total, cin = _conv(3, 64, 7), 64
    for blocks, cout in zip(depths, widths):
        for _ in range(blocks):
            if block == "basic":
                total += _conv(cin, cout, 3) + _conv(cout, cout, 3)
            else:
                mid = cout // 4
                total += _conv(cin, mid, 1) + _conv(mid, mid, 3) + _conv(mid, cout, 1)
            if cin != cout:  # in the standard layouts every strided block also changes the width
                total += _conv(cin, cout, 1)  # 1×1 projection shortcut
            cin = cout
    return total


class TestBackbones:
    @pytest.mark.parametrize("depth, block, widths, known", [
        (18, "basic", (64, 128, 256, 512), 11_176_512),        # torchvision resnet18 (11,689,512) − fc
        (34, "basic", (64, 128, 256, 512), 21_284_672),        # resnet34 (21,797,672) − fc
        (50, "bottleneck", (256, 512, 1024, 2048), 23_508_032)])  # resnet50 (25,557,032) − fc
    def test_standard_layouts_have_the_known_parameter_counts(self, depth, block, widths, known):
        from transformers import ResNetModel

        depths = (2, 2, 2, 2) if depth == 18 else (3, 4, 6, 3)
        assert _layout_parameters(depths, block, widths) == known
        with torch.device("meta"):  # shapes only: no time spent drawing 20M random weights
            model = ResNetModel(resnet_config(depth))
        assert sum(p.numel() for p in model.parameters()) == known

    def test_random_backbone_is_seeded_and_leaves_the_global_rng_alone(self):
        state = torch.random.get_rng_state()
        a = build_resnet(18, seed=3, overrides=NARROW18)
        assert torch.equal(state, torch.random.get_rng_state())
        b = build_resnet(18, seed=3, overrides=NARROW18)
        c = build_resnet(18, seed=4, overrides=NARROW18)
        wa, wb, wc = (m.embedder.embedder.convolution.weight for m in (a, b, c))
        assert torch.equal(wa, wb) and not torch.equal(wa, wc)

    def test_local_folder_round_trip(self, tmp_path):
        from transformers import ResNetForImageClassification

        model = build_resnet(18, seed=1, overrides=NARROW18)
        model.save_pretrained(tmp_path / "backbone")
        loaded = build_resnet(18, folder=tmp_path / "backbone")
        for (name, p), (_, q) in zip(model.state_dict().items(), loaded.state_dict().items()):
            assert torch.equal(p, q), name
        # a classification checkpoint (what the hub's resnet-18 folders hold) gives its backbone
        classifier = ResNetForImageClassification(resnet_config(18, overrides={**NARROW18, "num_labels": 3}))
        classifier.save_pretrained(tmp_path / "classifier")
        backbone = build_resnet(18, folder=tmp_path / "classifier")
        assert torch.equal(backbone.embedder.embedder.convolution.weight,
                           classifier.resnet.embedder.embedder.convolution.weight)

    def test_folder_errors(self, tmp_path):
        with pytest.raises(InputError, match="config.json"):
            build_resnet(18, folder=tmp_path / "missing")
        build_resnet(18, overrides=TINY).save_pretrained(tmp_path / "tiny")
        with pytest.raises(InputError, match="layout"):
            build_resnet(18, folder=tmp_path / "tiny")
        with pytest.raises(InputError, match="depth"):
            build_resnet(101)


class TestResnetEmbed:
    def test_equals_a_pooled_forward_pass_written_here(self, tmp_path):
        build_resnet(18, seed=2, overrides=NARROW18).save_pretrained(tmp_path)
        images = np.random.default_rng(0).random((5, 24, 24)).astype(np.float32)
        features = resnet_embed(images, folder=tmp_path, batch_size=2, device="cpu")
        model = build_resnet(18, folder=tmp_path)
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        x = (torch.from_numpy(images)[:, None].repeat(1, 3, 1, 1) - mean) / std
        with torch.no_grad():
            last = model(pixel_values=x).last_hidden_state
        expected = last.mean(dim=(2, 3)).numpy()
        assert features.shape == (5, 16) and features.dtype == np.float32
        np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-5)
        # uint8 images are read as value / 255
        eight_bit = np.rint(images * 255).astype(np.uint8)
        np.testing.assert_allclose(resnet_embed(eight_bit, folder=tmp_path),
                                   resnet_embed(eight_bit / 255.0, folder=tmp_path), atol=1e-5)

    def test_bad_input(self):
        with pytest.raises(InputError, match="stack"):
            resnet_embed(np.zeros((8, 8)))
        with pytest.raises(InputError, match="batch_size"):
            resnet_embed(np.zeros((1, 8, 8)), batch_size=0)
        with pytest.raises(InputError, match="one size"):
            resnet_embed([np.zeros((8, 8)), np.zeros((9, 9))])

    def test_extractor_through_extract(self, tmp_path):
        from msdash.features import extract
        from msdash.features.registry import EXTRACTORS, register
        from msdash.learned.cnn.spec import extractor_spec

        build_resnet(18, seed=5, overrides=NARROW18).save_pretrained(tmp_path / "w")
        before = EXTRACTORS.get("resnet_embed")
        register(extractor_spec(), replace=True)
        try:
            images = [np.random.default_rng(i).random((20, 20)).astype(np.float32) for i in range(3)]
            table = extract(images, "resnet_embed", folder=str(tmp_path / "w"), batch_size=2)
        finally:
            if before is None:
                EXTRACTORS.pop("resnet_embed", None)
            else:
                EXTRACTORS["resnet_embed"] = before
        assert table.kind == "learned" and table.values.shape == (3, 16) and not table.errors
        assert table.labels[:2] == ["resnet18[0]", "resnet18[1]"]
        np.testing.assert_allclose(table.values, resnet_embed(np.stack(images), folder=tmp_path / "w"),
                                   rtol=1e-5, atol=1e-6)


# --- schedule ------------------------------------------------------------------------------------------

class TestPlateauSchedule:
    def test_learning_rate_matches_torch_reduce_on_plateau(self):
        losses = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85,
                  0.85, 0.85, 0.85, 0.85, 0.85, 0.85]
        schedule = PlateauSchedule(lr=1e-3, lr_patience=3, min_lr=2e-4, patience=None)
        param = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([param], lr=1e-3)
        reference = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=3,
                                                               threshold=1e-4, min_lr=2e-4)
        ours, theirs = [], []
        for epoch, loss in enumerate(losses, start=1):
            ours.append(schedule.step(epoch, loss)["lr"])
            reference.step(loss)
            theirs.append(opt.param_groups[0]["lr"])
        assert ours == pytest.approx(theirs)
        assert min(ours) == 2e-4 and ours[5] == 5e-4  # halved after 4 epochs without improvement

    def test_early_stopping_after_patience_and_best_epoch(self):
        schedule = PlateauSchedule(lr=1e-3, patience=3)
        stops = [schedule.step(e, v)["stop"] for e, v in enumerate([3.0, 2.0, 2.5, 2.1, 1.9, 2.0, 2.0, 2.0], 1)]
        assert stops == [False] * 7 + [True]
        assert schedule.best_epoch == 5 and schedule.best == 1.9

    def test_nan_never_improves_and_state_round_trips(self):
        schedule = PlateauSchedule(lr=1e-3)
        assert not schedule.step(1, float("nan"))["improved"]
        state = json.loads(json.dumps(schedule.state()))
        assert state["best"] is None
        restored = PlateauSchedule.from_state(state)
        assert restored == schedule and math.isinf(restored.best)
        assert restored.step(2, 1.0)["improved"]


class TestValidationSplit:
    def test_sizes_disjoint_and_seeded(self):
        fit, val = validation_split(50, 0.2, seed=1)
        assert len(val) == 10 and len(fit) == 40 and not set(fit) & set(val)
        assert np.array_equal(val, validation_split(50, 0.2, seed=1)[1])
        assert not np.array_equal(val, validation_split(50, 0.2, seed=2)[1])

    def test_groups_are_never_split(self):
        groups = np.repeat(np.arange(10), 5)
        fit, val = validation_split(50, 0.2, seed=0, groups=groups)
        assert not set(groups[fit]) & set(groups[val]) and len(val) >= 10

    def test_bad_fraction(self):
        with pytest.raises(InputError, match="val_fraction"):
            validation_split(10, 1.0)


# --- training ------------------------------------------------------------------------------------------

def _train(images, y, **options):
    return train_cnn_regressor(images, y, run_dir=new_run("cnn", {}), overrides=TINY, device="cpu", **options)


class TestTrainCnnRegressor:
    def test_learns_volume_fraction_better_than_the_mean(self):
        images, y = fraction_set(160)
        train, test = np.arange(120), np.arange(120, 160)
        fit = _train(images[train], y[train], epochs=12, patience=None, seed=0)
        pred = predict_cnn(fit.model, images[test])
        rmse = np.sqrt(np.mean((pred - y[test]) ** 2))
        baseline = np.sqrt(np.mean((y[train].mean() - y[test]) ** 2))
        assert rmse < 0.5 * baseline
        assert len(fit.history) == 12 and fit.status == "done" and fit.stop_reason == "epochs"
        assert fit.history[-1]["train_loss"] < fit.history[0]["train_loss"]

    def test_best_weights_are_restored_and_statistics_stored(self):
        images, y = fraction_set(40, size=16)
        fit = _train(images, y, epochs=4, patience=None, lr=0.05, seed=1)
        meta = read_meta(fit.run_dir)
        stats = meta["training"]["statistics"]
        rows, val = validation_split(40, 0.2, seed=1)
        assert stats["target_mean"] == pytest.approx(y[rows].mean())
        assert stats["input_mean"] == pytest.approx([images[rows].mean()], rel=1e-6)
        assert len(val) == 8 and meta["training"]["data"]["n_val"] == 8
        # the loaded model reproduces the validation loss of the best epoch, not of the last one
        loaded = load_cnn_regressor(fit.run_dir)
        z = (predict_cnn(loaded, images[val]) - y[val]) / stats["target_std"]
        best = fit.history[fit.best_epoch - 1]["val_loss"]
        assert np.mean(np.abs(z)) == pytest.approx(best, rel=1e-4)
        assert best == min(e["val_loss"] for e in fit.history)
        np.testing.assert_allclose(predict_cnn(fit.run_dir, images), predict_cnn(fit.model, images), rtol=1e-5)

    def test_cancel_then_resume_continues_the_history(self):
        images, y = fraction_set(30, size=16)
        tuples = {k: tuple(v) if isinstance(v, list) else v for k, v in TINY.items()}  # JSON turns them to lists
        options = {"epochs": 4, "patience": None, "seed": 2, "overrides": tuples, "device": "cpu"}
        whole = train_cnn_regressor(images, y, run_dir=new_run("cnn", {}), **options)
        run = new_run("cnn", {})
        seen = []
        first = train_cnn_regressor(images, y, run_dir=run, callback=lambda e: seen.append(e) or e["epoch"] < 2,
                                    **options)
        assert first.status == "cancelled" and len(first.history) == 2 and [e["epoch"] for e in seen] == [1, 2]
        assert read_meta(run)["status"] == "cancelled"
        with pytest.raises(InputError, match="resume"):
            train_cnn_regressor(images, y, run_dir=run, **options)
        with pytest.raises(InputError, match="lr"):
            train_cnn_regressor(images, y, run_dir=run, resume=True, **{**options, "lr": 0.01})
        resumed = train_cnn_regressor(images, y, run_dir=run, resume=True, **options)
        assert [e["epoch"] for e in resumed.history] == [1, 2, 3, 4]
        assert resumed.history[:2] == first.history
        for key in ("train_loss", "val_loss", "step"):
            assert [e[key] for e in resumed.history] == pytest.approx([e[key] for e in whole.history], rel=1e-5)

    def test_mucha_defaults_are_study_d(self):
        images, y = fraction_set(12, size=32)
        fit = _train(images, y, inputs="mucha", epochs=1, batch_size=4)
        settings = read_meta(fit.run_dir)["training"]["settings"]
        assert (settings["arch"], settings["optimizer"], settings["loss"]) == ("resnet34", "sgd", "l1")
        assert fit.model.input_mean.shape == (3,)
        assert predict_cnn(fit.run_dir, images[:3]).shape == (3,)

    @pytest.mark.parametrize("option, match", [({"arch": "vgg"}, "arch"), ({"loss": "huber"}, "loss"),
                                               ({"inputs": "fft"}, "inputs"), ({"epochs": 0}, "epochs"),
                                               ({"lr": -1.0}, "lr"), ({"val_fraction": 0}, "val_fraction")])
    def test_bad_settings(self, option, match):
        images, y = fraction_set(10, size=16)
        with pytest.raises(InputError, match=match):
            _train(images, y, **option)

    def test_bad_data(self, tmp_path):
        images, y = fraction_set(10, size=16)
        with pytest.raises(InputError, match="run folder"):
            train_cnn_regressor(images, y, run_dir=tmp_path, overrides=TINY)
        with pytest.raises(InputError, match="y"):
            _train(images, y[:5])
        with pytest.raises(InputError, match="stack"):
            _train(images[0], y)
        fit = _train(images, y, epochs=1)
        with pytest.raises(InputError, match="16×16"):
            predict_cnn(fit.model, np.zeros((2, 20, 20), np.float32))

    def test_grey_input_into_a_three_channel_folder_backbone(self, tmp_path):
        build_resnet(18, overrides=NARROW18).save_pretrained(tmp_path)
        model = make_regressor("resnet18", in_channels=1, folder=tmp_path).eval()
        x = torch.rand(2, 1, 16, 16)
        with torch.no_grad():
            assert torch.allclose(model(x), model.head(model.backbone(
                pixel_values=x.expand(-1, 3, -1, -1)).pooler_output.flatten(1)).squeeze(-1))


class TestCnnCv:
    def test_same_folds_as_the_models_and_a_cvresult(self):
        from msdash.models import CVResult
        from msdash.models.cv import outer_splits

        images, y = fraction_set(24, size=16)
        folds = outer_splits(np.zeros((24, 1)), y, None, 3, 42)
        events = []
        result = cnn_cv(images, y, folds=folds, scoring="rmse", epochs=2, patience=None, overrides=TINY,
                        device="cpu", callback=events.append)
        assert isinstance(result, CVResult) and isinstance(result, CNNCVResult)
        assert all(np.array_equal(a, c) and np.array_equal(b, d) for (a, b), (c, d) in zip(result.folds, folds))
        assert np.isfinite(result.predictions).all() and result.model == "cnn-resnet18"
        for (train, test), fold_score in zip(folds, result.fold_scores):
            assert fold_score == pytest.approx(np.sqrt(np.mean((result.predictions[test] - y[test]) ** 2)))
        assert [len(h) for h in result.histories] == [2, 2, 2] and len(events) == 6
        assert [e["fold"] for e in events] == [0, 0, 1, 1, 2, 2]
        assert list(result.metrics["n_test"]) == [len(t) for _, t in folds]
        json.dumps(result.to_dict())
        # the fold's own run predicts what the CV predicted
        np.testing.assert_allclose(predict_cnn(f"{result.run_dir}/fold-1", images[folds[1][1]]),
                                   result.predictions[folds[1][1]], rtol=1e-5)

    def test_cancel_and_resume(self):
        images, y = fraction_set(20, size=16)
        folds = [(np.arange(10, 20), np.arange(10)), (np.arange(10), np.arange(10, 20))]
        options = {"epochs": 2, "patience": None, "overrides": TINY, "device": "cpu"}
        events = []
        cancelled = cnn_cv(images, y, folds=folds, callback=lambda e: events.append(e) or e["fold"] == 0, **options)
        assert cancelled is None and [e["fold"] for e in events] == [0, 0, 1]
        result = cnn_cv(images, y, folds=folds, run_dir=events[0]["run_dir"], resume=True, **options)
        assert [len(h) for h in result.histories] == [2, 2]
        assert result.histories[0] == [{k: v for k, v in e.items() if k not in ("fold", "folds", "run_dir")}
                                       for e in events[:2]]

    def test_bad_folds(self):
        images, y = fraction_set(10, size=16)
        with pytest.raises(InputError, match="both sides"):
            cnn_cv(images, y, folds=[(np.arange(8), np.arange(7, 10))])
        with pytest.raises(InputError, match=r"\[0, 10\)"):
            cnn_cv(images, y, folds=[(np.arange(6), np.array([12]))])


def test_learned_modules_import_without_torch_or_pywt():
    import subprocess
    import sys

    from conftest import ROOT

    names = ("mucha", "resnet", "cnn", "cnn.train", "cnn.cv", "cnn.data", "cnn.schedule", "cnn.spec", "cnn.runs")
    modules = ", ".join(f"msdash.learned.{m}" for m in names)
    code = (f"import sys, {modules}; "
            "print(','.join(m for m in ('torch', 'transformers', 'pywt') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == ""
