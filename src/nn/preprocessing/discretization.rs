//! Discretization: values to the index of their bin, with `adapt`'s quantile
//! boundaries computed by Keras's own sketch (so the boundaries are Keras's).

use super::encoding::{encode, OutputMode};
use crate::bail;
use crate::config::Args;
use crate::error::Result;
use crate::nn::Layer;
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// Places each value in one of `len(bin_boundaries) + 1` bins: bin `i` holds the values
/// `v` with `boundaries[i-1] <= v < boundaries[i]` (the outer bins reach to -inf and
/// +inf), then encodes the bin indices per `output_mode`. The output is a constant.
pub struct Discretization {
    /// Compared in the input's precision, as Keras compares in float32.
    pub bin_boundaries: Vec<f64>,
    /// How the bin indices are encoded (Keras's `output_mode`: int, one_hot, multi_hot or count).
    pub output_mode: OutputMode,
}

const MODES: &[&str] = &["int", "one_hot", "multi_hot", "count"];

impl Discretization {
    /// The layer of a Keras `Discretization` config (`bin_boundaries`, `output_mode`);
    /// an adapted layer's config holds its learned boundaries.
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new("Discretization", config)?;
        let Some(bin_boundaries) = args.opt::<Vec<f64>>("bin_boundaries")? else {
            bail!(
                InvalidArgument,
                "Discretization: the layer has no `bin_boundaries`: pass them, or call adapt() with `num_bins` set"
            );
        };
        Ok(Discretization {
            bin_boundaries,
            output_mode: OutputMode::from_args(&args, "int", MODES)?,
        })
    }

    /// The encoded bin index of each value of `x`.
    pub fn forward<T: Float>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let bounds: Vec<T> = self
            .bin_boundaries
            .iter()
            .map(|&b| T::from_f64(b))
            .collect();
        let indices: Vec<Option<usize>> = x
            .data()
            .iter()
            // NaN sorts after every boundary, as in numpy's digitize.
            .map(|&v| {
                Some(if v.is_nan() {
                    bounds.len()
                } else {
                    bounds.partition_point(|&b| b <= v)
                })
            })
            .collect();
        encode(
            &indices,
            x.shape(),
            self.output_mode,
            bounds.len() + 1,
            None,
        )
    }
}

/// A quantile sketch: sorted values and the weight (count) each stands for.
#[derive(Clone, Debug, Default, PartialEq)]
struct Summary {
    values: Vec<f32>,
    weights: Vec<f32>,
}

/// numpy's `interp(x, xp, fp)` for increasing `xp`: linear between the neighbours of
/// `x`, the end values outside.
fn interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    let n = xp.len();
    if x > xp[n - 1] {
        return fp[n - 1];
    }
    if x < xp[0] {
        return fp[0];
    }
    let j = xp.partition_point(|&p| p <= x) - 1; // the last j with xp[j] <= x
    if j == n - 1 || xp[j] == x {
        return fp[j];
    }
    let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    slope * (x - xp[j]) + fp[j]
}

/// Keras's `summarize`: every `step`-th sorted value, each weighing `step`, where
/// `step = max(len · epsilon, 1)`.
fn summarize(mut values: Vec<f32>, epsilon: f64) -> Summary {
    values.sort_by(f32::total_cmp);
    let step = (values.len() as f64 / (1.0 / epsilon)).max(1.0);
    let (start, stride) = ((step - 1.0) as usize, step as usize);
    let picked: Vec<f32> = values.iter().skip(start).step_by(stride).copied().collect();
    Summary {
        weights: vec![step as f32; picked.len()],
        values: picked,
    }
}

/// numpy's `arange(0.0, 1.0, step)`: `ceil(1 / step)` values `i · step`.
fn arange_to_one(step: f64) -> impl Iterator<Item = f64> {
    (0..(1.0 / step).ceil() as usize).map(move |i| i as f64 * step)
}

/// Keras's `compress_summary`: the summary re-sampled at the cumulative-weight
/// fractions `epsilon, 2·epsilon, ...`; unchanged when it has under `1 / epsilon` values.
fn compress(summary: Summary, epsilon: f64) -> Summary {
    if (summary.values.len() as f64) * epsilon < 1.0 {
        return summary;
    }
    // float32 running sums and fractions, as numpy computes them on the float32 summary.
    let mut total = 0f32;
    let cum: Vec<f32> = summary
        .weights
        .iter()
        .map(|&w| {
            total += w;
            total
        })
        .collect();
    let last = *cum.last().expect("a non-empty summary");
    let fractions: Vec<f64> = cum.iter().map(|&c| f64::from(c / last)).collect();
    let values: Vec<f64> = summary.values.iter().map(|&v| f64::from(v)).collect();
    let cum64: Vec<f64> = cum.iter().map(|&c| f64::from(c)).collect();
    let (mut new_values, mut new_weights, mut previous) = (Vec::new(), Vec::new(), 0.0);
    for p in arange_to_one(epsilon).map(|a| epsilon + a) {
        new_values.push(interp(p, &fractions, &values) as f32);
        let c = interp(p, &fractions, &cum64);
        new_weights.push((c - previous) as f32);
        previous = c;
    }
    Summary {
        values: new_values,
        weights: new_weights,
    }
}

