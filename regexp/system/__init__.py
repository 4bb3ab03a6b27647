"""The process and the machine: torch threads, the C allocator, pools of processes and threads,
files written atomically, signals, progress bars, the command line and the process's exit."""
