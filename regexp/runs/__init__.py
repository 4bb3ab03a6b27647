"""The run-folder contract: the layout of run and sweep folders, running a job or a trained
group, and writing each job's folder."""
