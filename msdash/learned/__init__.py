"""Trained representations: TextureVAE (study C), CNN regressors and MuCha-CNN (study D).

torch, transformers and PyWavelets are imported inside the functions that use them, except in the ``*_net``
modules, which define the torch models (``nn.Module`` classes) and are themselves imported only inside functions;
``tests/test_imports.py`` checks that importing any other module here loads neither torch nor transformers. Training
runs live in the workspace under ``<workspace>/learned/<kind>/<run id>/`` (see :mod:`msdash.learned.runs`).
"""
