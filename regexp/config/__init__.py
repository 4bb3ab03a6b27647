"""The Hydra edge, no torch: overrides, composing, validated settings, a sweep's job configs,
the plan of a run or sweep, and the few private Hydra names (hydra_shim)."""
