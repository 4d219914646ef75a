//! The loops of `fit`, `evaluate` and `predict`: Keras's order of shuffling, batches,
//! validation and callback hooks, over the batch engine ([`Trainer`]). The Rust
//! [`super::Sequential`] and the Python package's models both run them.

use super::callbacks::{Callback, Control, History, Logs, Params};
use crate::error::Result;
use crate::tensor::Tensor;
use crate::train::{Dataset, Mode, Trainer};

/// Seconds of batches run between two hooks when no callback needs every batch: often
/// enough for a live progress bar, rarely enough to cost nothing.
const HOOK_SECONDS: f64 = 0.05;

/// Where a loop gets its batches: in-memory data ([`ArrayBatches`]) or, in the Python
/// package, batches that Python code makes.
pub trait Batches {
    /// Batches per pass; None runs until the source ends.
    fn steps(&self) -> Option<usize>;
    /// Starts the data anew (Keras's `EpochIterator.reset`): `fit` does once before its
    /// first epoch, each evaluation before its pass.
    fn reset(&mut self) {}
    /// Starts a pass (in a new random order, with `shuffle`).
    fn begin_epoch(&mut self, shuffle: bool) -> Result<()>;
    /// Runs up to `count` more batches through `trainer`, stopping early after
    /// `budget_s` seconds; returns how many ran (0 once the source has ended).
    fn run(
        &mut self,
        trainer: &mut Trainer,
        mode: Mode,
        count: usize,
        budget_s: f64,
    ) -> Result<usize>;
    /// Ends a pass.
    fn end_epoch(&mut self) -> Result<()> {
        Ok(())
    }
    /// Whether the source ran out of batches before it should have, so that training
    /// stops.
    fn exhausted(&self) -> bool {
        false
    }
    /// How many batches the data has left in this pass, when that is known: a pass
    /// ends at 0 without calling the next batch's begin hooks (as Keras's does).
    fn left_in_pass(&self) -> Option<usize> {
        None
    }
}

impl<B: Batches + ?Sized> Batches for &mut B {
    fn steps(&self) -> Option<usize> {
        (**self).steps()
    }
    fn reset(&mut self) {
        (**self).reset()
    }
    fn begin_epoch(&mut self, shuffle: bool) -> Result<()> {
        (**self).begin_epoch(shuffle)
    }
    fn run(
        &mut self,
        trainer: &mut Trainer,
        mode: Mode,
        count: usize,
        budget_s: f64,
    ) -> Result<usize> {
        (**self).run(trainer, mode, count, budget_s)
    }
    fn end_epoch(&mut self) -> Result<()> {
        (**self).end_epoch()
    }
    fn exhausted(&self) -> bool {
        (**self).exhausted()
    }
    fn left_in_pass(&self) -> Option<usize> {
        (**self).left_in_pass()
    }
}

/// In-memory rows, cut into batches of `batch_size` by the engine.
///
/// A pass runs every batch, in a new order (shuffled with `shuffle`), unless `steps`
/// is set (Keras's `steps_per_epoch`, `validation_steps` or `steps` for arrays): then a
/// pass runs the next `steps` batches of the current order, continuing where the last
/// pass stopped, as Keras does. A new order starts once every batch of the current one
/// has run; a pass that reaches the end of the order first runs short (Keras warns
/// that the input ran out of data, and goes on with the next epoch).
pub struct ArrayBatches<'a> {
    data: &'a mut Dataset,
    batch_size: usize,
    steps: Option<usize>,
    /// The next batch of the current order.
    next: usize,
}

impl<'a> ArrayBatches<'a> {
    /// All of `data`'s batches of `batch_size` rows per pass.
    pub fn new(data: &'a mut Dataset, batch_size: usize) -> Self {
        ArrayBatches {
            data,
            batch_size,
            steps: None,
            next: 0,
        }
    }

    /// `steps` batches per pass (None: all of them).
    pub fn with_steps(mut self, steps: Option<usize>) -> Self {
        self.steps = steps;
        self
    }
}

impl Batches for ArrayBatches<'_> {
    fn steps(&self) -> Option<usize> {
        Some(
            self.steps
                .unwrap_or_else(|| self.data.num_batches(self.batch_size)),
        )
    }

    fn reset(&mut self) {
        self.next = 0;
    }

    fn begin_epoch(&mut self, shuffle: bool) -> Result<()> {
        if self.next == 0 {
            self.data.shuffle(shuffle);
        }
        Ok(())
    }

    fn run(
        &mut self,
        trainer: &mut Trainer,
        mode: Mode,
        count: usize,
        budget_s: f64,
    ) -> Result<usize> {
        let (data, size, first) = (&*self.data, self.batch_size, self.next);
        let done = match mode {
            Mode::Predict => trainer.predict_batches(data, size, first, count, budget_s),
            _ => trainer.run_batches(mode, data, size, first, count, budget_s),
        }?;
        self.next += done;
        Ok(done)
    }

    fn end_epoch(&mut self) -> Result<()> {
        if self.steps.is_none() || self.next >= self.data.num_batches(self.batch_size) {
            self.next = 0;
        }
        Ok(())
    }

    fn left_in_pass(&self) -> Option<usize> {
        Some(
            self.data
                .num_batches(self.batch_size)
                .saturating_sub(self.next),
        )
    }
}

