//! Callbacks: code that runs at Keras's hook points of `fit`, with the logs of the
//! moment. [`History`] records every fit; [`ProgressBar`] and [`EarlyStopping`] are the
//! two a Rust user reaches for first.

use crate::error::Result;
use crate::tensor::Tensor;
use crate::train::Mode;
use std::collections::BTreeMap;

/// Named values at a hook point: the running `loss` and metrics of the epoch so far,
/// and after validation the same with a `val_` prefix. Sorted by name, as Keras's.
pub type Logs = BTreeMap<String, f64>;

/// What a callback may change in the model being trained.
pub struct Control<'a> {
    /// Set to stop training at the end of the current batch or epoch.
    pub stop_training: bool,
    /// The model's weights (variables), in the model's order.
    pub weights: &'a [Tensor],
    /// Set in `on_train_begin` to start at another epoch than `initial_epoch` (a
    /// callback that resumes an interrupted fit, like Keras's BackupAndRestore).
    pub resume_at: Option<usize>,
}

impl<'a> Control<'a> {
    /// The control of a loop over a model of `weights`, nothing asked yet.
    pub fn over(weights: &'a [Tensor]) -> Self {
        Control {
            stop_training: false,
            weights,
            resume_at: None,
        }
    }
}

/// Code run at Keras's hook points. Every hook does nothing unless overridden.
///
/// ```
/// use kandle::prelude::*;
/// /// Stops training once the loss is below a bound.
/// struct LossBelow(f64);
/// impl Callback for LossBelow {
///     fn on_epoch_end(&mut self, _epoch: usize, logs: &Logs, control: &mut Control) -> kandle::Result<()> {
///         control.stop_training |= logs["loss"] < self.0;
///         Ok(())
///     }
/// }
/// ```
#[allow(unused_variables)]
pub trait Callback {
    /// Before the first epoch, with the number of epochs and of batches per epoch.
    fn on_train_begin(&mut self, params: &Params, control: &mut Control) -> Result<()> {
        Ok(())
    }
    /// After the last epoch, with the last epoch's logs.
    fn on_train_end(&mut self, logs: &Logs, control: &mut Control) -> Result<()> {
        Ok(())
    }
    /// Before each epoch (0-based).
    fn on_epoch_begin(&mut self, epoch: usize, control: &mut Control) -> Result<()> {
        Ok(())
    }
    /// After each epoch, with its training and validation logs.
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, control: &mut Control) -> Result<()> {
        Ok(())
    }
    /// Before training batch `batch` (0-based within the epoch); called only when a
    /// callback [`needs_every_batch`](Callback::needs_every_batch).
    fn on_train_batch_begin(&mut self, batch: usize, control: &mut Control) -> Result<()> {
        Ok(())
    }
    /// After training batch `batch`, with the running logs. Called once per group of
    /// batches unless a callback [`needs_every_batch`](Callback::needs_every_batch).
    fn on_train_batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        control: &mut Control,
    ) -> Result<()> {
        Ok(())
    }
    /// Before a validation pass.
    fn on_test_begin(&mut self, control: &mut Control) -> Result<()> {
        Ok(())
    }
    /// After a validation pass, with its logs (without the `val_` prefix).
    fn on_test_end(&mut self, logs: &Logs, control: &mut Control) -> Result<()> {
        Ok(())
    }
    /// Before validation batch `batch`, as [`Callback::on_train_batch_begin`].
    fn on_test_batch_begin(&mut self, batch: usize, control: &mut Control) -> Result<()> {
        Ok(())
    }
    /// After validation batch `batch`, as [`Callback::on_train_batch_end`].
    fn on_test_batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        control: &mut Control,
    ) -> Result<()> {
        Ok(())
    }
    /// Before `predict`'s pass.
    fn on_predict_begin(&mut self, control: &mut Control) -> Result<()> {
        Ok(())
    }
    /// After `predict`'s pass.
    fn on_predict_end(&mut self, control: &mut Control) -> Result<()> {
        Ok(())
    }
    /// Before prediction batch `batch`, as [`Callback::on_train_batch_begin`].
    fn on_predict_batch_begin(&mut self, batch: usize, control: &mut Control) -> Result<()> {
        Ok(())
    }
    /// After prediction batch `batch` (its logs are empty), as
    /// [`Callback::on_train_batch_end`].
    fn on_predict_batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        control: &mut Control,
    ) -> Result<()> {
        Ok(())
    }
    /// Whether the batch hooks of `mode` must see every batch. When no callback needs
    /// it, batches run in groups of about 50 ms between hooks.
    fn needs_every_batch(&self, mode: Mode) -> bool {
        false
    }
}

