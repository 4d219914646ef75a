//! The Python face of the Rust epoch loop ([`crate::model::fit`]): Python's batch
//! streams as a [`Batches`] source, and Python's callbacks as one [`Callback`].
//!
//! Both call into Python from the engine's thread, taking the GIL only for that call.
//! An exception raised there is kept, the loop stops with an error, and the binding
//! raises the original exception.

use super::convert::to_tensor;
use super::metrics::keras_result;
use crate::error::{Error, Result};
use crate::model::fit::Batches;
use crate::model::{Callback, Control, Logs, Params};
use crate::train::{Mode, SharedMetric, Trainer};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The first Python exception raised during a loop, to raise again at its end.
#[derive(Clone, Default)]
pub struct Raised(Arc<Mutex<Option<PyErr>>>);

impl Raised {
    /// `result`, with a Python exception kept and turned into an engine error.
    fn keep<T>(&self, result: PyResult<T>) -> Result<T> {
        result.map_err(|err| {
            let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
            slot.get_or_insert(err);
            Error::Internal("a Python callback or batch source raised".into())
        })
    }

    /// The kept exception, if any, else `result`'s error.
    pub fn take_or(&self, error: PyErr) -> PyErr {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        slot.take().unwrap_or(error)
    }
}

/// Batches that Python makes (`kandle._batches.StreamBatches`), taken one by one.
pub struct PyStream {
    source: Py<PyAny>,
    steps: Option<usize>,
    /// Batches left in this pass, when the source knows (read once per pass).
    left: Option<usize>,
    raised: Raised,
}

impl PyStream {
    pub fn new(source: &Bound<'_, PyAny>, raised: &Raised) -> PyResult<Self> {
        Ok(PyStream {
            steps: source.getattr("steps")?.extract()?,
            left: None,
            source: source.clone().unbind(),
            raised: raised.clone(),
        })
    }

    /// Calls `source.method(shuffle)`, or `source.method()` without it.
    fn call(&self, method: &str, shuffle: Option<bool>) -> Result<()> {
        self.raised.keep(Python::attach(|py| {
            let source = self.source.bind(py);
            match shuffle {
                Some(s) => source.call_method1(method, (s,)),
                None => source.call_method0(method),
            }
            .map(drop)
        }))
    }
}

impl PyStream {
    /// Runs up to `count` batches that `next` takes from the source (None at its end)
    /// through `step`, stopping after `budget_s` seconds; returns how many ran.
    fn take_batches<B>(
        &mut self,
        count: usize,
        budget_s: f64,
        next: impl for<'py> Fn(&Bound<'py, PyAny>) -> PyResult<Option<B>>,
        mut step: impl FnMut(B) -> Result<()>,
    ) -> Result<usize> {
        let start = Instant::now();
        let mut done = 0;
        while done < count {
            let batch = self
                .raised
                .keep(Python::attach(|py| next(self.source.bind(py))))?;
            let Some(batch) = batch else { break };
            step(batch)?;
            done += 1;
            crate::train::interrupt::check()?;
            if start.elapsed().as_secs_f64() >= budget_s {
                break;
            }
        }
        self.left = self.left.map(|left| left.saturating_sub(done));
        Ok(done)
    }
}

impl Batches for PyStream {
    fn steps(&self) -> Option<usize> {
        self.steps
    }

    fn reset(&mut self) {
        // `reset` only clears a list; an error would be kept and raised at the end.
        let _ = self.call("reset", None);
    }

    fn begin_epoch(&mut self, shuffle: bool) -> Result<()> {
        self.call("begin_epoch", Some(shuffle))?;
        self.left = Python::attach(|py| {
            self.source
                .getattr(py, "batches_left")
                .and_then(|n| n.extract(py))
                .unwrap_or(None)
        });
        Ok(())
    }

    fn run(
        &mut self,
        trainer: &mut Trainer,
        mode: Mode,
        count: usize,
        budget_s: f64,
    ) -> Result<usize> {
        if mode == Mode::Predict {
            // The inputs of the next batch (`source.next_inputs()`).
            let next = |source: &Bound<'_, PyAny>| {
                let x = source.call_method0("next_inputs")?;
                (!x.is_none()).then(|| to_tensor(&x)).transpose()
            };
            return self.take_batches(count, budget_s, next, |x| trainer.predict_step(&x));
        }
        // The next batch as tensors (`source.next_batch(training)`).
        let training = mode == Mode::Train;
        let next = |source: &Bound<'_, PyAny>| {
            let batch = source.call_method1("next_batch", (training,))?;
            if batch.is_none() {
                return Ok(None);
            }
            let (x, y, sw): (Bound<'_, PyAny>, Bound<'_, PyAny>, Bound<'_, PyAny>) =
                batch.extract()?;
            let sw = (!sw.is_none()).then(|| to_tensor(&sw)).transpose()?;
            Ok(Some((to_tensor(&x)?, to_tensor(&y)?, sw)))
        };
        self.take_batches(count, budget_s, next, |(x, y, sw)| {
            trainer.step(mode, &x, &y, sw.as_ref())
        })
    }

    fn end_epoch(&mut self) -> Result<()> {
        self.call("end_epoch", None)
    }

    fn exhausted(&self) -> bool {
        Python::attach(|py| {
            self.source
                .getattr(py, "exhausted")
                .and_then(|e| e.extract(py))
                .unwrap_or(false)
        })
    }

    fn left_in_pass(&self) -> Option<usize> {
        self.left
    }
}

