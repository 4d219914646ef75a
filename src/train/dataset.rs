//! The rows a model trains on, and the order it visits them in.

use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::tensor::{alloc, random, Tensor};
use rand::seq::SliceRandom;
use std::ops::Range;

/// Inputs, targets and sample weights with one row per sample, plus a visiting order.
pub struct Dataset {
    x: Tensor,
    y: Option<Tensor>,
    sample_weight: Option<Tensor>,
    order: Vec<usize>,
}

fn rows_of(t: &Tensor) -> usize {
    t.shape().first().copied().unwrap_or(0)
}

impl Dataset {
    /// Checks that every part has the same number of rows.
    pub fn new(x: Tensor, y: Option<Tensor>, sample_weight: Option<Tensor>) -> Result<Self> {
        if x.rank() == 0 {
            bail!(
                Shape,
                "x: expected an array with a batch axis, got a scalar"
            );
        }
        let n = rows_of(&x);
        for (name, part) in [("y", &y), ("sample_weight", &sample_weight)] {
            if let Some(t) = part {
                if t.rank() == 0 || rows_of(t) != n {
                    bail!(
                        Shape,
                        "Data cardinality is ambiguous: x has {n} samples but {name} has shape {}; \
                         make sure all arrays contain the same number of samples",
                        fmt_shape(t.shape())
                    );
                }
            }
        }
        Ok(Dataset {
            x,
            y,
            sample_weight,
            order: (0..n).collect(),
        })
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn x(&self) -> &Tensor {
        &self.x
    }

    pub fn y(&self) -> Option<&Tensor> {
        self.y.as_ref()
    }

    pub fn sample_weight(&self) -> Option<&Tensor> {
        self.sample_weight.as_ref()
    }

    /// Visits rows in a new random order (from kandle's seedable generator), or in
    /// data order.
    pub fn shuffle(&mut self, shuffle: bool) {
        self.order = (0..self.len()).collect();
        if shuffle {
            random::with_rng(|rng| self.order.shuffle(rng));
        }
    }

    /// Batches per pass; the last one may be partial, as in Keras.
    pub fn num_batches(&self, batch_size: usize) -> usize {
        self.len().div_ceil(batch_size.max(1))
    }

    /// Positions in the visiting order of batch `index`.
    pub fn batch_rows(&self, batch_size: usize, index: usize) -> Range<usize> {
        let start = index * batch_size;
        start..(start + batch_size).min(self.len())
    }

    /// The rows `order[rows]` of `t`, copied into a new batch tensor.
    pub fn gather(&self, t: &Tensor, rows: &Range<usize>) -> Result<Tensor> {
        let per_row: usize = t.shape()[1..].iter().product();
        let src = t.data();
        let mut out = alloc::<f32>(rows.len() * per_row)?;
        for (dst, &r) in out
            .chunks_mut(per_row.max(1))
            .zip(&self.order[rows.clone()])
        {
            dst.copy_from_slice(&src[r * per_row..(r + 1) * per_row]);
        }
        let mut shape = t.shape().to_vec();
        shape[0] = rows.len();
        Tensor::from_vec(out, &shape)
    }
}