/// How [`fit_loop`] runs (Keras's `fit` arguments of the same names).
pub struct LoopOptions {
    /// The index of the last epoch.
    pub epochs: usize,
    /// The first epoch.
    pub initial_epoch: usize,
    /// Whether each epoch visits the training rows in a new order.
    pub shuffle: bool,
    /// Validate every this many epochs.
    pub validation_freq: usize,
}

/// How a fit ended.
pub struct FitOutcome {
    /// Each epoch's logs.
    pub history: History,
    /// The last epoch's logs.
    pub logs: Logs,
    /// Whether an epoch ran out of batches before its `steps` (Keras warns); training
    /// stops there when a stream of batches ended.
    pub ran_out: bool,
}

/// The running logs of the engine, sorted.
fn logs_of(trainer: &Trainer) -> Logs {
    trainer.logs().into_iter().collect()
}

/// Runs one pass of `mode` over `batches` (Keras's `_drive`): batch hooks per batch
/// when a callback needs them, else per group of batches. Returns the pass's logs, and
/// whether the source ran out before the pass's `steps`.
fn run_pass(
    trainer: &mut Trainer,
    batches: &mut dyn Batches,
    mode: Mode,
    callbacks: &mut [&mut dyn Callback],
    control: &mut Control,
) -> Result<(Logs, bool)> {
    let every_batch = callbacks.iter().any(|c| c.needs_every_batch(mode));
    let steps = batches.steps();
    let (mut step, mut logs) = (0, Logs::new());
    while steps.is_none_or(|s| step < s) {
        if batches.left_in_pass() == Some(0) {
            return Ok((logs, steps.is_some())); // the data ended before `steps`
        }
        if every_batch {
            for c in callbacks.iter_mut() {
                match mode {
                    Mode::Train => c.on_train_batch_begin(step, control)?,
                    Mode::Test => c.on_test_batch_begin(step, control)?,
                    Mode::Predict => c.on_predict_batch_begin(step, control)?,
                }
            }
        }
        let left = steps.map_or(usize::MAX, |s| s - step);
        let count = if every_batch { 1 } else { left };
        let done = batches.run(trainer, mode, count, HOOK_SECONDS)?;
        if done == 0 {
            return Ok((logs, steps.is_some())); // the source ended
        }
        step += done;
        if mode != Mode::Predict {
            logs = logs_of(trainer);
        }
        for c in callbacks.iter_mut() {
            match mode {
                Mode::Train => c.on_train_batch_end(step - 1, &logs, control)?,
                Mode::Test => c.on_test_batch_end(step - 1, &logs, control)?,
                Mode::Predict => c.on_predict_batch_end(step - 1, &logs, control)?,
            }
        }
        if mode == Mode::Train && control.stop_training {
            break;
        }
    }
    Ok((logs, false))
}

/// One pass over `batches` in test mode between the test hooks, with new running
/// metrics (the validation of `fit`, and Keras's `evaluate`). Returns its logs.
fn test_pass(
    trainer: &mut Trainer,
    batches: &mut dyn Batches,
    callbacks: &mut [&mut dyn Callback],
    control: &mut Control,
) -> Result<Logs> {
    trainer.reset_metrics();
    for c in callbacks.iter_mut() {
        c.on_test_begin(control)?;
    }
    batches.reset();
    batches.begin_epoch(false)?;
    let (logs, _) = run_pass(trainer, batches, Mode::Test, callbacks, control)?;
    batches.end_epoch()?;
    for c in callbacks.iter_mut() {
        c.on_test_end(&logs, control)?;
    }
    Ok(logs)
}

/// Keras's `evaluate`: one pass over `batches` between the test hooks.
pub fn evaluate_loop(
    trainer: &mut Trainer,
    batches: &mut dyn Batches,
    callbacks: &mut [&mut dyn Callback],
) -> Result<Logs> {
    let mut control = Control::over(&[]);
    test_pass(trainer, batches, callbacks, &mut control)
}

/// Keras's `predict`: one pass over `batches` in inference mode between the predict
/// hooks. Returns the outputs of every batch, in order, as one tensor.
pub fn predict_loop(
    trainer: &mut Trainer,
    batches: &mut dyn Batches,
    callbacks: &mut [&mut dyn Callback],
) -> Result<Tensor> {
    let mut control = Control::over(&[]);
    for c in callbacks.iter_mut() {
        c.on_predict_begin(&mut control)?;
    }
    batches.reset();
    batches.begin_epoch(false)?;
    run_pass(trainer, batches, Mode::Predict, callbacks, &mut control)?;
    batches.end_epoch()?;
    for c in callbacks.iter_mut() {
        c.on_predict_end(&mut control)?;
    }
    let (values, shape) = trainer.take_predictions();
    Tensor::from_vec(values, &shape)
}

