"""Trained representations: TextureVAE (study C), CNN regressors and MuCha-CNN (study D).

Everything here that needs torch, transformers or PyWavelets imports them inside functions, so
``import msdash.learned`` stays as cheap as ``import msdash``. Training runs live in the workspace under
``<workspace>/learned/<kind>/<run id>/`` (see :mod:`msdash.learned.runs`).
"""