/// What `fit` tells callbacks when it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// The index of the last epoch (Keras's `epochs`).
    pub epochs: usize,
    /// The first epoch's index (Keras's `initial_epoch`).
    pub initial_epoch: usize,
    /// Batches per epoch (None for a stream that runs until it ends).
    pub steps: Option<usize>,
}

/// The record of a fit: each epoch's logs, by name (Keras's `History.history`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The indices of the epochs that ran.
    pub epochs: Vec<usize>,
    /// For each log name, its value at the end of each epoch that ran.
    pub history: BTreeMap<String, Vec<f64>>,
}

impl History {
    /// Appends one epoch's logs.
    pub(crate) fn record(&mut self, epoch: usize, logs: &Logs) {
        self.epochs.push(epoch);
        for (name, value) in logs {
            self.history.entry(name.clone()).or_default().push(*value);
        }
    }

    /// The values of `name` by epoch (empty when it was never logged).
    pub fn get(&self, name: &str) -> &[f64] {
        self.history.get(name).map_or(&[], Vec::as_slice)
    }
}

/// Stops training when a monitored value has stopped improving (Keras's
/// `EarlyStopping`, with its defaults: `val_loss`, `min_delta` 0, `patience` 0).
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    /// The log to watch, e.g. `"val_loss"` or `"accuracy"`.
    pub monitor: String,
    /// The smallest change that counts as an improvement.
    pub min_delta: f64,
    /// Epochs without improvement after which training stops.
    pub patience: usize,
    /// Whether larger values are better; by default, only for names containing
    /// `acc`, `auc`, `precision`, `recall` or `f1` (Keras's `mode="auto"`).
    pub maximize: bool,
    /// Put back the best epoch's weights when stopping.
    pub restore_best_weights: bool,
    best: Option<f64>,
    wait: usize,
    best_weights: Vec<Vec<f32>>,
    /// The epoch training stopped at, if it did.
    pub stopped_epoch: Option<usize>,
}

impl EarlyStopping {
    /// Watches `monitor` with Keras's defaults.
    pub fn new(monitor: &str) -> Self {
        let maximize = ["acc", "auc", "precision", "recall", "f1"]
            .iter()
            .any(|k| monitor.contains(k))
            && !monitor.ends_with("loss");
        EarlyStopping {
            monitor: monitor.to_string(),
            min_delta: 0.0,
            patience: 0,
            maximize,
            restore_best_weights: false,
            best: None,
            wait: 0,
            best_weights: Vec::new(),
            stopped_epoch: None,
        }
    }

    /// Sets the patience.
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }

    /// Sets the smallest change counted as an improvement.
    pub fn min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta.abs();
        self
    }

    /// Restores the best epoch's weights when training stops.
    pub fn restore_best_weights(mut self, restore: bool) -> Self {
        self.restore_best_weights = restore;
        self
    }

    fn improved(&self, value: f64) -> bool {
        match self.best {
            None => true,
            Some(best) if self.maximize => value - self.min_delta > best,
            Some(best) => value + self.min_delta < best,
        }
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _params: &Params, _control: &mut Control) -> Result<()> {
        self.best = None;
        self.wait = 0;
        self.stopped_epoch = None;
        self.best_weights.clear();
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, control: &mut Control) -> Result<()> {
        // As Keras, a missing value (no validation this epoch) changes nothing.
        let Some(&value) = logs.get(&self.monitor) else {
            return Ok(());
        };
        self.wait += 1;
        if self.improved(value) {
            self.best = Some(value);
            self.wait = 0;
            if self.restore_best_weights {
                self.best_weights = control.weights.iter().map(Tensor::to_vec).collect();
            }
            return Ok(());
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            control.stop_training = true;
            if self.restore_best_weights && !self.best_weights.is_empty() {
                for (w, best) in control.weights.iter().zip(&self.best_weights) {
                    w.assign(best)?;
                }
            }
        }
        Ok(())
    }
}

