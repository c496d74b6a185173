"""Foundation-model embedding speed: our batched extractor vs study B's one-image loop, one JSON line.

CPU (always): 64 random 224×224 RGB PNG files in a temporary folder, a randomly initialised DINOv2-small-sized
model (hidden 384, 12 layers, 6 heads, MLP 1536, patch 14, image size 224), float32.

- baseline = study B's loop: for each file, decode it (PIL), ``ToTensor`` (uint8 → float / 255, CHW),
  ``model(pixel_values[None]).pooler_output`` one image at a time, autograd on (no ``inference_mode``).
- ours = ``msdash.io.load_images(folder)`` then ``msdash.features.foundation.embed(mode="paper")`` with the
  automatic batch size (same files, same decoding work, same CLS feature).

Timed alternately (baseline, ours, baseline, ours, …), best of ``--repeats`` each; reported: images/s, the
ratio, and the max |feature difference| (goal ≤ 1e-4 in float32). ``--bf16`` adds our path with the model in
bfloat16 and its cosine similarity to float32. With CUDA, also DINOv2-base/large-sized models at 224 px in
bf16: our images/s and the bound from a plain bf16 matmul of the model's GEMM shapes at the same batch size.

    .venv/bin/python bench/embed.py [--layers 12] [--repeats 2] [--threads N] [--bf16]
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np


N_IMAGES, SIDE = 64, 224


def _write_pngs(folder, n=N_IMAGES, seed=0):
    from PIL import Image

    rng = np.random.default_rng(seed)
    for i in range(n):
        # smooth-ish random texture so the PNG is not incompressible noise (closer to a micrograph)
        small = rng.integers(0, 256, size=(SIDE // 8, SIDE // 8, 3), dtype=np.uint8)
        Image.fromarray(small).resize((SIDE, SIDE), Image.BILINEAR).save(folder / f"img_{i:03d}.png")
    return sorted(folder.glob("*.png"))


def _model(hidden, layers, heads, dtype="float32", device="cpu"):
    import torch
    import transformers

    from msdash.features.foundation.models import FoundationModel

    torch.manual_seed(0)
    config = transformers.Dinov2Config(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                                       intermediate_size=4 * hidden, patch_size=14, image_size=SIDE,
                                       attn_implementation="sdpa")
    model = transformers.Dinov2Model(config).eval().to(device, getattr(torch, dtype))
    return FoundationModel(model, None, "dinov2", f"dinov2-{hidden}", torch.device(device), getattr(torch, dtype),
                           14, SIDE)


def study_b_loop(model, files):
    """Study B's notebook: decode one file, ToTensor, batch of 1, autograd on, one image at a time."""
    import torch
    from PIL import Image

    rows = []
    for path in files:
        image = np.array(Image.open(path).convert("RGB"))
        pixels = torch.from_numpy(image).permute(2, 0, 1).float().div(255.0)  # torchvision's ToTensor
        rows.append(model(pixel_values=pixels[None]).pooler_output.detach().numpy()[0])
    return np.stack(rows)


def ours(fm, folder):
    from msdash.features.foundation import embed
    from msdash.io import load_images

    loaded = load_images(folder)
    return embed(list(loaded.images.values()), model=fm, mode="paper", pooling="cls")


def _best(function, repeats, *args):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = function(*args)
        times.append(time.perf_counter() - start)
    return min(times), out


