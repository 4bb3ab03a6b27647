"""regexp fix changes exactly the units whose change point lies in the interval."""

import json

import pytest
import torch
from omegaconf import OmegaConf
from safetensors.torch import load_file

from regexp.config.compose import compose
from regexp.config.errors import UsageError
from regexp.config.settings import validate
from regexp.runs.weights import build_model, load_run, save_weights
from regexp.tools.fix import Fix, apply_fix, change_points, cli, fix_run, parse_fix

# Layer-0 units with change points -b/w = 0.4, 0.5, 0.75, 1.0, 1.2, 0.6, -3 and none (w = 0).
W = [1.0, 1.0, 1.0, 1.0, -1.0, -1.0, 2.0, 0.0]
B = [-0.4, -0.5, -0.75, -1.0, 1.2, 0.6, 6.0, 0.3]
IN_0_5_TO_1 = [1, 2, 3, 5]  # the ends count, as in the notebook's >= and <=


def make_run_folder(folder, *overrides, weights=None):
    """A run folder as the runner leaves it (config, weights, metrics), without training."""
    cfg = compose(["plots.enabled=false", "device=cpu", *overrides])
    (folder / ".hydra").mkdir(parents=True)
    OmegaConf.save(cfg, folder / ".hydra" / "config.yaml")
    settings = validate(cfg)
    model = build_model(settings, 2 if settings.data.task == "classification" else 1)
    if weights is not None:
        with torch.no_grad():
            model.layers[0].weight.copy_(torch.tensor(weights[0])[:, None])
            model.layers[0].bias.copy_(torch.tensor(weights[1]))
    save_weights(folder / "weights.safetensors", model)
    (folder / "metrics.json").write_text(json.dumps({"status": "ok", "epochs": 7}))
    return folder


@pytest.fixture
def run8(tmp_path):
    return make_run_folder(tmp_path / "run", "hidden_units=[8]", weights=(W, B))


def test_fix_changes_exactly_the_units_in_the_interval(run8, tmp_path):
    out, metrics = fix_run(run8, Fix(0, (0.5, 1.0), 0.1), parent=tmp_path / "fix")
    before, after = load_file(run8 / "weights.safetensors"), load_file(out / "weights.safetensors")
    assert metrics["fix"]["units"] == IN_0_5_TO_1
    assert metrics["fix"]["change_points"] == pytest.approx([0.5, 0.75, 1.0, 0.6])
    w0, w1 = before["layers.0.weight"][:, 0], after["layers.0.weight"][:, 0]
    for j in range(8):
        assert w1[j].item() == (w0[j] * 0.1).item() if j in IN_0_5_TO_1 else w1[j] == w0[j]
    for name in before:  # biases and the other layers are untouched
        if name != "layers.0.weight":
            assert torch.equal(before[name], after[name]), name


def test_fixed_folder_records_source_and_metrics_before_and_after(run8, tmp_path):
    out, metrics = fix_run(run8, Fix(0, (0.5, 1.0), 0.1), parent=tmp_path / "fix")
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["source"] == str(run8.resolve()) and saved["status"] == "ok"
    assert saved["fix"]["interval"] == [0.5, 1.0] and saved["fix"]["scale"] == 0.1
    assert saved["epochs"] == 7
    # Both sets of metrics agree with evaluating the two folders' models afresh.
    for folder, got in ((run8, saved["before"]), (out, saved)):
        _, model, data = load_run(folder)
        with torch.no_grad():
            fresh = {
                "train_mse": torch.nn.functional.mse_loss(model(data.x_train), data.y_train),
                "val_mse": torch.nn.functional.mse_loss(model(data.x_val), data.y_val),
            }
        for key in ("train_mse", "val_mse"):
            assert got[key] == pytest.approx(fresh[key].item(), rel=1e-6)
    assert saved["train_mse"] != saved["before"]["train_mse"]
    for png in ("layers.png", "layers_no_hidden.png", "before_after.png"):
        assert (out / "plots" / png).stat().st_size > 5_000


def test_change_points_and_a_later_layer_with_one_dimensional_input(tmp_path):
    run = make_run_folder(tmp_path / "run", "hidden_units=[1,4]")
    _, model, _ = load_run(run)
    with torch.no_grad():
        model.layers[1].weight.copy_(torch.tensor([[2.0], [1.0], [-4.0], [1.0]]))
        model.layers[1].bias.copy_(torch.tensor([-1.0, 3.0, 2.0, -0.7]))
    torch.testing.assert_close(change_points(model, 1), torch.tensor([0.5, -3.0, 0.5, 0.7]))
    info = apply_fix(model, Fix(1, (0.5, 1.0), 0.0))
    assert info["units"] == [0, 2, 3]
    assert model.layers[1].weight[:, 0].tolist() == [0.0, 1.0, 0.0, 0.0]


def test_cli_writes_under_outputs_fix(run8, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli([str(run8), "layer=0", "interval=[0.5,1.0]", "scale=0.1"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert "fixed 4 of 8 units of layer 0" in printed[0]
    folder = tmp_path / printed[-1]
    assert folder.parent.parent.name == "fix" and (folder / "metrics.json").is_file()


@pytest.mark.parametrize(
    "overrides, args, message",
    [
        (["data=classification", "hidden_units=[8]"], [], "1-D input"),
        (["hidden_units=[8]"], ["layer=1"], "layer=1 does not exist: the model has 1 hidden"),
        (["hidden_units=[8]"], ["layer=-1"], "does not exist"),
        (["hidden_units=[8,8]"], ["layer=1"], "output of layer 0 has 8 dimensions"),
        (["hidden_units=[8]"], ["interval=[1.0,0.5]"], "is empty"),
        (["hidden_units=[8]"], ["interval=[5,6]"], r"no unit of layer 0 .* in \[5, 6\]"),
    ],
)
def test_clear_errors_and_no_folder(tmp_path, monkeypatch, overrides, args, message):
    weights = (W, B) if overrides[-1] == "hidden_units=[8]" else None
    run = make_run_folder(tmp_path / "run", *overrides, weights=weights)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=message):
        cli([str(run), *args])
    assert not (tmp_path / "outputs").exists()


def test_parse_fix():
    assert parse_fix([]) == Fix(0, (0.5, 1.0), 0.1)
    assert parse_fix(["interval=[.25, 1e0]", "scale=0", "layer=2"]) == Fix(2, (0.25, 1.0), 0.0)
    assert parse_fix(["interval=-1,-0.5"]).interval == (-1.0, -0.5)
    for bad, message in (
        ("layer=x", "layer='x' is not valid"),
        ("interval=[1]", "interval='\\[1\\]' is not valid"),
        ("size=3", "unknown key 'size'"),
        ("scale", "expected KEY=VALUE"),
    ):
        with pytest.raises(UsageError, match=message):
            parse_fix([bad])


def test_cli_needs_a_run_folder(tmp_path):
    with pytest.raises(UsageError, match="needs a run folder"):
        cli(["layer=0"])
    with pytest.raises(UsageError, match="not a finished run folder"):
        cli([str(tmp_path)])
