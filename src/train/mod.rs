//! The batch loop of `fit`, `evaluate` and `predict`, run without Python.
//!
//! Python (the Keras front end) owns configuration, callbacks and the progress bar. It
//! asks a [`Trainer`] to run batches until a time budget or a batch count is spent,
//! then reads the running logs.

mod dataset;
pub mod interrupt;

pub use dataset::{Dataset, Rows};

use crate::bail;
use crate::error::Result;
use crate::losses::Loss;
use crate::metrics::Metric;
use crate::nn::Layer;
use crate::optim::Optimizer;
use crate::tensor::Tensor;
use crate::{grad, no_grad};
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// A shared metric: the Python object and the training loop update the same state.
pub type SharedMetric = Arc<Mutex<Box<dyn Metric>>>;

/// A metric as `compile` placed it: in `metrics`, which ignore sample and class
/// weights, or in `weighted_metrics`, which use them (Keras's rule).
pub struct CompiledMetric {
    /// The name in the logs.
    pub name: String,
    /// The metric's state, shared with its Python object.
    pub metric: SharedMetric,
    /// Whether the metric takes sample weights (it came from `weighted_metrics`).
    pub weighted: bool,
}

/// Keras's loss tracker: the mean of batch losses weighted by batch size.
#[derive(Default, Clone, Copy, Debug)]
struct RunningMean {
    total: f64,
    count: f64,
}

impl RunningMean {
    fn add(&mut self, value: f64, weight: f64) {
        self.total += value * weight;
        self.count += weight;
    }
    fn value(&self) -> f64 {
        if self.count == 0.0 {
            0.0
        } else {
            self.total / self.count
        }
    }
}

/// One output of a model of several outputs (a functional model): its loss, the
/// loss's weight in the total, and the per-sample shape of its targets. Targets come
/// packed side by side in one `(batch, total)` array, in output order.
pub struct OutputHead {
    /// Keras's name of the output (its layer's name): the logs name its loss
    /// `<name>_loss`.
    pub name: String,
    /// The output's loss; None leaves the output untrained (Keras's `loss=None` entry).
    pub loss: Option<Arc<dyn TrainingLoss>>,
    /// The loss's factor in the total loss (Keras's `loss_weights`).
    pub weight: f64,
    /// The shape of one sample's targets.
    pub target_shape: Vec<usize>,
}

/// The outputs of a model of several outputs, and which output each metric reads.
struct Heads {
    outputs: Vec<OutputHead>,
    /// The output each of the trainer's metrics reads, by metric index.
    metric_outputs: Vec<usize>,
    /// The running mean of each output's unweighted loss (for outputs with a loss).
    trackers: Vec<RunningMean>,
}

