"""Training, torch and no Hydra: data, the model and its seeded init, loss and penalty, the
EWMA-family update (written once), and the engine that trains K >= 1 models as one program."""
