//! Keras's `encode_categorical_inputs`: integer indices to one-hot, multi-hot or count
//! vectors, shared by CategoryEncoding, Discretization and IntegerLookup.

use crate::bail;
use crate::config::Args;
use crate::error::{fmt_shape, Result};
use crate::kernels::pool::alloc;
use crate::tensor::{Float, Tensor};

/// What a categorical layer outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputMode {
    /// The indices themselves.
    Int,
    /// One vector of `depth` per index, with a 1 at the index.
    OneHot,
    /// One vector of `depth` per sample, with a 1 at each index present.
    MultiHot,
    /// One vector of `depth` per sample, counting each index.
    Count,
}

impl OutputMode {
    /// The mode Keras calls `name` (`"binary"` is Keras's old name of multi_hot);
    /// `allowed` lists the layer's modes, for the error message.
    pub fn from_name(layer: &str, name: &str, allowed: &[&str]) -> Result<Self> {
        let canonical = if name == "binary" { "multi_hot" } else { name };
        let mode = match canonical {
            "int" => OutputMode::Int,
            "one_hot" => OutputMode::OneHot,
            "multi_hot" => OutputMode::MultiHot,
            "count" => OutputMode::Count,
            _ => OutputMode::Int, // refused below: not in `allowed`
        };
        if !allowed.contains(&canonical) {
            bail!(
                InvalidArgument,
                "{layer}: `output_mode` must be one of {}, got {name:?}",
                allowed
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Ok(mode)
    }

    /// The `output_mode` argument of a layer, `default` when not given.
    pub(crate) fn from_args(args: &Args, default: &str, allowed: &[&str]) -> Result<Self> {
        let name: String = args.or("output_mode", default.to_string())?;
        OutputMode::from_name(args.owner(), &name, allowed)
    }
}

/// The integer index held by `v`, or an error unless it is a whole number in `[0, depth)`.
pub fn check_index<T: Float>(layer: &str, v: T, depth: usize) -> Result<usize> {
    let f = v.to_f64();
    if f.fract() != 0.0 || f < 0.0 || f >= depth as f64 {
        bail!(
            OutOfBounds,
            "{layer}: input values must be integers in [0, {depth}), got {f}"
        );
    }
    Ok(f as usize)
}

/// Encodes `indices` (of `shape`; `None` contributes nothing) as Keras does for `mode`
/// with `depth` classes:
/// - one_hot: `shape + (depth,)`, where a last axis of size 1 is replaced instead;
/// - multi_hot and count: axis 1 (axis 0 of a 1-D input) is reduced, by max or by sum
///   (weighted by `count_weights`, of `shape`, when given), and `depth` appended.
///
/// A scalar counts as one index of shape `(1,)`.
pub fn encode<T: Float>(
    indices: &[Option<usize>],
    shape: &[usize],
    mode: OutputMode,
    depth: usize,
    count_weights: Option<&[T]>,
) -> Result<Tensor<T>> {
    let shape: Vec<usize> = if shape.is_empty() {
        vec![1]
    } else {
        shape.to_vec()
    };
    match mode {
        OutputMode::Int => {
            let data = indices
                .iter()
                .map(|i| i.map_or(T::from_f64(-1.0), |i| T::from_f64(i as f64)))
                .collect();
            Tensor::from_vec(data, &shape)
        }
        OutputMode::OneHot => {
            let mut out_shape = shape.clone();
            if out_shape.len() > 1 && out_shape.last() == Some(&1) {
                out_shape.pop();
            }
            out_shape.push(depth);
            let mut data = alloc::<T>(crate::tensor::shape::checked_numel(
                &out_shape,
                std::mem::size_of::<T>(),
            )?)?;
            for (row, index) in indices.iter().enumerate() {
                if let Some(i) = index {
                    data[row * depth + i] = T::one();
                }
            }
            Tensor::from_vec(data, &out_shape)
        }
        OutputMode::MultiHot | OutputMode::Count => {
            // (outer, reduced, inner) -> (outer, inner, depth).
            let (outer, reduced, rest) = if shape.len() > 1 {
                (shape[0], shape[1], &shape[2..])
            } else {
                (1, shape[0], &shape[..0])
            };
            let inner: usize = rest.iter().product();
            let mut out_shape: Vec<usize> = if shape.len() > 1 { vec![outer] } else { vec![] };
            out_shape.extend_from_slice(rest);
            out_shape.push(depth);
            let mut data = alloc::<T>(crate::tensor::shape::checked_numel(
                &out_shape,
                std::mem::size_of::<T>(),
            )?)?;
            for o in 0..outer {
                for r in 0..reduced {
                    for j in 0..inner {
                        let at = (o * reduced + r) * inner + j;
                        let Some(i) = indices[at] else { continue };
                        let cell = &mut data[(o * inner + j) * depth + i];
                        *cell = match mode {
                            OutputMode::MultiHot => T::one(),
                            _ => *cell + count_weights.map_or(T::one(), |w| w[at]),
                        };
                    }
                }
            }
            Tensor::from_vec(data, &out_shape)
        }
    }
}

/// Checks that `count_weights` has the shape of the inputs and that the mode counts.
pub fn check_count_weights(
    layer: &str,
    mode: OutputMode,
    weights_shape: &[usize],
    input_shape: &[usize],
) -> Result<()> {
    if mode != OutputMode::Count {
        bail!(
            InvalidArgument,
            "{layer}: `count_weights` is only used when `output_mode` is 'count'"
        );
    }
    if weights_shape != input_shape {
        bail!(
            Shape,
            "{layer}: `count_weights` must have the inputs' shape {}, got {}",
            fmt_shape(input_shape),
            fmt_shape(weights_shape)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(v: &[usize]) -> Vec<Option<usize>> {
        v.iter().map(|&i| Some(i)).collect()
    }

    #[test]
    fn keras_docstring_examples() {
        // CategoryEncoding(num_tokens=4, output_mode="one_hot")([3, 2, 0, 1])
        let y = encode::<f32>(&some(&[3, 2, 0, 1]), &[4], OutputMode::OneHot, 4, None).unwrap();
        assert_eq!(y.shape(), &[4, 4]);
        assert_eq!(
            y.to_vec(),
            vec![0., 0., 0., 1., 0., 0., 1., 0., 1., 0., 0., 0., 0., 1., 0., 0.]
        );
        // multi_hot of [[0, 1], [0, 0], [1, 2], [3, 1]]
        let idx = some(&[0, 1, 0, 0, 1, 2, 3, 1]);
        let y = encode::<f32>(&idx, &[4, 2], OutputMode::MultiHot, 4, None).unwrap();
        assert_eq!(
            y.to_vec(),
            vec![1., 1., 0., 0., 1., 0., 0., 0., 0., 1., 1., 0., 0., 1., 0., 1.]
        );
        // count with weights [[.1, .2], [.1, .1], [.2, .3], [.4, .2]]
        let w = [0.1, 0.2, 0.1, 0.1, 0.2, 0.3, 0.4, 0.2];
        let y = encode::<f64>(&idx, &[4, 2], OutputMode::Count, 4, Some(&w)).unwrap();
        let expected = [
            0.1, 0.2, 0., 0., 0.2, 0., 0., 0., 0., 0.2, 0.3, 0., 0., 0.2, 0., 0.4,
        ];
        for (a, b) in y.to_vec().iter().zip(expected) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn shapes_and_skipped_indices() {
        let y = encode::<f32>(&some(&[1, 2]), &[2, 1], OutputMode::OneHot, 3, None).unwrap();
        assert_eq!(y.shape(), &[2, 3]);
        let y = encode::<f32>(&some(&[1, 1, 2]), &[3], OutputMode::Count, 3, None).unwrap();
        assert_eq!((y.shape(), y.to_vec()), (&[3][..], vec![0., 2., 1.]));
        let y = encode::<f32>(&[Some(1), None], &[1, 2], OutputMode::MultiHot, 3, None).unwrap();
        assert_eq!(y.to_vec(), vec![0., 1., 0.]);
        let y = encode::<f32>(&some(&[0; 12]), &[2, 3, 2], OutputMode::Count, 2, None).unwrap();
        assert_eq!((y.shape(), y.to_vec()[0]), (&[2, 2, 2][..], 3.0));
        assert!(check_index("L", 2.5f32, 4).is_err());
        assert!(check_index("L", 4.0f32, 4).is_err());
        assert!(check_index("L", -1.0f32, 4).is_err());
        assert_eq!(check_index("L", 3.0f32, 4).unwrap(), 3);
        assert!(OutputMode::from_name("L", "tf_idf", &["int", "count"]).is_err());
        assert_eq!(
            OutputMode::from_name("L", "binary", &["multi_hot"]).unwrap(),
            OutputMode::MultiHot
        );
    }
}
