"""Registry entry of the ResNet embedding (CNN-PCA-SVR's features, study D); imports no torch.

The registry imports this module, so the registry's names are imported inside :func:`extractor_spec`.

References
----------
- Study D: B. D. Nguyen, P. Potapenko, A. Demirci, K. Govind, S. Bompas, S. Sandfeld, "Efficient Surrogate Models
  for Materials Science Simulations: Machine Learning-based Prediction of Microstructure Properties"
  (``docs/references.md``).
"""

__all__ = ["extractor_spec", "resnet_embed_labels"]


def resnet_embed_labels(params, shape, d):
    """Column labels ``"resnet18[i]"`` of a ResNet embedding of length ``d``."""
    return [f"resnet{params['depth']}[{i}]" for i in range(d or 0)]


def _kwargs(params):
    return {"depth": int(params["depth"]), "folder": params["folder"], "batch_size": params["batch_size"]}


def extractor_spec():
    """The ``"resnet_embed"`` extractor: global-pooled ResNet-18/34/50 features of grey or RGB images.

    The function is :func:`msdash.learned.resnet.resnet_embed` (512 values per image for depth 18/34,
    2048 for 50). Without ``folder`` the weights are random (seed 0), so the features need no download but
    are not the ImageNet features of study D's CNN-PCA-SVR. PCA → SVR is then a model preset on this table.

    Returns
    -------
    ExtractorSpec

    Examples
    --------
    >>> spec = extractor_spec()
    >>> spec.name, spec.kind, [p.name for p in spec.params]
    ('resnet_embed', 'learned', ['depth', 'folder', 'batch_size'])
    """
    from msdash.features.registry import ExtractorSpec, Param

    params = (Param("depth", "18", "choice", ("18", "34", "50"),
                    help="ResNet-18/34 give 512 features per image, ResNet-50 2048."),
              Param("folder", None, "str",
                    help="Pretrained weights: a save_pretrained folder or a torchvision state-dict file (.pth, "
                         ".safetensors; e.g. a microscopy-pretrained encoder); none: random weights."),
              Param("batch_size", 32, "int", min=1, max=4096, help="Images per forward pass."))
    return ExtractorSpec(
        "resnet_embed", "ResNet embedding", "learned",
        "Globally averaged ResNet features (CNN-PCA-SVR of study D): random weights unless a local folder of "
        "pretrained weights is given.",
        "msdash.learned.resnet:resnet_embed", params, input="grey", dims=(2,), needs_weights=False,
        label_function=resnet_embed_labels, call_kwargs=_kwargs)
