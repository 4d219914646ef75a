//! The epoch loop of `fit`: Keras's order of shuffling, batches, validation and
//! callback hooks, over the batch engine ([`Trainer`]).

use super::callbacks::{Callback, Control, History, Logs, Params};
use crate::error::Result;
use crate::tensor::Tensor;
use crate::train::{Dataset, Mode, Trainer};

/// Seconds of batches run between two hooks when no callback needs every batch: often
/// enough for a live progress bar, rarely enough to cost nothing.
const HOOK_SECONDS: f64 = 0.05;

/// How [`fit_loop`] runs.
pub(crate) struct LoopOptions {
    pub epochs: usize,
    pub initial_epoch: usize,
    pub batch_size: usize,
    pub shuffle: bool,
}

/// The running logs of the engine, sorted, with `prefix` before each name.
fn logs_of(trainer: &Trainer, prefix: &str) -> Logs {
    trainer
        .logs()
        .into_iter()
        .map(|(name, value)| (format!("{prefix}{name}"), value))
        .collect()
}

/// Keras's `fit` over in-memory data: for each epoch from `initial_epoch`, new running
/// metrics, a new order of the rows (when `shuffle`), every batch, then the validation
/// data (its logs prefixed `val_`); callbacks at each hook; stops early when a callback
/// asks. Ends with the optimizer's final weights (the averages, with `use_ema`).
pub(crate) fn fit_loop(
    trainer: &mut Trainer,
    train: &mut Dataset,
    mut validation: Option<&mut Dataset>,
    options: &LoopOptions,
    callbacks: &mut [&mut dyn Callback],
    weights: &[Tensor],
) -> Result<History> {
    let steps = train.num_batches(options.batch_size);
    let params = Params {
        epochs: options.epochs,
        initial_epoch: options.initial_epoch,
        steps,
    };
    let every_batch = callbacks.iter().any(|c| c.needs_every_batch());
    let mut control = Control {
        stop_training: false,
        weights,
    };
    let mut history = History::default();
    for c in callbacks.iter_mut() {
        c.on_train_begin(&params, &mut control)?;
    }
    let mut logs = Logs::new();
    for epoch in options.initial_epoch..options.epochs {
        trainer.reset_metrics();
        for c in callbacks.iter_mut() {
            c.on_epoch_begin(epoch, &mut control)?;
        }
        train.shuffle(options.shuffle);
        let mut done = 0;
        while done < steps && !control.stop_training {
            let count = if every_batch { 1 } else { steps - done };
            let budget = if every_batch {
                f64::INFINITY
            } else {
                HOOK_SECONDS
            };
            done +=
                trainer.run_batches(Mode::Train, train, options.batch_size, done, count, budget)?;
            let running = logs_of(trainer, "");
            for c in callbacks.iter_mut() {
                c.on_train_batch_end(done - 1, &running, &mut control)?;
            }
        }
        logs = logs_of(trainer, "");
        if let Some(val) = validation.as_deref_mut() {
            trainer.reset_metrics();
            val.shuffle(false);
            let val_steps = val.num_batches(options.batch_size);
            trainer.run_batches(
                Mode::Test,
                val,
                options.batch_size,
                0,
                val_steps,
                f64::INFINITY,
            )?;
            logs.extend(logs_of(trainer, "val_"));
        }
        for c in callbacks.iter_mut() {
            c.on_epoch_end(epoch, &logs, &mut control)?;
        }
        history.record(epoch, &logs);
        if control.stop_training {
            break;
        }
    }
    if options.epochs > 0 {
        trainer.finalize_variable_values()?;
    }
    for c in callbacks.iter_mut() {
        c.on_train_end(&logs, &mut control)?;
    }
    Ok(history)
}
