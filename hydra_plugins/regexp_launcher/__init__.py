# Hydra launcher plugin: batched training of sweep groups (hydra/launcher=batched).
