"""The data-set contract lives in the core, :mod:`anobench.data.spec`; this module keeps
``from anobench.datasets.spec import DatasetSpec`` working for plugins written before."""

from anobench.data.spec import Catalog, Data, DatasetSpec, data_digest

__all__ = ["Catalog", "Data", "DatasetSpec", "data_digest"]
