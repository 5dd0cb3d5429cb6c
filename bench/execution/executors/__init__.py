"""Where cells run: worker processes on this machine, a Dask cluster."""
