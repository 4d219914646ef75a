//! Keras's `use_ema`: an exponential moving average of each variable, updated after
//! every `apply` call, optionally copied into the variables every
//! `ema_overwrite_frequency` steps, and at the end of `fit` (`finalize_variable_values`).

use super::state_buffer;
use crate::error::Result;
use crate::kernels::parallel::for_each_chunk;
use crate::tensor::{Tensor, TensorId};
use std::collections::HashMap;

/// One variable and its average (Keras's `average` variable).
#[derive(Clone, Debug)]
struct Entry {
    variable: Tensor,
    average: Vec<f32>,
    /// Not yet updated: its first update copies the variable.
    fresh: bool,
}

/// The EMA settings and the averages of every variable the optimizer has updated, in
/// the order it first saw them: like Keras's, each `apply` updates all of them.
#[derive(Clone, Debug)]
pub(crate) struct Ema {
    momentum: f64,
    overwrite_frequency: Option<u64>,
    entries: Vec<Entry>,
    index: HashMap<TensorId, usize>,
}

impl Ema {
    pub fn new(momentum: f64, overwrite_frequency: Option<u64>) -> Self {
        Ema {
            momentum,
            overwrite_frequency,
            entries: Vec::new(),
            index: HashMap::new(),
        }
    }

    pub fn momentum(&self) -> f64 {
        self.momentum
    }

    pub fn overwrite_frequency(&self) -> Option<u64> {
        self.overwrite_frequency
    }

    pub fn average(&self, variable: &Tensor) -> Option<&[f32]> {
        let entry = &self.entries[*self.index.get(&variable.id())?];
        (!entry.fresh).then_some(entry.average.as_slice())
    }

    /// Averages for the variables that have none yet.
    pub fn allocate(&mut self, owner: &str, variables: &[Tensor]) -> Result<()> {
        for v in variables {
            if !self.index.contains_key(&v.id()) {
                self.index.insert(v.id(), self.entries.len());
                self.entries.push(Entry {
                    variable: v.clone(),
                    average: state_buffer(owner, v, 1)?,
                    fresh: true,
                });
            }
        }
        Ok(())
    }

    /// Sets the average of `variable` (restoring a saved optimizer), which then counts
    /// as updated.
    pub fn set_average(&mut self, owner: &str, variable: &Tensor, values: &[f32]) -> Result<()> {
        self.allocate(owner, std::slice::from_ref(variable))?;
        let entry = &mut self.entries[self.index[&variable.id()]];
        entry.average.copy_from_slice(values);
        entry.fresh = false;
        Ok(())
    }

    /// After a step: `average = m·average + (1 − m)·variable`, with `m` the momentum
    /// except at `iterations == 0` (Keras's `iterations` before this call is counted),
    /// where the average starts as the variable. Then, every `overwrite_frequency`
    /// steps, the variables take their averages.
    pub fn update(&mut self, iterations: u64) -> Result<()> {
        // In float32, as Keras: m·average + (1 − m)·variable.
        let m = self.momentum as f32;
        let one_minus_m = 1.0 - m;
        for entry in &mut self.entries {
            let var = entry.variable.data();
            if iterations == 0 || entry.fresh {
                entry.average.copy_from_slice(&var);
                entry.fresh = false;
            } else {
                for_each_chunk(&mut entry.average, |start, chunk| {
                    for (a, w) in chunk.iter_mut().zip(&var[start..]) {
                        *a = m * *a + one_minus_m * *w;
                    }
                });
            }
        }
        if let Some(f) = self.overwrite_frequency {
            if (iterations + 1) % f == 0 {
                for entry in &self.entries {
                    entry.variable.assign(&entry.average)?;
                }
            }
        }
        Ok(())
    }

    fn entry_mut(&mut self, variable: &Tensor) -> Option<&mut Entry> {
        let i = *self.index.get(&variable.id())?;
        Some(&mut self.entries[i]).filter(|e| !e.fresh)
    }

    /// Each of `variables` that has an average takes its value.
    pub fn overwrite(&self, variables: &[Tensor]) -> Result<()> {
        for v in variables {
            if let Some(average) = self.average(v) {
                v.assign(average)?;
            }
        }
        Ok(())
    }

    /// Swaps each of `variables` that has an average with it.
    pub fn swap(&mut self, variables: &[Tensor]) -> Result<()> {
        for v in variables {
            if let Some(entry) = self.entry_mut(v) {
                v.update_in_place(|data| data.swap_with_slice(&mut entry.average))?;
            }
        }
        Ok(())
    }

    /// Each of `variables` that has an average sets it to its current value.
    pub fn copy_from(&mut self, variables: &[Tensor]) {
        for v in variables {
            if let Some(entry) = self.entry_mut(v) {
                entry.average.copy_from_slice(&v.data());
            }
        }
    }
}