/// Keras's progress bar for `fit`: `Epoch 1/5`, then the batches done, the time and
/// the running logs. It draws only in a terminal and is silent otherwise.
pub struct ProgressBar {
    bar: Option<indicatif::ProgressBar>,
    started: std::time::Instant,
    epochs: usize,
    steps: Option<usize>,
    hidden: bool,
}

impl ProgressBar {
    /// A progress bar on standard error, hidden when that is not a terminal.
    pub fn new() -> Self {
        ProgressBar {
            bar: None,
            started: std::time::Instant::now(),
            epochs: 0,
            steps: None,
            hidden: !std::io::IsTerminal::is_terminal(&std::io::stderr()),
        }
    }

    /// Keras's tail of the bar: the time per step, then each log.
    fn message(&self, done: usize, logs: &Logs) -> String {
        let per_step = self.started.elapsed().as_secs_f64() / done.max(1) as f64;
        let time = if per_step >= 1.0 {
            format!("{per_step:.0}s/step")
        } else if per_step >= 1e-3 {
            format!("{:.0}ms/step", per_step * 1e3)
        } else {
            format!("{:.0}us/step", per_step * 1e6)
        };
        let mut parts = vec![time];
        parts.extend(
            logs.iter()
                .map(|(name, value)| format!("{name}: {value:.4}")),
        );
        parts.join(" - ")
    }
}

impl Default for ProgressBar {
    fn default() -> Self {
        ProgressBar::new()
    }
}

impl Callback for ProgressBar {
    fn on_train_begin(&mut self, params: &Params, _control: &mut Control) -> Result<()> {
        self.epochs = params.epochs;
        self.steps = params.steps;
        Ok(())
    }

    fn on_epoch_begin(&mut self, epoch: usize, _control: &mut Control) -> Result<()> {
        if self.hidden {
            return Ok(());
        }
        eprintln!("Epoch {}/{}", epoch + 1, self.epochs);
        let bar = match self.steps {
            Some(steps) => indicatif::ProgressBar::new(steps as u64),
            None => indicatif::ProgressBar::no_length(),
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template("{pos}/{len} {bar:20} {elapsed} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("━━ "),
        );
        self.bar = Some(bar);
        self.started = std::time::Instant::now();
        Ok(())
    }

    fn on_train_batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        _control: &mut Control,
    ) -> Result<()> {
        if let Some(bar) = &self.bar {
            bar.set_position(batch as u64 + 1);
            bar.set_message(self.message(batch + 1, logs));
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, _epoch: usize, logs: &Logs, _control: &mut Control) -> Result<()> {
        if let Some(bar) = self.bar.take() {
            let done = bar.position() as usize;
            bar.finish_with_message(self.message(done, logs));
            eprintln!();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs(value: f64) -> Logs {
        Logs::from([("val_loss".to_string(), value)])
    }

    /// Keras's rule: stop once `patience` epochs in a row fail to improve on the best.
    #[test]
    fn early_stopping_waits_patience_epochs() {
        let w = Tensor::<f32>::from_vec(vec![1.0], &[1])
            .unwrap()
            .to_variable();
        let weights = [w.clone()];
        let mut stop = EarlyStopping::new("val_loss")
            .patience(2)
            .restore_best_weights(true);
        assert!(!stop.maximize);
        let mut control = Control::over(&weights);
        let params = Params {
            epochs: 9,
            initial_epoch: 0,
            steps: Some(1),
        };
        stop.on_train_begin(&params, &mut control).unwrap();
        let mut stopped_at = None;
        for (epoch, value) in [3.0, 2.0, 2.5, 2.1, 1.0].into_iter().enumerate() {
            w.assign(&[epoch as f32]).unwrap();
            stop.on_epoch_end(epoch, &logs(value), &mut control)
                .unwrap();
            if control.stop_training {
                stopped_at = Some(epoch);
                break;
            }
        }
        assert_eq!(stopped_at, Some(3));
        // The best epoch (1) had weight 1.0.
        assert_eq!(w.to_vec(), vec![1.0]);
        assert!(EarlyStopping::new("val_accuracy").maximize);
    }

    #[test]
    fn history_records_each_epoch() {
        let mut h = History::default();
        h.record(0, &logs(2.0));
        h.record(1, &logs(1.0));
        assert_eq!(h.get("val_loss"), [2.0, 1.0]);
        assert_eq!(h.epochs, [0, 1]);
        assert!(h.get("loss").is_empty());
    }
}
