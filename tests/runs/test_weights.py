"""regexp.runs.weights: the configured model with its seeded initial weights, weights saved
as safetensors and loaded back bit for bit, and a run folder rebuilt into settings, model
and data."""

import torch
from omegaconf import OmegaConf
from safetensors.torch import load_file

from regexp.config.settings import validate
from regexp.runs.weights import build_model, load_run, load_weights, save_weights
from regexp.train.data import make_data
from regexp.train.model import seeded_layers
from tests.conftest import settings


def test_the_built_model_has_the_configured_layers_and_its_seeded_init():
    s = settings("hidden_units=[3,2]", "activation=tanh", "seed=5", "init.stddev=0.2")
    model = build_model(s, n_in=2)
    assert model.hidden_units == [3, 2] and model.activation == "tanh"
    drawn = seeded_layers([2, 3, 2, 1], 5, 0.0, 0.2)
    for layer, kernel, bias in zip(model.layers, drawn[::2], drawn[1::2]):
        assert torch.equal(layer.weight, kernel.T) and torch.equal(layer.bias, bias)
    other = build_model(settings("hidden_units=[3,2]", "seed=6"), n_in=2)
    assert not torch.equal(other.layers[0].weight, model.layers[0].weight)


def test_weights_come_back_bit_for_bit_from_a_model_or_a_state_dict(tmp_path):
    model = build_model(settings("hidden_units=[4]"), n_in=1)
    save_weights(tmp_path / "a.safetensors", model)
    back = load_weights(tmp_path / "a.safetensors")
    assert back.keys() == model.state_dict().keys()
    for key, value in model.state_dict().items():
        assert torch.equal(back[key], value)
    strided = {"w": torch.arange(12.0).view(3, 4).T, "b": torch.ones(3)[::2]}  # not contiguous
    save_weights(tmp_path / "b.safetensors", strided)
    plain = load_file(tmp_path / "b.safetensors")  # any safetensors reader gets them
    assert torch.equal(plain["w"], strided["w"]) and torch.equal(plain["b"], strided["b"])
    save_weights(tmp_path / "b.safetensors", {"w": torch.zeros(2)})  # replaced whole
    assert list(load_weights(tmp_path / "b.safetensors")) == ["w"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.safetensors", "b.safetensors"]


def test_a_run_folder_is_rebuilt_into_its_settings_model_and_data(tmp_path, cfg_of):
    cfg = cfg_of("hidden_units=[5]", "data.n_train=20", "seed=3")
    (tmp_path / ".hydra").mkdir()
    OmegaConf.save(cfg, tmp_path / ".hydra" / "config.yaml")
    s = validate(cfg)
    trained = build_model(s, n_in=1)
    with torch.no_grad():
        for p in trained.parameters():
            p.mul_(-3.0).add_(0.25)  # weights no init would give
    save_weights(tmp_path / "weights.safetensors", trained)

    got_settings, model, data = load_run(tmp_path)
    assert got_settings == s
    assert not model.training  # ready to evaluate
    for key, value in trained.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    want = make_data(s.data)
    assert data.x_train.shape == (20, 1) and torch.equal(data.x_val, want.x_val)
    with torch.no_grad():
        assert torch.equal(model(data.x_val), trained(data.x_val))
