"""CNN regressors of study D: ResNet-18/34 on the images or on MuCha channels, trained from scratch or fine-tuned.

The modules, bottom up: :mod:`~msdash.learned.cnn.data` (inputs, targets and their statistics),
:mod:`~msdash.learned.cnn.schedule` (learning-rate plateau, validation split; plain Python),
:mod:`~msdash.learned.cnn.train` (training, loading and prediction), :mod:`~msdash.learned.cnn.cv` (the recipe on
given outer folds), :mod:`~msdash.learned.cnn.runs` (a data set's fold runs and their results) and
:mod:`~msdash.learned.cnn.spec` (the ResNet-embedding extractor's registry entry). The training names are
re-exported here. torch is imported inside the functions (the network is :mod:`msdash.learned.resnet_net`).
"""

from msdash.learned.cnn.data import INPUTS, prepare_inputs
from msdash.learned.cnn.train import CNNFit, load_cnn_regressor, predict_cnn, read_run, train_cnn_regressor

__all__ = ["CNNFit", "train_cnn_regressor", "load_cnn_regressor", "predict_cnn", "prepare_inputs", "read_run",
           "INPUTS"]