def cpu_figures(layers, repeats, bf16):
    import torch

    fm = _model(384, layers, 6)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = _write_pngs(folder)
        study_b_loop(fm.model, files[:2]), ours(fm, folder)  # warm-up (allocator, lazy imports)
        base_s, ours_s = [], []
        for _ in range(repeats):  # alternate so both see the same machine load
            seconds, baseline = _best(study_b_loop, 1, fm.model, files)
            base_s.append(seconds)
            seconds, mine = _best(ours, 1, fm, folder)
            ours_s.append(seconds)
        result = {
            "device": "cpu", "torch_threads": torch.get_num_threads(), "n_images": len(files), "side_px": SIDE,
            "model": f"dinov2-small-sized random (hidden 384, {layers} layers, 6 heads)",
            "baseline_images_per_s": round(len(files) / min(base_s), 2),
            "ours_images_per_s": round(len(files) / min(ours_s), 2),
            "max_abs_diff_fp32": float(np.abs(baseline - mine).max()),
            "load_average_1min": round(os.getloadavg()[0], 2),
        }
        result["speedup"] = round(result["ours_images_per_s"] / result["baseline_images_per_s"], 3)
        # each pair ran back to back: their ratios show how much a busy machine moved the figure
        result["pair_speedups"] = [round(b / o, 3) for b, o in zip(base_s, ours_s)]
        if bf16:
            fm16 = _model(384, layers, 6, dtype="bfloat16")
            seconds, half = _best(ours, repeats, fm16, folder)
            cosine = np.sum(half * mine, 1) / (np.linalg.norm(half, axis=1) * np.linalg.norm(mine, axis=1))
            result.update({"ours_bf16_images_per_s": round(len(files) / seconds, 2),
                           "bf16_min_cosine": round(float(cosine.min()), 5)})
    return result


def _matmul_bound(hidden, layers, heads, batch):
    """Images/s if the GPU did nothing but the model's bf16 GEMMs (linear layers and attention), timed here."""
    import torch

    tokens = (SIDE // 14) ** 2 + 1
    rows, head = batch * tokens, hidden // heads
    shapes = [(rows, hidden, 3 * hidden), (rows, hidden, hidden), (rows, hidden, 4 * hidden),
              (rows, 4 * hidden, hidden)]
    operands = [(torch.randn(m, k, device="cuda", dtype=torch.bfloat16),
                 torch.randn(k, n, device="cuda", dtype=torch.bfloat16)) for m, k, n in shapes]
    q = torch.randn(batch * heads, tokens, head, device="cuda", dtype=torch.bfloat16)
    scores = torch.randn(batch * heads, tokens, tokens, device="cuda", dtype=torch.bfloat16)

    def one_layer():
        for a, b in operands:
            a @ b
        torch.bmm(q, q.transpose(1, 2))
        torch.bmm(scores, q)

    for _ in range(3):
        one_layer()
    torch.cuda.synchronize()
    start, reps = time.perf_counter(), 20
    for _ in range(reps):
        one_layer()
    torch.cuda.synchronize()
    per_layer = (time.perf_counter() - start) / reps
    return batch / (per_layer * layers)


def cuda_figures(repeats):
    import torch

    from msdash.features.foundation import auto_batch_size, embed

    figures = {"gpu": torch.cuda.get_device_name()}
    images = list(np.random.default_rng(0).random((512, SIDE, SIDE, 3), dtype=np.float32))
    for name, hidden, layers, heads in (("base", 768, 12, 12), ("large", 1024, 24, 16)):
        fm = _model(hidden, layers, heads, dtype="bfloat16", device="cuda")
        batch = auto_batch_size(fm, (3, SIDE, SIDE))
        embed(images[:batch], model=fm)
        torch.cuda.synchronize()
        seconds, _ = _best(lambda fm=fm: (embed(images, model=fm), torch.cuda.synchronize()), repeats)
        bound = _matmul_bound(hidden, layers, heads, batch)
        figures[f"dinov2_{name}_bf16_images_per_s"] = round(len(images) / seconds, 1)
        figures[f"dinov2_{name}_matmul_bound_images_per_s"] = round(bound, 1)
        figures[f"dinov2_{name}_fraction_of_bound"] = round(len(images) / seconds / bound, 3)
        figures[f"dinov2_{name}_batch"] = batch
        del fm
        torch.cuda.empty_cache()
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=12, help="transformer layers of the CPU model (12 = small)")
    parser.add_argument("--repeats", type=int, default=2, help="timed repeats of each path (best kept)")
    parser.add_argument("--bf16", action="store_true", help="also time our path with the model in bf16")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU comparison (GPU figures only)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (1 keeps a shared, busy machine from stalling parallel regions)")
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    result = {} if args.no_cpu else cpu_figures(args.layers, args.repeats, args.bf16)
    if torch.cuda.is_available():
        result.update(cuda_figures(args.repeats))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
