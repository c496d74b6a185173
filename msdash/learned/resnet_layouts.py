"""The standard ResNet layouts (He et al. 2016; torchvision's ``resnet18/34/50``), shared by the builder and the
weight importer."""

__all__ = ["LAYOUTS", "ARCHS"]

#: depth → (blocks per stage, block type, channels per stage).
LAYOUTS = {18: ((2, 2, 2, 2), "basic", (64, 128, 256, 512)),
           34: ((3, 4, 6, 3), "basic", (64, 128, 256, 512)),
           50: ((3, 4, 6, 3), "bottleneck", (256, 512, 1024, 2048))}
#: Architecture names used by the trainers → depth.
ARCHS = {"resnet18": 18, "resnet34": 34, "resnet50": 50}