/// Keras's `fit`: for each epoch from `initial_epoch`, new running metrics, a new pass
/// over `train`, then every `validation_freq` epochs a pass over `validation` (its logs
/// prefixed `val_`, between the test hooks); callbacks at each hook; stops early when a
/// callback asks or a stream runs out. Ends with the optimizer's final weights (the
/// averages, with `use_ema`), also when a batch fails.
pub fn fit_loop(
    trainer: &mut Trainer,
    train: &mut dyn Batches,
    validation: Option<&mut dyn Batches>,
    options: &LoopOptions,
    callbacks: &mut [&mut dyn Callback],
    weights: &[Tensor],
) -> Result<FitOutcome> {
    let outcome = epochs(trainer, train, validation, options, callbacks, weights);
    if options.epochs > 0 {
        trainer.finalize_variable_values()?;
    }
    let (outcome, mut control) = outcome?;
    for c in callbacks.iter_mut() {
        c.on_train_end(&outcome.logs, &mut control)?;
    }
    Ok(outcome)
}

fn epochs<'w>(
    trainer: &mut Trainer,
    train: &mut dyn Batches,
    mut validation: Option<&mut dyn Batches>,
    options: &LoopOptions,
    callbacks: &mut [&mut dyn Callback],
    weights: &'w [Tensor],
) -> Result<(FitOutcome, Control<'w>)> {
    let params = Params {
        epochs: options.epochs,
        initial_epoch: options.initial_epoch,
        steps: train.steps(),
    };
    let mut control = Control::over(weights);
    let mut outcome = FitOutcome {
        history: History::default(),
        logs: Logs::new(),
        ran_out: false,
    };
    for c in callbacks.iter_mut() {
        c.on_train_begin(&params, &mut control)?;
    }
    let first_epoch = control.resume_at.unwrap_or(options.initial_epoch);
    train.reset();
    for epoch in first_epoch..options.epochs {
        trainer.reset_metrics();
        for c in callbacks.iter_mut() {
            c.on_epoch_begin(epoch, &mut control)?;
        }
        train.begin_epoch(options.shuffle)?;
        let (mut logs, ran_short) = run_pass(trainer, train, Mode::Train, callbacks, &mut control)?;
        train.end_epoch()?;
        outcome.ran_out |= ran_short;
        if train.exhausted() {
            outcome.ran_out = true;
            break;
        }
        if let Some(val) = validation.as_deref_mut() {
            if (epoch + 1) % options.validation_freq.max(1) == 0 {
                let val_logs = test_pass(trainer, val, callbacks, &mut control)?;
                logs.extend(val_logs.into_iter().map(|(k, v)| (format!("val_{k}"), v)));
            }
        }
        for c in callbacks.iter_mut() {
            c.on_epoch_end(epoch, &logs, &mut control)?;
        }
        outcome.history.record(epoch, &logs);
        outcome.logs = logs;
        if control.stop_training {
            break;
        }
    }
    Ok((outcome, control))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Rows;
    use std::sync::Arc;

    /// With `steps`, each pass takes the next batches of the order, running short at
    /// its end, and the next pass starts a new order; `reset` starts anew.
    #[test]
    fn array_steps_continue_across_passes() {
        let rows: Vec<f32> = (0..10).map(|i| i as f32).collect();
        let mut data =
            Dataset::new(Rows::new(Arc::new(rows), &[10, 1]).unwrap(), None, None).unwrap();
        let mut trainer = Trainer::new(
            vec![Arc::new(crate::nn::Identity)],
            vec![],
            None,
            None,
            vec![],
        );
        let mut batches = ArrayBatches::new(&mut data, 2).with_steps(Some(2));
        let pass = |batches: &mut ArrayBatches<'_>, trainer: &mut Trainer| {
            batches.begin_epoch(false).unwrap();
            let (_, short) = run_pass(
                trainer,
                batches,
                Mode::Predict,
                &mut [],
                &mut Control::over(&[]),
            )
            .unwrap();
            batches.end_epoch().unwrap();
            (trainer.take_predictions().0, short)
        };
        assert_eq!(
            pass(&mut batches, &mut trainer),
            (vec![0.0, 1.0, 2.0, 3.0], false)
        );
        assert_eq!(
            pass(&mut batches, &mut trainer),
            (vec![4.0, 5.0, 6.0, 7.0], false)
        );
        assert_eq!(pass(&mut batches, &mut trainer), (vec![8.0, 9.0], true));
        assert_eq!(
            pass(&mut batches, &mut trainer),
            (vec![0.0, 1.0, 2.0, 3.0], false)
        );
        batches.reset();
        assert_eq!(
            pass(&mut batches, &mut trainer),
            (vec![0.0, 1.0, 2.0, 3.0], false)
        );
        let mut all = ArrayBatches::new(batches.data, 4);
        assert_eq!(all.steps(), Some(3));
        assert_eq!(pass(&mut all, &mut trainer).0.len(), 10);
    }
}