/// Python's callbacks (`kandle.models._FitHooks`) as one [`Callback`]: each hook calls
/// `hooks.call(name, *args)` with Keras's logs (floats, or arrays for the metrics whose
/// Keras result is one), whose answer is `model.stop_training`.
pub struct PyHooks {
    hooks: Py<PyAny>,
    /// The compiled metrics by log name, to give array results as arrays.
    metrics: Vec<(String, SharedMetric)>,
    /// The last training logs, which the epoch's end repeats after validation has
    /// reused the metrics.
    train_logs: Option<Py<PyDict>>,
    /// The last epoch's logs, which the end of training repeats.
    epoch_logs: Option<Py<PyDict>>,
    raised: Raised,
}

impl PyHooks {
    pub fn new(
        hooks: &Bound<'_, PyAny>,
        metrics: Vec<(String, SharedMetric)>,
        raised: &Raised,
    ) -> Self {
        PyHooks {
            hooks: hooks.clone().unbind(),
            metrics,
            train_logs: None,
            epoch_logs: None,
            raised: raised.clone(),
        }
    }

    /// Keras's logs of `logs`: a metric's value from the metric itself (an array where
    /// Keras's result is one), names prefixed `val_` read from the metrics as they are.
    fn py_logs<'py>(&self, py: Python<'py>, logs: &Logs) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in logs {
            let metric = self.metrics.iter().find(|(n, _)| n == name);
            match metric {
                Some((_, m)) => {
                    let result = keras_result(&**m.lock().unwrap_or_else(|e| e.into_inner()));
                    dict.set_item(name, result.into_py(py)?)?;
                }
                None => dict.set_item(name, value)?,
            }
        }
        Ok(dict)
    }

    /// Calls `hooks.call(name, *args)` and sets `stop_training` from its answer.
    fn call<'py>(
        &self,
        py: Python<'py>,
        control: &mut Control,
        name: &str,
        args: Vec<Bound<'py, PyAny>>,
    ) -> PyResult<()> {
        let mut all = vec![name.into_pyobject(py)?.into_any()];
        all.extend(args);
        let stop = self
            .hooks
            .call_method1(py, "call", PyTuple::new(py, all)?)?
            .extract::<bool>(py)?;
        control.stop_training = stop;
        Ok(())
    }

    fn hook(
        &self,
        control: &mut Control,
        name: &str,
        args: impl for<'py> FnOnce(Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>>,
    ) -> Result<()> {
        self.raised.keep(Python::attach(|py| {
            let args = args(py)?;
            self.call(py, control, name, args)
        }))
    }
}

impl PyHooks {
    /// `hooks.call(name, mode, batch, {})`: a batch hook without logs.
    fn batch_hook(
        &self,
        control: &mut Control,
        name: &str,
        mode: Mode,
        batch: usize,
    ) -> Result<()> {
        self.hook(control, name, |py| {
            Ok(vec![
                mode_name(mode).into_pyobject(py)?.into_any(),
                int(py, batch)?,
                empty(py),
            ])
        })
    }
}

