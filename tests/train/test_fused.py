"""Pins torch's private fused kernels (regexp.train.fused) to the update formula written once
in regexp.train.update: a torch upgrade that changes what they compute fails here first."""

import pytest
import torch

from regexp.train import fused
from regexp.train.update import FAMILY, coefficients, ewma_update


@pytest.mark.skipif(not fused.available(torch.device("cpu")), reason="no fused CPU kernels")
@pytest.mark.parametrize("name", sorted(FAMILY))
@pytest.mark.parametrize("correct", [False, True])
def test_the_fused_kernels_compute_the_update_formula(name, correct):
    gen = torch.Generator().manual_seed(0)
    shapes = [(3, 4, 5), (3, 1, 5), (3, 5, 1)]
    params = [torch.randn(s, generator=gen) for s in shapes]
    mine, start = [p.clone() for p in params], [p.clone() for p in params]
    ms, vs = [torch.zeros_like(p) for p in params], [torch.zeros_like(p) for p in params]
    my_ms, my_vs = [m.clone() for m in ms], [v.clone() for v in vs]
    uses_m, uses_v = FAMILY[name]
    lr, beta1, beta2, eps = 0.01, 0.9, 0.999, 1e-7
    for t in range(1, 6):
        grads = [torch.randn(s, generator=gen) for s in shapes]
        lr_t, eps_t = coefficients(name, lr, eps, correct, beta1**t, beta2**t)
        fused.fused_update(name, params, grads, ms, vs if uses_v else [], lr_t, beta1, beta2, eps_t)
        ewma_update(mine, grads, my_ms if uses_m else [], my_vs if uses_v else [],
                    lr_t, beta1, beta2, eps_t)  # fmt: skip
    for got, want in zip(params, mine):
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7)
    for p, p0 in zip(params, start):  # and they moved: it compares steps, not idle tensors
        assert (p - p0).abs().max() > 1e-3


def test_the_recompile_limit_reaches_a_torch_that_takes_it_from_its_config(monkeypatch):
    """torch < 2.13's torch.compile has no recompile_limit: the limit goes to dynamo's config."""
    import torch._dynamo

    config = torch._dynamo.config
    seen = {}

    def old_compile(fn, *, fullgraph=False):  # the signature of a torch before 2.13
        seen["fullgraph"] = fullgraph
        return fn

    monkeypatch.setattr(torch, "compile", old_compile)
    with config.patch(recompile_limit=8):  # dynamo's config takes no monkeypatch
        assert fused.compile_with_limit(abs, 64, fullgraph=True) is abs
        assert seen == {"fullgraph": True} and config.recompile_limit == 64
