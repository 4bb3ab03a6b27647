"""From a trained model or a sweep's table to PNGs: what a run's figures show (specs), their
drawing on reusable templates, a sweep's summary figure, and the process pool they are drawn in."""
