"""Training-run folders: names, meta, checkpoints that round-trip and refuse mismatched models."""

import pytest
import torch

from msdash.errors import InputError
from msdash.learned import runs


def test_new_run_lists_and_refuses_bad_or_duplicate_names():
    path = runs.new_run("cnn", {"lr": 1e-3}, run_id="first")
    assert path.parent == runs.runs_root("cnn")
    assert runs.read_meta(path)["config"] == {"lr": 1e-3}
    assert [m["run_id"] for m in runs.list_runs("cnn")] == ["first"]
    with pytest.raises(InputError, match="exists already"):
        runs.new_run("cnn", {}, run_id="first")
    for bad in ("../escape", "a/b", "", ".hidden"):
        with pytest.raises(InputError, match="Invalid run id"):
            runs.new_run("cnn", {}, run_id=bad)
    with pytest.raises(InputError, match="No cnn run named 'missing'.*first"):
        runs.run_path("cnn", "missing")


def test_checkpoint_round_trip_restores_weights_and_optimizer():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.ones(4, 3)).sum().backward()
    optimizer.step()
    path = runs.new_run("cnn", {})
    assert not runs.has_checkpoint(path)
    meta = runs.read_meta(path) | {"history": [{"epoch": 1, "train_loss": 0.5}]}
    runs.save_checkpoint(path, model, optimizer=optimizer, meta=meta)

    other = torch.nn.Linear(3, 2)
    other_opt = torch.optim.Adam(other.parameters(), lr=0.5)
    loaded = runs.load_checkpoint(path, other, optimizer=other_opt)
    assert loaded["history"] == [{"epoch": 1, "train_loss": 0.5}]
    assert torch.equal(other.weight, model.weight) and torch.equal(other.bias, model.bias)
    assert other_opt.param_groups[0]["lr"] == 0.01
    assert torch.equal(other_opt.state_dict()["state"][0]["exp_avg"], optimizer.state_dict()["state"][0]["exp_avg"])

    with pytest.raises(InputError, match="do not fit"):
        runs.load_checkpoint(path, torch.nn.Linear(5, 2))
    with pytest.raises(InputError, match="no saved weights"):
        runs.load_checkpoint(runs.new_run("cnn", {}), model)
