//! The training loop: batches, steps and running averages, without Python.