fn empty(py: Python<'_>) -> Bound<'_, PyAny> {
    PyDict::new(py).into_any()
}

fn int(py: Python<'_>, i: usize) -> PyResult<Bound<'_, PyAny>> {
    Ok(i.into_pyobject(py)?.into_any())
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Train => "train",
        Mode::Test => "test",
        Mode::Predict => "predict",
    }
}

impl Callback for PyHooks {
    fn on_train_begin(&mut self, _params: &Params, control: &mut Control) -> Result<()> {
        self.hook(control, "on_train_begin", |py| Ok(vec![empty(py)]))?;
        // A callback may resume an interrupted fit (Keras's `model._initial_epoch`).
        let hooks = &self.hooks;
        control.resume_at = self.raised.keep(Python::attach(|py| {
            hooks
                .call_method0(py, "resume_at")?
                .extract::<Option<usize>>(py)
        }))?;
        Ok(())
    }

    fn on_train_end(&mut self, _logs: &Logs, control: &mut Control) -> Result<()> {
        let epoch_logs = &self.epoch_logs;
        self.raised.keep(Python::attach(|py| {
            let logs = match epoch_logs {
                Some(d) => d.bind(py).clone().into_any(),
                None => empty(py),
            };
            self.call(py, control, "on_train_end", vec![logs])
        }))
    }

    fn on_epoch_begin(&mut self, epoch: usize, control: &mut Control) -> Result<()> {
        self.hook(control, "on_epoch_begin", |py| {
            Ok(vec![int(py, epoch)?, empty(py)])
        })
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, control: &mut Control) -> Result<()> {
        let train_logs = self.train_logs.take();
        let raised = self.raised.clone();
        let result = Python::attach(|py| {
            let dict = PyDict::new(py);
            if let Some(train) = &train_logs {
                for (k, v) in train.bind(py).iter() {
                    dict.set_item(k, v)?;
                }
            }
            for (name, value) in logs {
                if let Some(metric_name) = name.strip_prefix("val_") {
                    let single = Logs::from([(metric_name.to_string(), *value)]);
                    for (_, v) in self.py_logs(py, &single)?.iter() {
                        dict.set_item(name, v)?;
                    }
                } else if !dict.contains(name)? {
                    dict.set_item(name, value)?;
                }
            }
            // Keras's logs are sorted by name.
            let sorted = PyDict::new(py);
            let mut keys: Vec<String> = dict.keys().extract()?;
            keys.sort();
            for k in keys {
                sorted.set_item(&k, dict.get_item(&k)?)?;
            }
            self.call(
                py,
                control,
                "on_epoch_end",
                vec![int(py, epoch)?, sorted.clone().into_any()],
            )?;
            Ok(sorted.unbind())
        });
        self.epoch_logs = Some(raised.keep(result)?);
        Ok(())
    }

    fn on_train_batch_begin(&mut self, batch: usize, control: &mut Control) -> Result<()> {
        self.batch_hook(control, "batch_begin", Mode::Train, batch)
    }

    fn on_train_batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        control: &mut Control,
    ) -> Result<()> {
        let result = Python::attach(|py| {
            let dict = self.py_logs(py, logs)?;
            let args = vec![
                mode_name(Mode::Train).into_pyobject(py)?.into_any(),
                int(py, batch)?,
                dict.clone().into_any(),
            ];
            self.call(py, control, "batch_end", args)?;
            Ok(dict.unbind())
        });
        self.train_logs = Some(self.raised.keep(result)?);
        Ok(())
    }

    fn on_test_begin(&mut self, control: &mut Control) -> Result<()> {
        self.hook(control, "on_test_begin", |py| Ok(vec![empty(py)]))
    }

    fn on_test_end(&mut self, logs: &Logs, control: &mut Control) -> Result<()> {
        self.hook(control, "on_test_end", |py| {
            Ok(vec![self.py_logs(py, logs)?.into_any()])
        })
    }

    fn on_test_batch_begin(&mut self, batch: usize, control: &mut Control) -> Result<()> {
        self.batch_hook(control, "batch_begin", Mode::Test, batch)
    }

    fn on_test_batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        control: &mut Control,
    ) -> Result<()> {
        self.hook(control, "batch_end", |py| {
            Ok(vec![
                mode_name(Mode::Test).into_pyobject(py)?.into_any(),
                int(py, batch)?,
                self.py_logs(py, logs)?.into_any(),
            ])
        })
    }

    fn on_predict_begin(&mut self, control: &mut Control) -> Result<()> {
        self.hook(control, "on_predict_begin", |py| Ok(vec![empty(py)]))
    }

    fn on_predict_end(&mut self, control: &mut Control) -> Result<()> {
        self.hook(control, "on_predict_end", |py| Ok(vec![empty(py)]))
    }

    fn on_predict_batch_begin(&mut self, batch: usize, control: &mut Control) -> Result<()> {
        self.batch_hook(control, "batch_begin", Mode::Predict, batch)
    }

    fn on_predict_batch_end(
        &mut self,
        batch: usize,
        _logs: &Logs,
        control: &mut Control,
    ) -> Result<()> {
        self.batch_hook(control, "batch_end", Mode::Predict, batch)
    }

    /// Asks Python once per pass (`hooks.needs_batch_hooks(mode)`).
    fn needs_every_batch(&self, mode: Mode) -> bool {
        let answer = Python::attach(|py| {
            self.hooks
                .call_method1(py, "needs_batch_hooks", (mode_name(mode),))?
                .extract::<bool>(py)
        });
        self.raised.keep(answer).unwrap_or(false)
    }
}
