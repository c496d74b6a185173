"""CNN baselines of study D (run by hand): training throughput, and with ``--science`` the Ising RMSEs.

Throughput (one JSON line per device, CPU always, GPU when present): ResNet-18 regressor (1 grey channel,
64×64, batch 32, Adam, L1) trained by ``train_cnn_regressor`` for one epoch, next to a bare PyTorch loop
(forward, backward, optimizer step on the same batches, nothing else) timed in the same run; the ratio is
what the trainer's bookkeeping (shuffling, validation pass, checkpoint every epoch) costs.

Science (``--science``, one JSON line): ``--n`` generated Ising images (64×64, N³ single-spin attempts, T
uniform in [0, 2·Tc], property 255·T/(2·Tc)) for training and ``--test`` held-out images; test RMSE and R² of

- CNN-PCA-SVR: ResNet-18 embedding (random weights unless ``--weights`` names a local folder; study D used
  ImageNet weights) → standardise → PCA → RBF SVR, PCs, C, γ, ε by successive halving (5-fold, seeded) on
  at most 2,000 training images, then refitted on all of them;
- ResNet-18 trained from scratch on the images (Adam, L1, plateau halving, early stopping);
- MuCha-CNN: ResNet-34 on image / FFT / sym4-detail channels (SGD 1e-3, momentum 0.9, L1);
- physFeat2-SVR (the engineered reference, same SVR search without PCA),

next to study D's RMSE (10.0 / 8.0 / 8.9 / 8.5 on 50,000 images).

    .venv/bin/python bench/learned.py [--device cuda] [--steps 20] [--threads 1]
    .venv/bin/python bench/learned.py --science [--n 10000] [--test 1000] [--epochs 30] [--patience 5]
"""

import argparse
import json
import os
import tempfile
import time

import numpy as np


STUDY_D = {"cnn-pca-svr": 10.0, "resnet18": 8.0, "mucha-cnn": 8.9, "physfeat2-svr": 8.5}


def throughput(device, steps=20, batch=32, size=64, seed=0):
    """Training images/s of ResNet-18 at ``size``² with our trainer and with a bare loop."""
    import torch

    from msdash.learned.cnn import train_cnn_regressor
    from msdash.learned.resnet import make_regressor
    from msdash.learned.runs import new_run

    rng = np.random.default_rng(seed)
    n_fit = steps * batch
    images = rng.random((int(n_fit / 0.8), size, size), dtype=np.float32)
    y = rng.random(len(images))
    model = make_regressor("resnet18", in_channels=1, seed=seed).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.from_numpy(images[:n_fit, None])
    z = torch.from_numpy(y[:n_fit].astype(np.float32))

    def bare(n_steps):
        for i in range(n_steps):
            xb, zb = x[i * batch:(i + 1) * batch].to(device), z[i * batch:(i + 1) * batch].to(device)
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.l1_loss(model(xb), zb).backward()
            opt.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    bare(2)  # warm-up (allocations, cuDNN autotuning)
    started = time.perf_counter()
    bare(steps)
    bare_s = time.perf_counter() - started
    started = time.perf_counter()
    fit = train_cnn_regressor(images, y, run_dir=new_run("cnn", {}), epochs=1, patience=None, seed=seed,
                              device=device)
    wall_s = time.perf_counter() - started
    event = fit.history[0]
    return {"bench": "learned_throughput", "device": device, "torch_threads": torch.get_num_threads(),
            "model": "resnet18", "image": f"{size}x{size}x1", "batch": batch, "fit_images": event["step"] * batch,
            "bare_loop_images_per_s": round(n_fit / bare_s, 1),
            "trainer_images_per_s": round(event["images_per_s"], 1),
            "trainer_epoch_wall_s": round(wall_s, 2),
            "trainer_wall_images_per_s": round(event["step"] * batch / wall_s, 1),
            "trainer_over_bare": round(event["images_per_s"] / (n_fit / bare_s), 3),
            "load_average": round(os.getloadavg()[0], 2)}


