//! Plain f64 arrays that metrics compute on: no autograd graph, no allocation games.

use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::tensor::shape::{broadcast_shapes, broadcast_strides};
use crate::tensor::Tensor;

/// A row-major array of f64 with its shape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Values {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl Values {
    pub fn of(t: &Tensor) -> Values {
        Values {
            shape: t.shape().to_vec(),
            data: t.data().iter().map(|&v| v as f64).collect(),
        }
    }

    pub fn new(shape: Vec<usize>, data: Vec<f64>) -> Values {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Values { shape, data }
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Size of the last axis (1 for a scalar).
    pub fn last_dim(&self) -> usize {
        self.shape.last().copied().unwrap_or(1)
    }

    /// The rows of the last axis.
    pub fn rows(&self) -> std::slice::Chunks<'_, f64> {
        self.data.chunks(self.last_dim().max(1))
    }

    /// The mean over all axes from `axis` on (a no-op when there are none).
    pub fn mean_from(&self, axis: usize) -> Values {
        self.fold_from(axis, true)
    }

    /// The sum over all axes from `axis` on (a no-op when there are none).
    pub fn sum_from(&self, axis: usize) -> Values {
        self.fold_from(axis, false)
    }

    /// The sum (or mean) over all axes from `axis` on.
    fn fold_from(&self, axis: usize, mean: bool) -> Values {
        if axis >= self.rank() {
            return self.clone();
        }
        let outer: usize = self.shape[..axis].iter().product();
        let inner: usize = self.shape[axis..].iter().product();
        let data = if inner == 0 {
            vec![if mean { f64::NAN } else { 0.0 }; outer]
        } else {
            self.data
                .chunks(inner)
                .map(|c| {
                    let sum = c.iter().sum::<f64>();
                    if mean {
                        sum / inner as f64
                    } else {
                        sum
                    }
                })
                .collect()
        };
        Values::new(self.shape[..axis].to_vec(), data)
    }

    /// The mean over the last axis (a scalar stays as it is).
    pub fn mean_last(&self) -> Values {
        self.mean_from(self.rank().saturating_sub(1))
    }

    /// Repeated to `shape` as NumPy broadcasting does; `what` names the array in errors.
    pub fn broadcast_to(&self, shape: &[usize], what: &str) -> Result<Values> {
        let ok = broadcast_shapes(&self.shape, shape, what)
            .ok()
            .is_some_and(|s| s == shape);
        if !ok {
            bail!(
                Shape,
                "{what} of shape {} cannot be broadcast to shape {}",
                fmt_shape(&self.shape),
                fmt_shape(shape)
            );
        }
        if self.shape == shape {
            return Ok(self.clone());
        }
        let strides = broadcast_strides(&self.shape, shape);
        let n: usize = shape.iter().product();
        let mut data = Vec::with_capacity(n);
        let mut idx = vec![0usize; shape.len()];
        for _ in 0..n {
            let off: isize = idx
                .iter()
                .zip(&strides)
                .map(|(&i, &s)| i as isize * s)
                .sum();
            data.push(self.data[off as usize]);
            for d in (0..shape.len()).rev() {
                idx[d] += 1;
                if idx[d] < shape[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        Ok(Values::new(shape.to_vec(), data))
    }
}

/// Index of the first maximum of `row` (NaN counts as larger than anything, as argmax
/// in NumPy).
pub(crate) fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] || (v.is_nan() && !row[best].is_nan()) {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_and_means() {
        let v = Values::new(vec![2, 1], vec![1., 2.]);
        let b = v.broadcast_to(&[2, 3], "w").unwrap();
        assert_eq!(b.data, vec![1., 1., 1., 2., 2., 2.]);
        assert!(v.broadcast_to(&[3, 3], "w").is_err());
        assert_eq!(b.mean_last().data, vec![1., 2.]);
        assert_eq!(b.mean_from(0).data, vec![1.5]);
        assert_eq!(b.sum_from(1).data, vec![3., 6.]);
        assert_eq!(
            Values::new(vec![2, 0], vec![]).sum_from(1).data,
            vec![0., 0.]
        );
        assert_eq!(argmax(&[1., 3., 3.]), 1);
    }
}
