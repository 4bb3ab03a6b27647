# Hydra configs ship inside the package as regexp.conf (see pyproject.toml).
