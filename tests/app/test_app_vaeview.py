"""TextureVAE views through AppTest: the run card states the β used, the traversal follows the latent spread."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from msdash.learned import runs
from msdash.learned import vae as tv
from msdash.synthetic import two_phase

TINY = {"patch": 32, "stride": 32, "latent": 8, "batch_size": 2, "lr": 2e-3, "seed": 0}


def _views_script():
    """Run as a Streamlit script: the VAE views of the one run in the workspace on two tiny micrographs."""
    import pandas as pd

    from msdash.app import vaeview
    from msdash.data.dataset import Dataset
    from msdash.learned import runs
    from msdash.learned import vae as tv
    from msdash.synthetic import two_phase

    images = two_phase(2, (32, 64), volume_fraction=[0.3, 0.6], correlation_length=3, seed=0).astype("float32")
    names = ["m0", "m1"]
    dataset = Dataset("tiny", dict(zip(names, images)), pd.DataFrame({"vf": [0.3, 0.6]}, index=names))
    (meta,) = runs.list_runs(tv.KIND)
    vaeview.views(dataset, "tiny-id", names, list(images), meta)


@pytest.fixture
def trained_run():
    micrographs = two_phase(2, (32, 64), volume_fraction=[0.3, 0.6], correlation_length=3, seed=0)
    return tv.train_texture_vae(micrographs.astype(np.float32), run_dir=runs.new_run(tv.KIND, {}, run_id="tiny"),
                                epochs=1, **TINY)


def test_run_card_beta_and_traversal_scaled_to_the_latent_spread(trained_run):
    at = AppTest.from_function(_views_script, default_timeout=300).run()
    assert not at.exception
    beta = trained_run["config"]["beta_used"]
    assert any(f"β = {beta:.3g} (automatic" in c.value for c in at.caption)
    assert at.radio(key="vae_walk_scale").value == "spread of the encoded means"
    spread = next(c.value for c in at.caption if c.value.startswith("z0 over mean ± 4 sd"))
    assert "of 4 patches" in spread  # two 32×64 images give four 32-px patches

    at.radio(key="vae_walk_scale").set_value("prior ±4 (study C)").run()
    assert not at.exception
    assert not any(c.value.startswith("z0 over mean ± 4 sd") for c in at.caption)
