"""Learn page through AppTest: a TextureVAE and a CNN trained in the background on a small set, their views,
and the CNN's folds reaching the Models page."""

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, started_jobs
from msdash.learned import jobs
from msdash.data.dataset import Dataset
from msdash.data.datastore import save_dataset
from msdash.synthetic import two_phase

APP = str(ROOT / "app.py")


@pytest.fixture
def learn_page():
    images = two_phase(10, (64, 64), volume_fraction=0.5, correlation_length=4, seed=3).astype(np.float32)
    vf = images.reshape(10, -1).mean(axis=1)
    names = [f"m{i}" for i in range(10)]
    dataset = Dataset("ten fields", dict(zip(names, images)),
                      pd.DataFrame({"vf": vf, "batch": list("aabbccddee")}, index=names))
    dataset_id = save_dataset(dataset)
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["ds"] = dataset_id
    at.run()
    at.switch_page("msdash/app/screens/learn.py").run()
    assert not at.exception
    return at, dataset_id


def _submit(at, label):
    next(b for b in at.button if b.label == label).click().run()


def _wait(at, prefix):
    job = started_jobs(prefix)[0]
    assert job.wait(240), f"{job.title} did not finish"
    assert job.status == "done", job.error
    at.run()
    return job


def test_texture_vae_trains_in_the_background_and_shows_its_views(learn_page):
    at, _ = learn_page
    assert any("random-weight VGG19" in w.value for w in at.warning)  # no weights here: said up front
    at.selectbox(key="vae_patch").set_value(32)
    at.number_input(key="vae_stride").set_value(32)
    at.slider(key="vae_latent").set_value(8)
    at.number_input(key="vae_epochs").set_value(2)
    at.number_input(key="vae_batch").set_value(8)
    _submit(at, "Train in the background")
    job = _wait(at, "texture_vae:")
    assert [e["epoch"] for e in job.epochs] == [1, 2]
    assert not at.exception
    assert at.selectbox(key="vae_run").value == job.job_id.split(":", 1)[1]
    assert any("random-weight VGG19" in w.value for w in at.warning)  # every view says so
    images = at.get("image")
    assert len(images) >= 4  # originals, reconstructions, samples, traversal rows
    at.toggle(key="vae_corr_on").set_value(True).run()
    assert not at.exception
    at.toggle(key="vae_pred_on").set_value(True).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 10 and (table["patches"] == 4).all()  # 64² → four 32-px patches each
    at.button(key="vae_use").click().run()
    assert not at.exception
    assert any("Feature set 'texture_vae" in s.value for s in at.success)


def test_cnn_cross_validates_on_the_models_pages_folds(learn_page):
    at, dataset_id = learn_page
    at.selectbox(key="cnn_target").set_value("vf")
    at.number_input(key="cnn_outer").set_value(2)
    at.number_input(key="cnn_epochs").set_value(1)
    at.number_input(key="cnn_patience").set_value(1)
    at.number_input(key="cnn_batch_size").set_value(4)
    at.selectbox(key="cnn_device").set_value("cpu")
    _submit(at, "Cross-validate in the background")
    _wait(at, "cnn_cv:")
    assert not at.exception
    finished = at.dataframe[-1].value
    assert list(finished["model"]) == ["cnn-resnet18"] and finished["outer folds"].iloc[0] == 2

    from msdash.app.modelview import cnn_runs
    from msdash.learned.cnn.runs import model_folds

    (run,) = cnn_runs(dataset_id, "vf", outer=2)
    assert run.folds.endswith("(same as above)")
    result = run.result
    expected = model_folds(result.y, None, 2)  # the Models page's own split of the same rows
    assert [sorted(t) for _, t in result.folds] == [sorted(t) for _, t in expected]
    assert np.isfinite(result.predictions).all() and len(result.fold_scores) == 2


def test_features_page_offers_the_learned_extractors(learn_page):
    at, dataset_id = learn_page
    at.switch_page("msdash/app/screens/features.py").run()
    at.selectbox(key="extractor").set_value("texture_vae").run()
    assert at.button(key="compute_features").disabled  # no trained run yet: said, not failed
    assert any("Learn page" in i.value for i in at.info)
    at.selectbox(key="extractor").set_value("resnet_embed").run()
    at.button(key="compute_features").click().run()
    assert not at.exception and not at.error
    from msdash.app.features import feature_sets

    assert any("resnet_embed" in label for label in feature_sets(dataset_id))


def test_cancelled_training_resumes_from_the_page(learn_page):
    at, _ = learn_page
    at.selectbox(key="vae_patch").set_value(32)
    at.slider(key="vae_latent").set_value(8)
    at.number_input(key="vae_epochs").set_value(50)
    _submit(at, "Train in the background")
    job = next(j for j in started_jobs("texture_vae:") if j.running)
    while not job.epochs:  # let one epoch be saved, then press Cancel
        assert not job.wait(0.2) or job.status == "done"
    at.run()
    at.button(key=f"cancel_{job.job_id}").click().run()
    assert job.wait(60) and job.status == "cancelled"
    at.run()
    saved = len(job.epochs)
    assert any(f"{saved} of 50 epochs saved · status cancelled" in c.value for c in at.caption)
    at.number_input(key="vae_more").set_value(saved + 1)
    at.button(key="vae_resume").click().run()
    resumed = jobs.get(job.job_id)
    assert resumed is not job and resumed.wait(120) and resumed.status == "done", resumed.error
    at.run()
    assert any(f"{saved + 1} of {saved + 1} epochs saved · status done" in c.value for c in at.caption)
    assert [e["epoch"] for e in resumed.epochs] == [saved + 1]  # continued, not restarted
