"""The data layer: reading images and tables, data sets and the workspace that keeps them.

Modules, bottom up (each imports only the ones above it, :mod:`msdash.errors`, :mod:`msdash.config` and
:mod:`msdash.budget`):

- :mod:`~msdash.data.atomic` — crash-safe writes, locks and the workspace's block files;
- :mod:`~msdash.data.pixelsize`, :mod:`~msdash.data.workbook`, :mod:`~msdash.data.imagestore` — pixel size from
  metadata, XLSX parts, the memory-mapped image stack;
- :mod:`~msdash.data.images`, :mod:`~msdash.data.matfile`, :mod:`~msdash.data.tables` — decoding one file, MAT files,
  property tables and name matching;
- :mod:`~msdash.data.loader` — :func:`~msdash.data.loader.load_images` over files, folders and zips (also reachable as
  :mod:`msdash.io`, the stable entry point), and :mod:`~msdash.data.sources` for listing and block reads;
- :mod:`~msdash.data.dataset`, :mod:`~msdash.data.ingest`, :mod:`~msdash.data.dataset_entry`,
  :mod:`~msdash.data.datastore`, :mod:`~msdash.data.workspace_upkeep` — data sets and the saved workspace.

The built-in demo set's files are package data in ``msdash/data/demo`` (see its README).
Nothing is imported here, so ``import msdash.data.atomic`` stays as cheap as that module.
"""