/// What training minimizes: a scalar from the targets, the model's output and the
/// sample weights, recorded so that gradients reach `y_pred`. A built-in [`Loss`] is
/// one; the Python package adds losses written in Python.
pub trait TrainingLoss: Send + Sync {
    /// The reduced loss of one batch.
    fn call(
        &self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<Tensor>;
}

impl TrainingLoss for Loss {
    fn call(
        &self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<Tensor> {
        Loss::call(self, y_true, y_pred, sample_weight)
    }
}

/// A compiled model: its layers (a stack, or one graph), loss, optimizer and metrics.
pub struct Trainer {
    layers: Vec<Arc<dyn Layer>>,
    trainable: Vec<Tensor>,
    loss: Option<Arc<dyn TrainingLoss>>,
    optimizer: Option<Arc<Mutex<Optimizer>>>,
    metrics: Vec<CompiledMetric>,
    loss_tracker: RunningMean,
    /// Set for a model of several outputs, whose last layer gives them all.
    heads: Option<Heads>,
    /// Rows of predictions gathered so far by [`Trainer::predict_batches`].
    predictions: Vec<f32>,
    prediction_shape: Vec<usize>,
    /// Rows that [`Trainer::predict_batches`] sends through the model at once, found
    /// on its first call.
    predict_rows: Option<usize>,
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Rows that `predict` sends through the model at once, whatever its batch size.
const PREDICT_ROWS: usize = 2048;

/// Elements (8 MiB of f32) of the widest layer output of a block of `predict` rows: a
/// model whose layers widen each row (an image model's feature maps) predicts in
/// fewer rows at a time, so that each output is read back from the caches rather
/// than from fresh memory.
const PREDICT_ELEMENTS: usize = 1 << 21;

/// Runs `step` on up to `max_batches` batches from batch `first`, `group` consecutive
/// batches at a time, each first copied out of the data by `gather`; stops early once
/// `budget_s` seconds have passed. Returns how many batches ran.
///
/// Batches too small to be gathered on several cores (see
/// [`crate::kernels::parallel::GATHER_PAR_THRESHOLD`]) are gathered one ahead, on another core
/// while the current batch runs: gathering shuffled rows waits on memory, and at batch
/// 32 on 784 features it took a tenth of the step (whose products then run on one
/// core). Larger batches are gathered on all cores at the start of their step: run
/// ahead, their gather took the other core from the step's parallel products.
#[allow(clippy::too_many_arguments)]
fn for_batches<B: Send>(
    data: &Dataset,
    batch_size: usize,
    group: usize,
    first: usize,
    max_batches: usize,
    budget_s: f64,
    gather: impl Fn(Range<usize>) -> Result<B> + Sync,
    mut step: impl FnMut(B) -> Result<()> + Send,
) -> Result<usize> {
    let start = Instant::now();
    let steps = data
        .num_batches(batch_size)
        .saturating_sub(first)
        .min(max_batches);
    if steps == 0 {
        return Ok(0);
    }
    let group = group.max(1);
    let per_row: usize = data.x().shape()[1..].iter().product();
    let ahead = batch_size * group * per_row < crate::kernels::parallel::GATHER_PAR_THRESHOLD;
    // The batches from `done` on that run together, and their rows.
    let next = |done: usize| {
        let count = group.min(steps - done);
        let rows = data.batch_rows(batch_size, first + done).start
            ..data.batch_rows(batch_size, first + done + count - 1).end;
        (count, rows)
    };
    // The loop runs on a worker of the pool, so the parallel parts of each step start
    // without a hand-off from this (foreign) thread, and the other workers poll for them.
    crate::kernels::parallel::run_hot(|| {
        let (mut count, rows) = next(0);
        let mut batch = gather(rows)?;
        let mut done = 0;
        loop {
            let after = done + count;
            let gather_next = || {
                (after < steps).then(|| {
                    let (count, rows) = next(after);
                    gather(rows).map(|b| (count, b))
                })
            };
            let gathered = if ahead {
                let (ran, gathered) = rayon::join(|| step(batch), gather_next);
                ran?;
                gathered
            } else {
                step(batch)?;
                gather_next()
            };
            done = after;
            interrupt::check()?;
            match gathered {
                Some(g) if start.elapsed().as_secs_f64() < budget_s => (count, batch) = g?,
                _ => return Ok(done),
            }
        }
    })
}

/// Which loop a batch runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `fit`'s loop: gradients and optimizer steps.
    Train,
    /// `evaluate`'s loop: losses and metrics only.
    Test,
    /// `predict`'s loop: outputs only, gathered by the trainer.
    Predict,
}

impl Trainer {
    /// A trainer over `layers`, updating `trainable`; `loss` and `optimizer` are None until
    /// the model is compiled.
    pub fn new(
        layers: Vec<Arc<dyn Layer>>,
        trainable: Vec<Tensor>,
        loss: Option<Arc<dyn TrainingLoss>>,
        optimizer: Option<Arc<Mutex<Optimizer>>>,
        metrics: Vec<CompiledMetric>,
    ) -> Self {
        Trainer {
            layers,
            trainable,
            loss,
            optimizer,
            metrics,
            loss_tracker: RunningMean::default(),
            heads: None,
            predictions: Vec::new(),
            prediction_shape: Vec::new(),
            predict_rows: None,
        }
    }

    /// Makes this the trainer of a model of several `outputs` (given by its last layer's
    /// [`Layer::forward_outputs`]), whose targets come packed side by side; metric `i`
    /// reads output `metric_outputs[i]`. The compiled loss is then unused: each output
    /// has its own.
    pub fn set_outputs(
        &mut self,
        outputs: Vec<OutputHead>,
        metric_outputs: Vec<usize>,
    ) -> Result<()> {
        if metric_outputs.len() != self.metrics.len()
            || metric_outputs.iter().any(|&o| o >= outputs.len())
        {
            bail!(
                InvalidArgument,
                "expected one output index below {} for each of the {} metrics, got {metric_outputs:?}",
                outputs.len(),
                self.metrics.len()
            );
        }
        let trackers = vec![RunningMean::default(); outputs.len()];
        self.heads = Some(Heads {
            outputs,
            metric_outputs,
            trackers,
        });
        Ok(())
    }

