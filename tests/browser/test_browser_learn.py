"""The Learn page in headless Chromium: a TextureVAE trains in the background with live progress, then its
views appear without a reload."""

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, require_chromium
from msdash._testing import CHROMIUM, CHROMIUM_ARGS
from msdash.launcher import Server

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"

require_chromium()


def test_texture_vae_trains_with_progress_and_shows_its_views(workspace):
    from playwright.sync_api import sync_playwright

    from msdash.data.dataset import Dataset
    from msdash.data.datastore import save_dataset
    from msdash.synthetic import two_phase

    images = two_phase(10, (64, 64), volume_fraction=0.5, correlation_length=4, seed=3).astype(np.float32)
    names = [f"m{i}" for i in range(10)]
    dataset_id = save_dataset(Dataset("ten fields", dict(zip(names, images)),
                                      pd.DataFrame({"vf": images.reshape(10, -1).mean(axis=1)}, index=names)))
    with sync_playwright() as playwright, Server(ROOT / "app.py", workspace) as server:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 3000})
        page.set_default_timeout(120_000)
        page.goto(f"{server.url}/learn?ds={dataset_id}")
        page.get_by_text("random-weight VGG19 is used").wait_for()
        page.get_by_label("patch (px)").click()
        page.get_by_role("option", name="32", exact=True).click()
        page.get_by_label("epochs", exact=True).fill("2")
        page.keyboard.press("Tab")
        page.get_by_text("Train in the background").click()
        page.get_by_text("Cancel training").wait_for()  # the live progress of the running job
        page.get_by_text("finished in").wait_for(timeout=300_000)
        page.get_by_text("2 of 2 epochs saved · status done").wait_for()  # the page caught up by itself
        page.get_by_role("tab", name="Latent traversal").wait_for()
        page.get_by_text("Originals (top) and their reconstructions").wait_for()
        page.get_by_text("Use the latent means as a feature set").wait_for()  # the last view: the run is over
        page.wait_for_timeout(1000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "06-learn-texture-vae.png"), full_page=True)
        browser.close()