def _svr_search(X, y, seed, with_pca):
    from scipy.stats import loguniform
    from sklearn.decomposition import PCA
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    steps = [("scale", StandardScaler())] + ([("pca", PCA(random_state=seed))] if with_pca else []) + [("svr", SVR())]
    rng = np.random.default_rng(seed)
    subset = rng.choice(len(y), size=min(2000, len(y)), replace=False)
    d = min(64, X.shape[1]) if with_pca else X.shape[1]
    space = {"svr__C": loguniform(1e-1, 1e4), "svr__gamma": loguniform(1e-3 / d, 10 / d),
             "svr__epsilon": loguniform(1e-2, 10)}
    if with_pca:
        space["pca__n_components"] = [k for k in (8, 16, 32, 64) if k < min(len(subset) * 0.8, X.shape[1])]
    # the first halving round must leave every PCA candidate enough training rows (4/5 of the resources)
    search = HalvingRandomSearchCV(Pipeline(steps), space, n_candidates=60, cv=5, factor=3, random_state=seed,
                                   min_resources=min(len(subset), 400), error_score="raise",
                                   scoring="neg_root_mean_squared_error")
    search.fit(X[subset], y[subset])
    return search.best_estimator_.fit(X, y), {k: (round(float(v), 4) if isinstance(v, float) else v)
                                              for k, v in search.best_params_.items()}


def _scores(pred, y):
    rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
    return {"rmse": round(rmse, 2), "r2": round(float(1 - np.sum((pred - y) ** 2) / np.sum((y - y.mean()) ** 2)), 4)}


def science(n_train, n_test, *, epochs, patience, weights=None, device=None, seed=0):
    """Test RMSE of the CNN baselines and physFeat2-SVR on generated Ising images."""
    from msdash.features import phys_feat2
    from msdash.learned.cnn import predict_cnn, train_cnn_regressor
    from msdash.learned.resnet import default_device, resnet_embed
    from msdash.learned.runs import new_run
    from msdash.synthetic import ising_dataset

    device = default_device(device)
    started = time.perf_counter()
    spins, _, y = ising_dataset(n_train + n_test, size=64, seed=seed)
    images = ((spins + 1) / 2).astype(np.float32)  # black / white images, as study D saved them
    order = np.random.default_rng(seed).permutation(len(y))
    train, test = order[:n_train], order[n_train:]
    timings = {"generate_s": round(time.perf_counter() - started, 1)}
    results = {}

    t0 = time.perf_counter()
    embedding = resnet_embed(images, depth=18, folder=weights, batch_size=128, device=device)
    svr, params = _svr_search(embedding[train], y[train], seed, with_pca=True)
    results["cnn-pca-svr"] = {**_scores(svr.predict(embedding[test]), y[test]), "params": params,
                              "weights": weights or "random (seed 0)"}
    timings["cnn-pca-svr_s"] = round(time.perf_counter() - t0, 1)

    t0 = time.perf_counter()
    features = phys_feat2(images)
    svr, params = _svr_search(features[train], y[train], seed, with_pca=False)
    results["physfeat2-svr"] = {**_scores(svr.predict(features[test]), y[test]), "params": params}
    timings["physfeat2-svr_s"] = round(time.perf_counter() - t0, 1)

    for key, inputs in (("resnet18", "image"), ("mucha-cnn", "mucha")):
        t0 = time.perf_counter()
        fit = train_cnn_regressor(images[train], y[train], run_dir=new_run("cnn", {}), inputs=inputs,
                                  epochs=epochs, patience=patience, seed=seed, device=device)
        pred = predict_cnn(fit.model, images[test], device=device)
        results[key] = {**_scores(pred, y[test]), "epochs_run": len(fit.history), "best_epoch": fit.best_epoch,
                        "stop": fit.stop_reason, "final_lr": fit.history[-1]["next_lr"]}
        timings[f"{key}_s"] = round(time.perf_counter() - t0, 1)
    for key in results:
        results[key]["study_d_rmse"] = STUDY_D[key]
    return {"bench": "learned_science", "n_train": n_train, "n_test": n_test, "epochs": epochs,
            "patience": patience, "device": device, "results": results, "timings": timings}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--science", action="store_true", help="Ising RMSEs instead of throughput")
    parser.add_argument("--n", type=int, default=10_000, help="training images (science)")
    parser.add_argument("--test", type=int, default=1_000, help="held-out images (science)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--weights", default=None, help="local folder of ResNet-18 weights for CNN-PCA-SVR")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: both for throughput)")
    parser.add_argument("--steps", type=int, default=20, help="training steps timed (throughput)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as home:
        os.environ["MSDASH_HOME"] = home  # runs go to a throw-away workspace
        if args.science:
            print(json.dumps(science(args.n, args.test, epochs=args.epochs, patience=args.patience,
                                     weights=args.weights, device=args.device)), flush=True)
            return
        import torch

        devices = [args.device] if args.device else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        for device in devices:
            print(json.dumps(throughput(device, steps=args.steps)), flush=True)


if __name__ == "__main__":
    main()
