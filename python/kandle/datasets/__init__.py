"""Datasets (``kandle.datasets``) with Keras's loaders, files and cache folder."""

from kandle.datasets import cifar10, fashion_mnist, mnist

__all__ = ["cifar10", "fashion_mnist", "mnist"]
