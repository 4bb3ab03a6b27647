"""The read side: collect run and sweep folders, compare, report, the notebook table."""
