"""Adapters to other tools (TensorBoard's projector, PyTorch Lightning)."""
