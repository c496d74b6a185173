"""What browser tests and benchmarks share: Chromium's path and flags, a large saved data set.

Not part of the API (the leading underscore); the dashboard's server itself is :class:`msdash.launcher.Server`.
"""

#: Chromium flags that keep a headless browser off the network and quiet on a locked-down machine.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
CHROMIUM = "/usr/bin/chromium"


def canvas_map(page):
    """Switch an open Map page (Playwright ``page``) to the fast canvas map and wait until it is drawn.

    Returns
    -------
    at : callable(fx, fy) -> (x, y)
        Page coordinates (CSS px) of the point at fractions ``fx``, ``fy`` of the plot area (0–1, from the top left).
    tip : playwright Locator
        The map's tooltip.
    """
    page.get_by_text("Fast canvas map", exact=True).click()
    fast_map = page.locator('.msdash-fastmap[data-drawn="1"]').first
    fast_map.wait_for()
    fast_map.scroll_into_view_if_needed()
    left, top, width, height = (float(v) for v in fast_map.get_attribute("data-plot").split(","))
    canvas = page.locator(".msdash-fastmap canvas.over").first.bounding_box()
    return (lambda fx, fy: (canvas["x"] + left + fx * width, canvas["y"] + top + fy * height),
            page.locator(".msdash-fastmap .tip").first)


def saved_random_maps(n=50_000, size=8, seed=0, cutoff=1):
    """Save ``n`` random ``size × size`` phase maps and their two-point features in the workspace.

    A large data set for browser tests and benchmarks of the map page; returns the data set's id.
    ``(2·cutoff + 1)²`` features per sample: 9 by default (quick for tests); ``size=32, cutoff=16`` gives
    the 1,089 a realistic map works on.
    """
    import numpy as np

    from msdash.data.dataset import Dataset
    from msdash.data.datastore import save_dataset
    from msdash.features import extract
    from msdash.features.store import save_table_meta

    stack = (np.random.default_rng(seed).random((n, size, size)) < 0.5).astype(np.float32)
    dataset = Dataset(f"{n} random maps", {f"s{i:05d}": image for i, image in enumerate(stack)})
    dataset_id = save_dataset(dataset)
    save_table_meta(dataset_id, extract(dataset, "two_point", cutoff=cutoff))
    return dataset_id
