"""TextureVAE (study C): style loss against an independent Gram computation, training, cancel/resume, the views,
latent analysis and the registered extractor — tiny models on generated patches, nothing downloaded."""

import socket

import numpy as np
import pytest
import torch

from msdash.errors import InputError
from msdash.synthetic import two_phase
from msdash.learned import runs, vae as tv
from msdash.learned.style import gram, style_loss
from msdash.learned.vae.analysis import latent_property_correlation, patch_predictions
from msdash.learned.vae.spec import extractor_spec, run_reference
from msdash.learned.vae.net import TextureVAE

TINY = {"patch": 32, "stride": 32, "latent": 8, "batch_size": 2, "lr": 2e-3, "seed": 0}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test: nothing here may download."""
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to use the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def micrographs():
    """Two 32×64 two-phase images (four 32-px patches) of different volume fraction, as floats in [0, 1]."""
    return two_phase(2, (32, 64), volume_fraction=[0.3, 0.6], correlation_length=3, seed=0).astype(np.float32)


def numpy_style_loss(fx, fy):
    """Σ_l ‖G(x) − G(y)‖² / (4 C² M²) per sample, from the definition."""
    total = 0.0
    for a, b in zip(fx, fy):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        n, c = a.shape[:2]
        a, b = a.reshape(n, c, -1), b.reshape(n, c, -1)
        m = a.shape[2]
        ga, gb = np.einsum("ncm,ndm->ncd", a, a), np.einsum("ncm,ndm->ncd", b, b)
        total = total + ((ga - gb) ** 2).sum(axis=(1, 2)) / (4 * c**2 * m**2)
    return total


class TestStyleLoss:
    def test_gram_equals_einsum(self):
        f = np.random.default_rng(0).normal(size=(3, 5, 4, 6)).astype(np.float32)
        np.testing.assert_allclose(gram(torch.from_numpy(f)).numpy(),
                                   np.einsum("nchw,ndhw->ncd", f, f), rtol=1e-5, atol=1e-5)

    def test_equals_independent_gram_computation(self):
        rng = np.random.default_rng(1)
        shapes = [(3, 4, 8, 8), (3, 6, 4, 4), (3, 2, 2, 3)]
        fx = [rng.random(s).astype(np.float32) for s in shapes]
        fy = [rng.random(s).astype(np.float32) for s in shapes]
        expected = numpy_style_loss(fx, fy)
        tx, ty = [torch.from_numpy(a) for a in fx], [torch.from_numpy(a) for a in fy]
        np.testing.assert_allclose(style_loss(tx, ty, reduction="none").numpy(), expected, rtol=1e-5)
        assert float(style_loss(tx, ty)) == pytest.approx(expected.mean(), rel=1e-5)
        assert float(style_loss(tx, ty, reduction="sum")) == pytest.approx(expected.sum(), rel=1e-5)
        assert float(style_loss(tx, tx)) == 0.0

    def test_on_vgg_feature_maps(self, micrographs):
        from msdash.learned.vgg_net import load_vgg19, vgg_features
        vgg = load_vgg19()
        x = torch.from_numpy(micrographs[:, :, :32])
        y = torch.from_numpy(micrographs[:, :, 32:])
        fx, fy = vgg_features(vgg, x), vgg_features(vgg, y)
        np.testing.assert_allclose(style_loss(fx, fy, reduction="none").numpy(),
                                   numpy_style_loss([f.numpy() for f in fx], [f.numpy() for f in fy]), rtol=1e-4)

    def test_bad_input(self):
        with pytest.raises(InputError, match="differ in shape"):
            style_loss([torch.zeros(1, 2, 3, 3)], [torch.zeros(1, 2, 4, 4)])
        with pytest.raises(InputError, match="reduction"):
            style_loss([torch.zeros(1, 2, 3, 3)], [torch.zeros(1, 2, 3, 3)], reduction="max")


class TestPatches:
    def test_uint8_rgb_and_errors(self):
        patches, parents = tv.patch_stack([np.full((40, 40), 255, np.uint8), np.zeros((32, 64, 3))],
                                          patch=32, stride=8)
        assert patches.shape == (4 + 5, 32, 32) and patches.dtype == np.float32
        assert parents.tolist() == [0] * 4 + [1] * 5 and patches[0].max() == 1.0
        with pytest.raises(InputError, match="smaller than the 32-px patch"):
            tv.patch_stack([np.zeros((16, 64))], patch=32)
        with pytest.raises(InputError, match=r"in \[0, 1\]"):
            tv.patch_stack([np.full((32, 32), 2.0)], patch=32)
        with pytest.raises(InputError, match="multiple of 16"):
            TextureVAE(latent=8, patch=40)


@pytest.fixture(scope="module")
def straight(micrographs, tmp_path_factory):
    """An uninterrupted three-epoch run (module-scoped: CPU time is scarce), with its workspace."""
    home = tmp_path_factory.mktemp("straight-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MSDASH_HOME", str(home))
        meta = tv.train_texture_vae(micrographs, run_dir=runs.new_run(tv.KIND, {}, run_id="tiny"), epochs=3, **TINY)
    return dict(meta, home=home)


class TestTraining:
    def test_loss_falls_and_meta_records_the_run(self, straight):
        meta = straight
        history, beta = meta["history"], meta["config"]["beta_used"]
        assert [h["epoch"] for h in history] == [1, 2, 3] and meta["status"] == "done"
        assert beta == pytest.approx(meta["config"]["style_scale"] / tv.AUTO_KL_NATS) and beta > 0
        assert history[-1]["train_loss"] < history[0]["train_loss"]
        for h in history:
            assert h["train_loss"] == pytest.approx(h["style"] + beta * h["kl"], rel=1e-5)
            assert h["images_per_s"] > 0
        assert meta["pretrained_vgg"] is False and meta["config"]["n_patches"] == 4
        assert runs.read_meta(meta["run_dir"])["history"] == history

    def test_cancel_then_resume_equals_an_uninterrupted_run(self, micrographs, straight):
        events = []

        def stop_after_first_epoch(event):
            events.append(event)
            return event["event"] != "epoch"
        run = runs.new_run(tv.KIND, {}, run_id="resumable")
        cancelled = tv.train_texture_vae(micrographs, run_dir=run, epochs=3, callback=stop_after_first_epoch, **TINY)
        assert cancelled["status"] == "cancelled" and len(cancelled["history"]) == 1
        assert [e["event"] for e in events] == ["step", "step", "epoch"]
        assert events[-1]["train_loss"] == cancelled["history"][0]["train_loss"]
        with pytest.raises(InputError, match="has weights already"):
            tv.train_texture_vae(micrographs, run_dir=run, epochs=3, **TINY)
        with pytest.raises(InputError, match="not the ones the run was trained on"):
            tv.train_texture_vae(micrographs[::-1], run_dir=run, epochs=3, resume=True)
        resumed = tv.train_texture_vae(micrographs, run_dir=run, epochs=3, resume=True)
        assert resumed["status"] == "done" and resumed["history"][0] == cancelled["history"][0]
        assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]
        for mine, theirs in zip(resumed["history"], straight["history"]):
            for key in ("train_loss", "kl", "style"):
                assert mine[key] == pytest.approx(theirs[key], rel=1e-5)
        a = tv.load_texture_vae(straight["run_dir"]).state_dict()
        b = tv.load_texture_vae("resumable").state_dict()
        assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)

    def test_cancel_at_a_step_keeps_no_partial_epoch(self, micrographs):
        meta = tv.train_texture_vae(micrographs, epochs=1, callback=lambda event: False, **TINY)
        assert meta["status"] == "cancelled" and meta["history"] == []
        assert not runs.has_checkpoint(meta["run_dir"])
        with pytest.raises(InputError, match="never started"):
            tv.train_texture_vae(micrographs, run_dir=runs.new_run(tv.KIND, {}), epochs=1, resume=True)


@pytest.fixture(scope="module")
def trained(straight):
    """The workspace of the three-epoch run ``"tiny"`` and its model."""
    return straight["home"], tv.load_texture_vae(straight["run_dir"])


class TestViews:
    def test_reconstruct_sample_and_encode_shapes_and_ranges(self, trained, micrographs):
        model = trained[1]
        patches, _ = tv.patch_stack(micrographs, patch=32, stride=32)
        mu = tv.encode(model, patches)
        assert mu.shape == (4, 8) and np.isfinite(mu).all()
        recon = tv.reconstruct(model, patches, batch_size=3)
        expected = model.decode(torch.from_numpy(mu))[:, 0].detach().numpy()
        np.testing.assert_allclose(recon, expected, atol=1e-5)
        samples = tv.sample(model, 5, seed=1)
        for images in (recon, samples):
            assert images.shape[1:] == (32, 32) and images.min() >= 0 and images.max() <= 1
        assert len(samples) == 5 and np.array_equal(samples, tv.sample(model, 5, seed=1))
        assert not np.array_equal(samples, tv.sample(model, 5, seed=2))
        with pytest.raises(InputError, match=r"\(n, 32, 32\)"):
            tv.encode(model, np.zeros((2, 16, 16)))

    def test_traversal_decodes_ten_images_varying_one_dimension(self, trained, micrographs):
        model, patch = trained[1], micrographs[0, :32, :32]
        row = tv.traverse(model, patch, dim=3)
        assert row.shape == (10, 32, 32) and row.min() >= 0 and row.max() <= 1
        z = np.repeat(tv.encode(model, patch[None]), 10, axis=0)
        z[:, 3] = np.linspace(-4, 4, 10)
        np.testing.assert_allclose(row, model.decode(torch.from_numpy(z))[:, 0].detach().numpy(), atol=1e-5)
        assert np.abs(row[0] - row[-1]).max() > 0
        with pytest.raises(InputError, match="dim"):
            tv.traverse(model, patch, dim=8)


class TestTraversalScaleAndBeta:
    def test_traversal_values_span_the_encoded_means(self):
        from msdash.learned.vae.views import traversal_values

        mu = np.random.default_rng(5).normal([0.0, 0.3], [1.0, 0.02], size=(500, 2))
        values = traversal_values(mu, 1)
        assert values.shape == (10,) and values.dtype == np.float32
        np.testing.assert_allclose(values, mu[:, 1].mean() + np.linspace(-4, 4, 10) * mu[:, 1].std(), rtol=1e-6)
        assert values.max() - values.min() < 0.2  # ±4 sd of a 0.02 spread, not ±4 prior units
        with pytest.raises(InputError, match="`dim`"):
            traversal_values(mu, 2)
        with pytest.raises(InputError, match="`mu`"):
            traversal_values(mu[:1], 0)

    def test_beta_summary_reports_the_beta_the_run_used(self, straight):
        from msdash.learned.vae.views import beta_summary

        config = runs.read_meta(straight["run_dir"])["config"]  # what the run card reads
        text = beta_summary(config)
        assert f"{config['beta_used']:.3g}" in text and "automatic" in text
        assert beta_summary({"beta": 0.5, "beta_used": 0.5}) == "β = 0.5 (set by the user)"


class TestAnalysis:
    def test_correlation_matches_numpy(self):
        rng = np.random.default_rng(3)
        mu, y = rng.normal(size=(20, 4)), rng.normal(size=20)
        mu[:, 1] = 2 * y + 1
        mu[:, 3] = 7.0
        r = latent_property_correlation(mu, y)
        np.testing.assert_allclose(r[[0, 2]], [np.corrcoef(mu[:, j], y)[0, 1] for j in (0, 2)], rtol=1e-12)
        assert r[1] == pytest.approx(1.0) and np.isnan(r[3])

    def test_leave_one_micrograph_out_matches_least_squares_on_the_other_groups(self):
        rng = np.random.default_rng(4)
        x, groups = rng.normal(size=(24, 3)), np.repeat(["a", "b", "c", "d"], 6)
        y = np.repeat([10.0, 20.0, 30.0, 40.0], 6) + rng.normal(scale=0.1, size=24)
        out = patch_predictions(x, y, groups)
        assert [p.group for p in out] == ["a", "b", "c", "d"]
        for p in out:
            held = groups == p.group
            design = np.column_stack([x[~held], np.ones((~held).sum())])
            coef = np.linalg.lstsq(design, y[~held], rcond=None)[0]
            np.testing.assert_allclose(p.predictions, np.column_stack([x[held], np.ones(6)]) @ coef, rtol=1e-8)
            assert p.true == pytest.approx(y[held].mean())
        svr = patch_predictions(x, y, groups, model="rbf-svr")
        assert all(len(p.predictions) == 6 and np.isfinite(p.predictions).all() for p in svr)
        with pytest.raises(InputError, match="at least two micrographs"):
            patch_predictions(x, y, np.zeros(24))


class TestExtractor:
    def test_latent_means_through_extract(self, trained, micrographs, monkeypatch):
        from msdash.features import EXTRACTORS, extract
        from msdash.features.registry import register
        home, model = trained
        monkeypatch.setenv("MSDASH_HOME", str(home))
        monkeypatch.setitem(EXTRACTORS, "texture_vae", None)  # restored after the test
        register(extractor_spec(), replace=True)
        large, small = micrographs[0], micrographs[1, :32, :32]
        table = extract({"large": large, "small": small}, "texture_vae", run="tiny", store=False)
        assert table.kind == "learned" and table.labels == [f"z[{i}]" for i in range(8)]
        tiles = [large[:, :32], large[:, 32:]]
        np.testing.assert_allclose(table.values[0], tv.encode(model, np.stack(tiles)).mean(axis=0), atol=1e-5)
        np.testing.assert_allclose(table.values[1], tv.encode(model, small[None])[0], atol=1e-5)

        pinned = extract([small], "texture_vae", run=run_reference(home / "learned/texture_vae/tiny"), store=False)
        np.testing.assert_allclose(pinned.values, table.values[1:], atol=1e-6)
        # When no sample gives features, extract refuses once with the samples' message (no empty table).
        with pytest.raises(InputError, match="is now at epoch 3, not 5"):
            extract([small], "texture_vae", run="tiny@5", store=False)
        with pytest.raises(InputError, match=r"Choose a trained TextureVAE run \(known: tiny\)"):
            extract([small], "texture_vae", store=False)
