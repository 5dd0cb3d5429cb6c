"""The data-set contract lives in the core, :mod:`anobench.data.spec`; this module keeps
``from anobench.datasets.spec import DatasetSpec`` (and the rest of what it offered)
working for plugins written before."""

from anobench.data.io import RemoteFile
from anobench.data.spec import Catalog, Data, DatasetSpec, Loader, data_digest, identifier

__all__ = ["Catalog", "Data", "DatasetSpec", "Loader", "RemoteFile", "data_digest", "identifier"]
