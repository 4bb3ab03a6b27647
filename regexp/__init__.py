"""regexp: regularization experiments (a Hydra-configured runner for small PyTorch networks)."""

import warnings

# conf/hydra/launcher/{joblib,submitit_*}.yaml tune the launcher plugins' presets under their
# own names, so Hydra merges each onto the plugin's schema and warns, in every job process
# (joblib and submitit workers import regexp before they compose their job's config).
warnings.filterwarnings(
    "ignore", message=r"(?s).*'hydra/launcher/\w+' is validated against ConfigStore schema"
)