    /// All the model's outputs for `x`.
    fn forward_outputs(&self, x: &Tensor, training: bool) -> Result<Vec<Tensor>> {
        self.begin_batch()?;
        match self.layers.split_last() {
            Some((last, rest)) => {
                let h = rest
                    .iter()
                    .try_fold(x.clone(), |h, layer| layer.forward(&h, training))?;
                last.forward_outputs(&h, training)
            }
            None => Ok(vec![x.clone()]),
        }
    }

    /// The model's output for `x`.
    pub fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        self.begin_batch()?;
        self.layers
            .iter()
            .try_fold(x.clone(), |h, layer| layer.forward(&h, training))
    }

    /// Tells the layers that a batch starts ([`Layer::begin_batch`]).
    fn begin_batch(&self) -> Result<()> {
        self.layers.iter().try_for_each(|layer| layer.begin_batch())
    }

    /// The compiled loss plus the layers' regularization penalties.
    fn total_loss(
        &self,
        y: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<Tensor> {
        let Some(loss) = &self.loss else {
            bail!(
                InvalidArgument,
                "the model has no loss: pass `loss` to compile()"
            );
        };
        let total = loss.call(y, y_pred, sample_weight)?;
        self.add_regularization(total)
    }

    /// `total` plus the layers' regularization penalties.
    fn add_regularization(&self, mut total: Tensor) -> Result<Tensor> {
        for layer in &self.layers {
            if let Some(penalty) = layer.regularization()? {
                total = total.add(&penalty)?;
            }
        }
        Ok(total)
    }

    /// One step on one batch: forward, loss, and in training the gradient update.
    /// Updates the loss tracker and the metrics.
    pub fn step(
        &mut self,
        mode: Mode,
        x: &Tensor,
        y: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        if mode == Mode::Predict {
            bail!(
                InvalidArgument,
                "a prediction batch has no loss to step on: predict with `predict_step`"
            );
        }
        if self.heads.is_some() {
            return self.step_outputs(mode, x, y, sample_weight);
        }
        let batch = x.shape().first().copied().unwrap_or(1) as f64;
        let (loss, grads) = match mode {
            Mode::Train => {
                let optimizer = self.compiled_optimizer()?;
                let y_pred = self.forward(x, true)?;
                let loss = self.total_loss(y, &y_pred, sample_weight)?;
                let grads = self.gradients(&optimizer, &loss)?;
                self.update_metrics(y, &y_pred, sample_weight)?;
                // The graph (loss, y_pred) is dropped here, before the optimizer writes
                // the weights, so that no forward-time copy of them is kept.
                (loss.item()?, Some((optimizer, grads)))
            }
            Mode::Test | Mode::Predict => no_grad(|| {
                let y_pred = self.forward(x, false)?;
                let loss = self.total_loss(y, &y_pred, sample_weight)?.item()?;
                self.update_metrics(y, &y_pred, sample_weight)?;
                Ok::<_, crate::Error>((loss, None))
            })?,
        };
        self.finish_step(loss, grads, batch)
    }

    /// The end of a step: the weight update (training), then the loss tracker.
    fn finish_step(
        &mut self,
        loss: f32,
        grads: Option<(Arc<Mutex<Optimizer>>, Vec<Tensor>)>,
        batch: f64,
    ) -> Result<()> {
        if let Some((optimizer, grads)) = grads {
            // A non-finite loss has non-finite gradients: skipping its update keeps the
            // weights at their last finite values, so a model that TerminateOnNaN (or
            // the user) stops is still usable. Keras writes the NaN in.
            if loss.is_finite() {
                lock(&optimizer).apply(&grads, &self.trainable)?;
            }
        }
        self.loss_tracker.add(loss as f64, batch);
        Ok(())
    }

    /// The optimizer `compile` gave, which training needs.
    fn compiled_optimizer(&self) -> Result<Arc<Mutex<Optimizer>>> {
        match &self.optimizer {
            Some(optimizer) => Ok(optimizer.clone()),
            None => bail!(
                InvalidArgument,
                "the model has no optimizer: call compile() first"
            ),
        }
    }

    /// The gradients of `loss` for the trainable weights. Keras scales the loss for the
    /// gradients only (`loss_scale_factor`); the optimizer divides them back.
    fn gradients(&self, optimizer: &Mutex<Optimizer>, loss: &Tensor) -> Result<Vec<Tensor>> {
        match lock(optimizer).loss_scale_factor() {
            Some(s) => grad(&loss.mul(&Tensor::scalar(s as f32))?, &self.trainable),
            None => grad(loss, &self.trainable),
        }
    }

    /// [`Trainer::step`] for a model of several outputs: each output's loss on its
    /// columns of the packed targets, weighted and summed (Keras's `CompileLoss`).
    fn step_outputs(
        &mut self,
        mode: Mode,
        x: &Tensor,
        y: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        let batch = x.shape().first().copied().unwrap_or(1);
        let heads = self.heads.as_ref().expect("step_outputs runs with heads");
        let shapes: Vec<Vec<usize>> = heads
            .outputs
            .iter()
            .map(|h| h.target_shape.clone())
            .collect();
        let width: usize = shapes.iter().map(|s| s.iter().product::<usize>()).sum();
        let y = y.reshape(&[batch, width]).map_err(|_| {
            crate::Error::Shape(format!(
                "the targets of the model's {} outputs arrive packed as ({batch}, {width}), got shape {}",
                shapes.len(),
                crate::error::fmt_shape(y.shape())
            ))
        })?;
        let ys = crate::nn::graph::split_columns(&y, &shapes)?;
        // The total loss and each output's unweighted loss.
        let losses = |outputs: &[Tensor]| -> Result<(Tensor, Vec<Option<f64>>)> {
            if outputs.len() != ys.len() {
                bail!(
                    InvalidArgument,
                    "the model gives {} outputs, but the trainer has {} heads",
                    outputs.len(),
                    ys.len()
                );
            }
            let mut total: Option<Tensor> = None;
            let mut values = Vec::with_capacity(ys.len());
            for ((head, y_true), y_pred) in heads.outputs.iter().zip(&ys).zip(outputs) {
                let Some(loss) = &head.loss else {
                    values.push(None);
                    continue;
                };
                let value = loss.call(y_true, y_pred, sample_weight)?;
                values.push(Some(no_grad(|| value.item())? as f64));
                let weighted = value.mul(&Tensor::scalar(head.weight as f32))?;
                total = Some(match total {
                    Some(t) => t.add(&weighted)?,
                    None => weighted,
                });
            }
            let Some(total) = total else {
                bail!(
                    InvalidArgument,
                    "the model has no loss for any output: pass `loss` to compile()"
                );
            };
            Ok((self.add_regularization(total)?, values))
        };
        let (loss, values, grads) = match mode {
            Mode::Train => {
                let optimizer = self.compiled_optimizer()?;
                let outputs = self.forward_outputs(x, true)?;
                let (loss, values) = losses(&outputs)?;
                let grads = self.gradients(&optimizer, &loss)?;
                self.update_output_metrics(&ys, &outputs, sample_weight)?;
                (loss.item()?, values, Some((optimizer, grads)))
            }
            Mode::Test | Mode::Predict => no_grad(|| {
                let outputs = self.forward_outputs(x, false)?;
                let (loss, values) = losses(&outputs)?;
                self.update_output_metrics(&ys, &outputs, sample_weight)?;
                Ok::<_, crate::Error>((loss.item()?, values, None))
            })?,
        };
        self.finish_step(loss, grads, batch as f64)?;
        let heads = self.heads.as_mut().expect("step_outputs runs with heads");
        for (tracker, value) in heads.trackers.iter_mut().zip(values) {
            if let Some(v) = value {
                tracker.add(v, batch as f64);
            }
        }
        Ok(())
    }

    /// Feeds one batch to the metrics of a model of several outputs, each metric its
    /// output's targets and predictions.
    fn update_output_metrics(
        &self,
        ys: &[Tensor],
        outputs: &[Tensor],
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        let heads = self.heads.as_ref().expect("called with heads");
        no_grad(|| {
            for (m, &o) in self.metrics.iter().zip(&heads.metric_outputs) {
                let weight = if m.weighted { sample_weight } else { None };
                lock(&m.metric).update(&ys[o], &outputs[o], weight)?;
            }
            Ok(())
        })
    }

    /// Feeds one batch to the metrics: sample weights reach only the weighted ones.
    fn update_metrics(
        &self,
        y: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        no_grad(|| {
            for m in &self.metrics {
                let weight = if m.weighted { sample_weight } else { None };
                lock(&m.metric).update(y, y_pred, weight)?;
            }
            Ok(())
        })
    }

    /// Runs up to `max_batches` batches of `data` from batch `first`, stopping early
    /// once `budget_s` seconds have passed. Returns how many batches ran.
    pub fn run_batches(
        &mut self,
        mode: Mode,
        data: &Dataset,
        batch_size: usize,
        first: usize,
        max_batches: usize,
        budget_s: f64,
    ) -> Result<usize> {
        let Some(y_all) = data.y() else {
            bail!(
                InvalidArgument,
                "targets `y` are required to train or evaluate"
            );
        };
        let gather = |rows: Range<usize>| {
            let x = data.gather(data.x(), &rows)?;
            let y = data.gather(y_all, &rows)?;
            let sw = data
                .sample_weight()
                .map(|w| data.gather(w, &rows))
                .transpose()?;
            Ok((x, y, sw))
        };
        for_batches(
            data,
            batch_size,
            1,
            first,
            max_batches,
            budget_s,
            gather,
            |(x, y, sw)| self.step(mode, &x, &y, sw.as_ref()),
        )
    }

    /// Appends the predictions for up to `max_batches` batches from batch `first`
    /// (in data order); stops early after `budget_s` seconds. Returns batches run.
    ///
    /// In inference every layer maps each row on its own, so consecutive batches go
    /// through the model together, `PREDICT_ROWS` rows at a time: larger products run
    /// nearer the machine's peak (see `benchmarks/README.md`).
    /// Each row gets the output its batch gives alone, up to the rounding of gemm's
    /// sums, which may depend on the number of rows (as in Keras's backends); a given
    /// call gives the same bits every time and for any thread count.
    pub fn predict_batches(
        &mut self,
        data: &Dataset,
        batch_size: usize,
        first: usize,
        max_batches: usize,
        budget_s: f64,
    ) -> Result<usize> {
        let rows = match self.predict_rows {
            Some(rows) => rows,
            None if data.x().shape()[0] == 0 => PREDICT_ROWS,
            None => {
                let rows = self.predict_rows_for(&data.gather(data.x(), &(0..1))?)?;
                *self.predict_rows.insert(rows)
            }
        };
        let group = rows / batch_size.max(1);
        for_batches(
            data,
            batch_size,
            group,
            first,
            max_batches,
            budget_s,
            |rows| data.gather(data.x(), &rows),
            |x| self.predict_step(&x),
        )
    }

    /// The compiled metrics, in order.
    pub fn metrics(&self) -> &[CompiledMetric] {
        &self.metrics
    }

    /// Appends the model's outputs for the batch `x`, in inference mode, to the
    /// predictions gathered so far.
    pub fn predict_step(&mut self, x: &Tensor) -> Result<()> {
        let out = no_grad(|| self.forward(x, false))?;
        self.prediction_shape = out.shape()[1..].to_vec();
        self.predictions.extend_from_slice(&out.data());
        Ok(())
    }

    /// The rows of a `predict` block: `PREDICT_ROWS`, or fewer when a layer's output
    /// for one row (`row`, run through the model here) is wide.
    fn predict_rows_for(&self, row: &Tensor) -> Result<usize> {
        let mut widest = row.numel();
        no_grad(|| {
            self.layers.iter().try_fold(row.clone(), |h, layer| {
                let out = layer.forward(&h, false)?;
                widest = widest.max(out.numel());
                Ok::<_, crate::Error>(out)
            })
        })?;
        Ok((PREDICT_ELEMENTS / widest.max(1)).clamp(1, PREDICT_ROWS))
    }

    /// The model's output for all rows of `x` in inference mode, `PREDICT_ROWS` rows
    /// at a time, stopping between blocks when interrupted ([`interrupt`]).
    pub fn predict(&self, x: &Tensor) -> Result<Tensor> {
        let rows = x.shape().first().copied().unwrap_or(0);
        if x.rank() < 2 || rows <= PREDICT_ROWS {
            return no_grad(|| self.forward(x, false));
        }
        let per_row: usize = x.shape()[1..].iter().product();
        let (mut out, mut out_shape) = (Vec::new(), Vec::new());
        for start in (0..rows).step_by(PREDICT_ROWS) {
            interrupt::check()?;
            let end = (start + PREDICT_ROWS).min(rows);
            let mut shape = x.shape().to_vec();
            shape[0] = end - start;
            let block = match x.integers() {
                Some(exact) => {
                    Tensor::from_integers(exact[start * per_row..end * per_row].to_vec(), &shape)?
                }
                None => {
                    Tensor::from_vec(x.data()[start * per_row..end * per_row].to_vec(), &shape)?
                }
            };
            let y = no_grad(|| self.forward(&block, false))?;
            out_shape = y.shape().to_vec();
            if out.is_empty() {
                let total = (y.numel() / (end - start)).saturating_mul(rows);
                out.try_reserve_exact(total)
                    .map_err(|e| crate::Error::Allocation(format!("predict: {e}")))?;
            }
            out.extend_from_slice(&y.data());
        }
        out_shape[0] = rows;
        Tensor::from_vec(out, &out_shape)
    }

    /// Takes the predictions gathered so far, with their shape.
    pub fn take_predictions(&mut self) -> (Vec<f32>, Vec<usize>) {
        let data = std::mem::take(&mut self.predictions);
        let per_row: usize = self.prediction_shape.iter().product();
        let mut shape = vec![data.len().checked_div(per_row).unwrap_or(0)];
        shape.extend(&self.prediction_shape);
        (data, shape)
    }

    /// The running loss and metric values, by name: `loss` first, then (for a model
    /// of several outputs with more than one loss) each output's `<name>_loss`, then the
    /// metrics in compile order.
    pub fn logs(&self) -> Vec<(String, f64)> {
        let mut logs = vec![("loss".to_string(), self.loss_tracker.value())];
        if let Some(heads) = &self.heads {
            let with_loss: Vec<_> = heads
                .outputs
                .iter()
                .zip(&heads.trackers)
                .filter(|(h, _)| h.loss.is_some())
                .collect();
            // Keras tracks each output's loss only when there are several.
            if with_loss.len() > 1 {
                logs.extend(
                    with_loss
                        .into_iter()
                        .map(|(h, t)| (format!("{}_loss", h.name), t.value())),
                );
            }
        }
        logs.extend(
            self.metrics
                .iter()
                .map(|m| (m.name.clone(), lock(&m.metric).result())),
        );
        logs
    }

    /// The optimizer's end of `fit`: with `use_ema`, the trained weights become their
    /// moving averages.
    pub fn finalize_variable_values(&self) -> Result<()> {
        match &self.optimizer {
            Some(optimizer) => lock(optimizer).finalize_variable_values(&self.trainable),
            None => Ok(()),
        }
    }

    /// Starts new running averages (each epoch, and each evaluation).
    pub fn reset_metrics(&mut self) {
        self.loss_tracker = RunningMean::default();
        if let Some(heads) = &mut self.heads {
            heads.trackers.fill(RunningMean::default());
        }
        for m in &self.metrics {
            lock(&m.metric).reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::pool::FRESH_LARGE_BUFFERS;
    use crate::losses::LossKind;
    use crate::nn::Dense;
    use serde_json::json;

    /// Every batch's rows, once and in order, whether gathered ahead (few features) or
    /// not, batch by batch or in groups, from any first batch, with a partial last one;
    /// a spent budget stops after one call.
    #[test]
    fn for_batches_visits_each_batch_once_in_order() {
        for features in [3, 4000] {
            let rows = 103;
            let x = Rows::new(Arc::new(vec![0.0; rows * features]), &[rows, features]).unwrap();
            let data = Dataset::new(x, None, None).unwrap();
            for (batch, group, first, max) in [(10, 1, 0, 99), (10, 3, 2, 99), (7, 4, 1, 5)] {
                let mut seen = vec![];
                let done = for_batches(&data, batch, group, first, max, 1e9, Ok, |r| {
                    seen.push(r);
                    Ok(())
                })
                .unwrap();
                let end = (first + max).min(rows.div_ceil(batch));
                assert_eq!(done, end - first);
                let want: Vec<_> = (first..end)
                    .collect::<Vec<_>>()
                    .chunks(group)
                    .map(|c| c[0] * batch..((c[c.len() - 1] + 1) * batch).min(rows))
                    .collect();
                assert_eq!(
                    seen, want,
                    "features={features} batch={batch} group={group}"
                );
            }
            let calls = std::sync::atomic::AtomicUsize::new(0);
            let done = for_batches(&data, 10, 2, 0, 99, 0.0, Ok, |_| {
                calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            });
            assert_eq!((done.unwrap(), calls.into_inner()), (2, 1));
            let failed = for_batches(&data, 10, 1, 0, 99, 1e9, Ok, |r| match r.start {
                30 => bail!(InvalidArgument, "batch 3"),
                _ => Ok(()),
            });
            assert!(failed.unwrap_err().to_string().contains("batch 3"));
        }
    }

    /// A model of two outputs: each output's loss on its columns of the packed targets,
    /// the total weighted (Keras's `loss_weights`), each output's loss logged as
    /// `<name>_loss`, and each metric fed its own output.
    #[test]
    fn several_outputs_weigh_their_losses() {
        use crate::nn::{Graph, GraphNode};
        let identity: Arc<dyn Layer> = Arc::new(crate::nn::Identity);
        // Outputs: the input itself (2 columns) and its copy through Identity.
        let graph = Graph::new(
            vec![identity],
            vec![GraphNode {
                layer: 0,
                inputs: vec![0],
            }],
            1,
            vec![0, 1],
            vec![],
        )
        .unwrap();
        let mse = |_: ()| {
            Arc::new(
                Loss::new(
                    LossKind::MeanSquaredError,
                    crate::losses::Reduction::SumOverBatchSize,
                )
                .unwrap(),
            )
        };
        let mae = crate::metrics::metric_from_config("MeanAbsoluteError", &json!({})).unwrap();
        let metric: SharedMetric = Arc::new(Mutex::new(mae));
        let mut trainer = Trainer::new(
            vec![Arc::new(graph)],
            vec![],
            None,
            None,
            vec![CompiledMetric {
                name: "b_mae".into(),
                metric,
                weighted: false,
            }],
        );
        let head = |name: &str, weight: f64| OutputHead {
            name: name.into(),
            loss: Some(mse(())),
            weight,
            target_shape: vec![2],
        };
        trainer
            .set_outputs(vec![head("a", 1.0), head("b", 0.5)], vec![1])
            .unwrap();
        let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
        // Targets: zeros for output a, ones for output b, packed side by side.
        let y = Tensor::from_vec(vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0], &[2, 4]).unwrap();
        trainer.step(Mode::Test, &x, &y, None).unwrap();
        let logs: std::collections::HashMap<_, _> = trainer.logs().into_iter().collect();
        let (a, b) = (
            (1.0 + 4.0 + 9.0 + 16.0) / 4.0,
            (0.0 + 1.0 + 4.0 + 9.0) / 4.0,
        );
        assert!((logs["a_loss"] - a).abs() < 1e-6);
        assert!((logs["b_loss"] - b).abs() < 1e-6);
        assert!((logs["loss"] - (a + 0.5 * b)).abs() < 1e-6);
        assert!((logs["b_mae"] - 1.5).abs() < 1e-6);
        assert!(trainer.set_outputs(vec![head("a", 1.0)], vec![3]).is_err());
        let bad = Tensor::zeros(&[2, 3]).unwrap();
        assert!(trainer.step(Mode::Test, &x, &bad, None).is_err());
    }

    fn fresh() -> usize {
        FRESH_LARGE_BUFFERS.with(|c| c.get())
    }

    /// DESIGN.md rule 5: once the first steps have filled the buffer pool, a training
    /// step takes every tensor buffer from it. (Buffers below the pool's minimum size,
    /// 16 KB of f32, and gemm's packing scratch come from the system allocator.)
    #[test]
    fn steady_state_training_steps_allocate_no_tensor_buffers() {
        crate::kernels::parallel::set_num_threads(1).unwrap();
        let (rows, features) = (96, 300);
        let x: Vec<f32> = (0..rows * features)
            .map(|i| (i % 17) as f32 / 17.0)
            .collect();
        let y: Vec<f32> = (0..rows).map(|i| (i % 10) as f32).collect();
        let mut data = Dataset::new(
            Rows::new(Arc::new(x), &[rows, features]).unwrap(),
            Some(Rows::new(Arc::new(y), &[rows]).unwrap()),
            None,
        )
        .unwrap();
        for name in ["sgd", "adam"] {
            let mut hidden = Dense::new(128, crate::ops::Activation::Relu, true).unwrap();
            let mut out = Dense::new(10, crate::ops::Activation::Linear, true).unwrap();
            hidden.build(features).unwrap();
            out.build(128).unwrap();
            let trainable = [hidden.variables(), out.variables()].concat();
            let layers: Vec<Arc<dyn Layer>> = vec![Arc::new(hidden), Arc::new(out)];
            let loss = Loss::new(
                LossKind::SparseCategoricalCrossentropy {
                    from_logits: true,
                    ignore_class: None,
                },
                crate::losses::Reduction::SumOverBatchSize,
            )
            .unwrap();
            let optimizer = Optimizer::from_config(name, &json!({})).unwrap();
            let mut trainer = Trainer::new(
                layers,
                trainable,
                Some(Arc::new(loss)),
                Some(Arc::new(Mutex::new(optimizer))),
                vec![],
            );
            let batches = data.num_batches(32);
            let mut epoch = |trainer: &mut Trainer| {
                data.shuffle(true);
                for i in 0..batches {
                    let rows = data.batch_rows(32, i);
                    let x = data.gather(data.x(), &rows).unwrap();
                    let y = data.gather(data.y().unwrap(), &rows).unwrap();
                    trainer.step(Mode::Train, &x, &y, None).unwrap();
                }
            };
            epoch(&mut trainer);
            let before = fresh();
            epoch(&mut trainer);
            epoch(&mut trainer);
            assert_eq!(fresh(), before, "{name}: steady-state steps allocated");
        }
    }

    /// predict sends fewer rows at once through a model whose layers widen each row.
    #[test]
    fn predict_blocks_shrink_for_wide_layer_outputs() {
        let mut dense = Dense::new(4, crate::ops::Activation::Linear, true).unwrap();
        dense.build(3).unwrap();
        let dense: Arc<dyn Layer> = Arc::new(dense);
        let row = Tensor::from_vec(vec![1.0; 3], &[1, 3]).unwrap();
        let narrow = Trainer::new(vec![dense.clone()], vec![], None, None, vec![]);
        assert_eq!(narrow.predict_rows_for(&row).unwrap(), PREDICT_ROWS);
        let repeat = Arc::new(crate::nn::RepeatVector::new(1000).unwrap());
        let wide = Trainer::new(vec![dense, repeat], vec![], None, None, vec![]);
        // The widest output is 1000 x 4 values a row.
        assert_eq!(
            wide.predict_rows_for(&row).unwrap(),
            PREDICT_ELEMENTS / 4000
        );
    }

    /// A step whose loss is NaN leaves the weights as they were (and a finite step
    /// after it still trains).
    #[test]
    fn a_step_with_a_non_finite_loss_leaves_the_weights_unchanged() {
        let mut dense = Dense::new(2, crate::ops::Activation::Linear, true).unwrap();
        dense.build(3).unwrap();
        let trainable = dense.variables();
        let loss = Loss::new(
            LossKind::MeanSquaredError,
            crate::losses::Reduction::SumOverBatchSize,
        )
        .unwrap();
        let optimizer = Optimizer::from_config("sgd", &json!({})).unwrap();
        let mut trainer = Trainer::new(
            vec![Arc::new(dense)],
            trainable.clone(),
            Some(Arc::new(loss)),
            Some(Arc::new(Mutex::new(optimizer))),
            vec![],
        );
        let values = |ts: &[Tensor]| ts.iter().map(|t| t.to_vec()).collect::<Vec<_>>();
        let before = values(&trainable);
        let y = Tensor::from_vec(vec![1.0; 4], &[2, 2]).unwrap();
        let bad = Tensor::from_vec(vec![1.0, f32::NAN, 0.0, 1.0, 2.0, 3.0], &[2, 3]).unwrap();
        trainer.step(Mode::Train, &bad, &y, None).unwrap();
        assert_eq!(values(&trainable), before);
        let good = Tensor::from_vec(vec![1.0, 0.5, 0.0, 1.0, 2.0, 3.0], &[2, 3]).unwrap();
        trainer.step(Mode::Train, &good, &y, None).unwrap();
        assert_ne!(values(&trainable), before);
        assert!(values(&trainable).iter().flatten().all(|v| v.is_finite()));
    }
}
