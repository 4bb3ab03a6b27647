"""The one path a run takes: settings -> data -> model -> engine -> run folder."""
