//! Keras's `gradient_accumulation_steps`: gradients are summed over `n` calls of
//! `apply`, and every n-th call updates the variables with their mean.

use super::{state_buffer, with_data};
use crate::error::Result;
use crate::kernels::parallel::for_each_chunk;
use crate::tensor::{Tensor, TensorId};
use std::collections::HashMap;

/// The accumulators (Keras's `gradient_accumulator` variables), one per variable.
#[derive(Clone, Debug)]
pub(crate) struct Accumulation {
    steps: u64,
    sums: HashMap<TensorId, Vec<f32>>,
}

impl Accumulation {
    pub fn new(steps: u64) -> Self {
        Accumulation {
            steps,
            sums: HashMap::new(),
        }
    }

    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The accumulator of `variable` (its mean during an updating call).
    pub fn sum(&self, variable: &Tensor) -> Option<&[f32]> {
        self.sums.get(&variable.id()).map(Vec::as_slice)
    }

    /// Zeroed accumulators for the variables that have none yet.
    pub fn allocate(&mut self, owner: &str, variables: &[Tensor]) -> Result<()> {
        for v in variables {
            if let std::collections::hash_map::Entry::Vacant(e) = self.sums.entry(v.id()) {
                e.insert(state_buffer(owner, v, 1)?);
            }
        }
        Ok(())
    }

    /// Sets the accumulator of `variable` (restoring a saved optimizer).
    pub fn set_sum(&mut self, owner: &str, variable: &Tensor, values: &[f32]) -> Result<()> {
        self.allocate(owner, std::slice::from_ref(variable))?;
        if let Some(sum) = self.sums.get_mut(&variable.id()) {
            sum.copy_from_slice(values);
        }
        Ok(())
    }

    /// Adds this call's gradients. On an updating call (the `steps`-th since the last,
    /// judged from the number of calls before this one, as Keras does) the accumulators
    /// become the means `(sum + g) / steps`, and this returns true.
    pub fn add(&mut self, grads: &[Tensor], variables: &[Tensor], raw_iterations: u64) -> bool {
        let update = (raw_iterations + 1) % self.steps == 0;
        let n = self.steps as f32;
        for (g, v) in grads.iter().zip(variables) {
            let sum = self.sums.get_mut(&v.id()).expect("allocated before");
            with_data(g, v, |g| {
                if update {
                    for_each_chunk(sum, |start, chunk| {
                        for (s, g) in chunk.iter_mut().zip(&g[start..]) {
                            *s = (*g + *s) / n;
                        }
                    });
                } else {
                    for_each_chunk(sum, |start, chunk| {
                        for (s, g) in chunk.iter_mut().zip(&g[start..]) {
                            *s += *g;
                        }
                    });
                }
            });
        }
        update
    }

    /// Zeroes the accumulators of `variables` after an update.
    pub fn reset(&mut self, variables: &[Tensor]) {
        for v in variables {
            if let Some(sum) = self.sums.get_mut(&v.id()) {
                for_each_chunk(sum, |_, chunk| chunk.fill(0.0));
            }
        }
    }
}
