//! `kandle._core.Optimizer` and `kandle._core.schedule_value`.

use super::convert::to_tensor;
use super::run;
use crate::error::Error;
use crate::optim::{Optimizer, Schedule};
use crate::tensor::Tensor;
use numpy::PyArray1;
use pyo3::prelude::*;
use std::sync::{Arc, Mutex, MutexGuard};

fn tensors(items: &Bound<'_, PyAny>) -> PyResult<Vec<Tensor<f32>>> {
    items.try_iter()?.map(|i| to_tensor(&i?)).collect()
}

fn json(text: &str, what: &str) -> PyResult<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::InvalidArgument(format!("{what}: invalid JSON config: {e}")).into())
}

/// The engine of a Keras optimizer; `kandle.optimizers` wraps it. The training loop
/// shares `inner`.
#[pyclass(name = "Optimizer", module = "kandle._core", frozen)]
pub struct PyOptimizer {
    pub inner: Arc<Mutex<Optimizer>>,
}

impl PyOptimizer {
    fn lock(&self) -> MutexGuard<'_, Optimizer> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl PyOptimizer {
    /// An optimizer of Keras class `class_name` from its config as a JSON object.
    #[new]
    fn new(class_name: &str, config_json: &str) -> PyResult<Self> {
        let config = json(config_json, class_name)?;
        let opt = Optimizer::from_config(class_name, &config)?;
        Ok(PyOptimizer {
            inner: Arc::new(Mutex::new(opt)),
        })
    }

    /// One step: `grads[i]` updates `variables[i]` in place.
    fn apply(
        &self,
        py: Python<'_>,
        grads: &Bound<'_, PyAny>,
        variables: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let (g, v) = (tensors(grads)?, tensors(variables)?);
        run(py, || self.lock().apply(&g, &v))
    }

    /// Keras's `iterations`: updates applied (calls divided by the accumulation steps).
    #[getter]
    fn iterations(&self) -> u64 {
        self.lock().iterations()
    }

    /// Calls of `apply` so far, accumulating ones included (Keras's `_iterations`).
    #[getter]
    fn raw_iterations(&self) -> u64 {
        self.lock().raw_iterations()
    }

    /// Sets the number of `apply` calls (restoring a saved optimizer's `iteration`).
    fn set_raw_iterations(&self, raw_iterations: u64) {
        self.lock().set_raw_iterations(raw_iterations)
    }

    /// The update rule's slot names, in their order.
    #[getter]
    fn slot_names(&self) -> Vec<&'static str> {
        self.lock().rule().slot_names().to_vec()
    }

    /// The slots of `variable` as flat float32 arrays, in `slot_names` order (empty
    /// before its first step).
    fn slots<'py>(
        &self,
        py: Python<'py>,
        variable: &Bound<'py, PyAny>,
    ) -> PyResult<Vec<Bound<'py, PyArray1<f32>>>> {
        let v = to_tensor(variable)?;
        let slots = self.lock().slots(&v);
        Ok(slots
            .into_iter()
            .map(|(_, values)| PyArray1::from_vec(py, values))
            .collect())
    }

    /// Replaces the slots of `variable` (flat arrays in `slot_names` order).
    fn set_slots(&self, variable: &Bound<'_, PyAny>, values: &Bound<'_, PyAny>) -> PyResult<()> {
        let v = to_tensor(variable)?;
        let values: Vec<Vec<f32>> = tensors(values)?.iter().map(Tensor::to_vec).collect();
        Ok(self.lock().set_slots(&v, &values)?)
    }

    /// With `use_ema`, each of `variables` takes its moving average.
    fn finalize_variable_values(
        &self,
        py: Python<'_>,
        variables: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let v = tensors(variables)?;
        run(py, || self.lock().finalize_variable_values(&v))
    }

    /// Swaps each of `variables` with its moving average.
    fn swap_ema_weights(&self, py: Python<'_>, variables: &Bound<'_, PyAny>) -> PyResult<()> {
        let v = tensors(variables)?;
        run(py, || self.lock().swap_ema_weights(&v))
    }

    /// Sets the moving average of each of `variables` to its current value.
    fn copy_variables_to_ema(&self, py: Python<'_>, variables: &Bound<'_, PyAny>) -> PyResult<()> {
        let v = tensors(variables)?;
        run(py, || self.lock().copy_variables_to_ema(&v))
    }

    /// The moving average of `variable`, or None before its first step (or without
    /// `use_ema`).
    fn ema_average(&self, variable: &Bound<'_, PyAny>) -> PyResult<Option<Vec<f32>>> {
        let v = to_tensor(variable)?;
        Ok(self.lock().ema_average(&v))
    }

    /// Restores the moving average of `variable` (with `use_ema`).
    fn set_ema_average(
        &self,
        variable: &Bound<'_, PyAny>,
        values: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let (v, values) = (to_tensor(variable)?, to_tensor(values)?);
        Ok(self.lock().set_ema_average(&v, &values.to_vec())?)
    }

    /// The gradients of `variable` accumulated since the last update, or None (without
    /// `gradient_accumulation_steps`, or before its first step).
    fn accumulated_gradient(&self, variable: &Bound<'_, PyAny>) -> PyResult<Option<Vec<f32>>> {
        let v = to_tensor(variable)?;
        Ok(self.lock().accumulated_gradient(&v))
    }

    /// Restores the accumulated gradients of `variable`.
    fn set_accumulated_gradient(
        &self,
        variable: &Bound<'_, PyAny>,
        values: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let (v, values) = (to_tensor(variable)?, to_tensor(values)?);
        Ok(self.lock().set_accumulated_gradient(&v, &values.to_vec())?)
    }

    /// The learning rate of the next step (a schedule's value at `iterations`).
    #[getter]
    fn learning_rate(&self) -> f64 {
        self.lock().learning_rate()
    }

    fn set_learning_rate(&self, value: f64) -> PyResult<()> {
        Ok(self.lock().set_learning_rate(value)?)
    }

    /// Replaces the learning rate by the schedule `{"class_name", "config"}`.
    fn set_learning_rate_schedule(&self, config_json: &str) -> PyResult<()> {
        let schedule = Schedule::from_config(&json(config_json, "learning_rate schedule")?)?;
        self.lock().set_schedule(schedule);
        Ok(())
    }

    /// Keras's `get_config()` as JSON.
    fn config_json(&self) -> String {
        self.lock().config().to_string()
    }
}

/// The value at `step` of the schedule `{"class_name", "config"}`.
#[pyfunction]
fn schedule_value(config_json: &str, step: f64) -> PyResult<f64> {
    let schedule = Schedule::from_config(&json(config_json, "learning_rate schedule")?)?;
    Ok(schedule.value(step))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyOptimizer>()?;
    m.add_function(wrap_pyfunction!(schedule_value, m)?)?;
    Ok(())
}
