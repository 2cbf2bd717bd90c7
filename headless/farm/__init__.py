"""Collapse on render farms: the same ``collapse`` CLI, run per chunk by real distributed engines.

- :mod:`.dask_farm`: Dask distributed (a ``LocalCluster`` of worker processes, an existing scheduler,
  or SLURM/PBS/SGE through ``dask-jobqueue``); every chunk is its own ``collapse render`` process.
- :mod:`.batch`: many shots (seeds or parameter variations) baked and rendered in parallel.
- :mod:`.openjd`: an Open Job Description template (AWS Deadline Cloud's format).
- :mod:`.flamenco`: a Flamenco v3 job type (JavaScript).
- :mod:`.cli`: the ``farm`` click group (``collapse farm ...``).

Nothing here imports bpy: Blender only ever runs in the ``collapse`` subprocesses.
"""
