"""Feature extraction fanned out over a Ray cluster, its rows put into this machine's feature store."""

import os

from msdash.errors import InputError


def extract_on_ray(images, name, params, *, workers=2, gpus=0.0):
    """Compute one extractor on Ray workers and put their rows into the local feature store.

    The workers run :func:`msdash.features.extract` without a store (``map_batches`` actors, one model load per
    actor); only the feature rows travel back. The store stays on the driver, so a later local ``extract`` of the
    same images reads every row from it. Failed samples are not stored: the local run computes them again and
    reports them with its own messages.

    Parameters
    ----------
    images : Mapping[str, ndarray]
        Sample name → image, each ``(H, W)``, ``(H, W, 3)`` or ``(D, H, W)``; read as float32.
    name : str
        Registered extractor name (see :func:`msdash.features.registry.get_spec`).
    params : dict
        The extractor's resolved parameters.
    workers : int, optional
        Number of Ray actors computing at once (at least 1).
    gpus : float, optional
        GPUs per actor (fractions share one GPU).

    Returns
    -------
    stored, failed : int
        Samples whose rows were put into the store, and samples that failed on the workers.

    Raises
    ------
    InputError
        When Ray is not installed.

    Notes
    -----
    Ray is started with ``RAY_ADDRESS`` when set, else a local instance. The workers import msdash as the driver
    does, so msdash must be installed in their environment (``pip install .``, or ``-e .`` for a checkout).
    """
    import numpy as np

    try:
        import ray
    except ImportError:
        raise InputError("--engine ray needs Ray: pip install -r requirements-cluster.txt") from None
    from msdash.features.registry import get_spec
    from msdash.features.store import default_store, image_hash
    from msdash.features.storekeys import feature_key

    spec = get_spec(name)
    ray.init(address=os.environ.get("RAY_ADDRESS"), ignore_reinit_error=True)

    class Worker:  # one per actor, so a foundation model is loaded once per worker
        def __call__(self, batch):
            from msdash.features import extract

            table = extract(dict(zip(map(str, batch["name"]), batch["image"])), name, store=False, **params)
            failed = {e.name for e in table.errors}
            return {"name": np.asarray(table.names), "ok": np.asarray([n not in failed for n in table.names]),
                    "values": table.values}

    items = [{"name": n, "image": np.asarray(image, dtype=np.float32)} for n, image in images.items()]
    dataset = ray.data.from_items(items).map_batches(Worker, batch_size=64, concurrency=max(1, workers),
                                                     num_gpus=gpus, batch_format="numpy")
    key = feature_key(spec, params)
    rows = []
    for row in dataset.iter_rows():
        if row["ok"]:  # hashed as extract hashes a float32 sample, so the local run finds the row
            rows.append((image_hash(np.asarray(images[str(row["name"])], dtype=np.float32)), row["values"], None))
    default_store().put_many(key, rows)
    return len(rows), len(items) - len(rows)