/// Keras's `merge_summaries`: both summaries' points by value, then compressed.
fn merge(new: Summary, old: Summary, epsilon: f64) -> Summary {
    let mut points: Vec<(f32, f32)> = new
        .values
        .into_iter()
        .zip(new.weights)
        .chain(old.values.into_iter().zip(old.weights))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (values, weights) = points.into_iter().unzip();
    compress(Summary { values, weights }, epsilon)
}

/// `Discretization.adapt`: the `num_bins - 1` boundaries (fewer for little data) of
/// Keras's approximate quantiles of `batches`, each summarized with `epsilon` and merged
/// in order.
pub fn adapt_bin_boundaries(
    batches: &[Vec<f32>],
    epsilon: f64,
    num_bins: usize,
) -> Result<Vec<f32>> {
    if num_bins == 0 {
        bail!(
            InvalidArgument,
            "Discretization.adapt: `num_bins` must be positive to adapt, got 0"
        );
    }
    if !(epsilon > 0.0 && epsilon <= 1.0) {
        bail!(
            InvalidArgument,
            "Discretization: `epsilon` must be in (0, 1], got {epsilon}"
        );
    }
    let mut summary = Summary::default();
    for batch in batches {
        summary = merge(summarize(batch.clone(), epsilon), summary, epsilon);
    }
    let mut boundaries = compress(summary, 1.0 / num_bins as f64).values;
    boundaries.pop();
    Ok(boundaries)
}

impl Layer for Discretization {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Discretization::forward(self, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keras_docstring_examples() {
        let x = Tensor::<f32>::from_vec(vec![-1.5, 1.0, 3.4, 0.5, 0.0, 3.0, 1.3, 0.0], &[2, 4])
            .unwrap();
        let layer =
            Discretization::from_config(&json!({"bin_boundaries": [0.0, 1.0, 2.0]})).unwrap();
        assert_eq!(
            layer.forward(&x).unwrap().to_vec(),
            vec![0., 2., 3., 1., 1., 3., 2., 1.]
        );
        // Discretization(num_bins=4, epsilon=0.01).adapt(x)
        let bounds = adapt_bin_boundaries(&[x.to_vec()], 0.01, 4).unwrap();
        assert_eq!(bounds, vec![0.0, 0.5, 1.3]);
        let adapted = Discretization {
            bin_boundaries: bounds.iter().map(|&b| f64::from(b)).collect(),
            output_mode: OutputMode::Int,
        };
        assert_eq!(
            adapted.forward(&x).unwrap().to_vec(),
            vec![0., 2., 3., 2., 1., 3., 3., 1.]
        );
    }

    #[test]
    fn interp_matches_numpy() {
        let (xp, fp) = ([0.0, 1.0, 2.0], [10.0, 20.0, 40.0]);
        assert_eq!(interp(-1.0, &xp, &fp), 10.0);
        assert_eq!(interp(0.5, &xp, &fp), 15.0);
        assert_eq!(interp(1.0, &xp, &fp), 20.0);
        assert_eq!(interp(1.5, &xp, &fp), 30.0);
        assert_eq!(interp(3.0, &xp, &fp), 40.0);
        assert_eq!(
            arange_to_one(0.25).collect::<Vec<_>>(),
            vec![0.0, 0.25, 0.5, 0.75]
        );
    }

    #[test]
    fn encodings_and_bad_arguments() {
        let layer = Discretization::from_config(
            &json!({"bin_boundaries": [0.0, 1.0], "output_mode": "one_hot"}),
        )
        .unwrap();
        let y = layer
            .forward(&Tensor::<f32>::from_vec(vec![-1.0, 0.5, 5.0, f32::NAN], &[4, 1]).unwrap())
            .unwrap();
        assert_eq!(y.shape(), &[4, 3]);
        assert_eq!(
            y.to_vec(),
            vec![1., 0., 0., 0., 1., 0., 0., 0., 1., 0., 0., 1.]
        );
        assert!(Discretization::from_config(&json!({"num_bins": 3})).is_err());
        assert!(Discretization::from_config(
            &json!({"bin_boundaries": [0.0], "output_mode": "tf_idf"})
        )
        .is_err());
        assert!(adapt_bin_boundaries(&[vec![1.0]], 0.01, 0).is_err());
        assert!(adapt_bin_boundaries(&[vec![1.0]], 0.0, 2).is_err());
        assert_eq!(
            adapt_bin_boundaries(&[], 0.01, 3).unwrap(),
            Vec::<f32>::new()
        );
    }
}
