"""Machine tuning, named as such: torch threads, the C allocator, progress bars, the garbage
collector and the process's exit."""
