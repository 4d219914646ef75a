//! The rows a model trains on, and the order it visits them in.

use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::kernels::parallel;
use crate::kernels::pool::alloc_for_overwrite;
use crate::tensor::{random, Tensor};
use rand::seq::SliceRandom;
use std::ops::Range;
use std::sync::Arc;

/// Row-major values whose first axis is the sample axis. The storage is anything that
/// lends a slice: an owned `Vec`, or, in the Python bindings, the caller's own numpy
/// array, so that training data is never copied.
#[derive(Clone)]
pub struct Rows {
    values: Values,
    shape: Vec<usize>,
}

/// The values of [`Rows`]: float32, or integers (indices, labels), which batches keep
/// exact beside their floats (see [`Tensor::integers`]). Integers that fit are held as
/// i32, which takes no more memory than float32 (a uint8 image array copied as i64
/// would take twice as much).
#[derive(Clone)]
enum Values {
    Float(Arc<dyn AsRef<[f32]> + Send + Sync>),
    I32(Arc<dyn AsRef<[i32]> + Send + Sync>),
    I64(Arc<dyn AsRef<[i64]> + Send + Sync>),
}

impl Rows {
    /// Rows over `data`, whose length must equal the product of `shape` (which has a batch
    /// axis).
    pub fn new(data: Arc<dyn AsRef<[f32]> + Send + Sync>, shape: &[usize]) -> Result<Self> {
        Self::checked(Values::Float(data), shape)
    }

    /// Rows over integer `data` (as [`Rows::new`]), whose batches keep the exact
    /// integers.
    pub fn from_i32(data: Arc<dyn AsRef<[i32]> + Send + Sync>, shape: &[usize]) -> Result<Self> {
        Self::checked(Values::I32(data), shape)
    }

    /// Rows over integer `data` (as [`Rows::new`]), whose batches keep the exact
    /// integers.
    pub fn from_i64(data: Arc<dyn AsRef<[i64]> + Send + Sync>, shape: &[usize]) -> Result<Self> {
        Self::checked(Values::I64(data), shape)
    }

    fn checked(values: Values, shape: &[usize]) -> Result<Self> {
        let len = match &values {
            Values::Float(data) => (**data).as_ref().len(),
            Values::I32(data) => (**data).as_ref().len(),
            Values::I64(data) => (**data).as_ref().len(),
        };
        if shape.is_empty() {
            bail!(Shape, "expected an array with a batch axis, got a scalar");
        }
        if shape.iter().product::<usize>() != len {
            bail!(Shape, "{len} values do not fill shape {}", fmt_shape(shape));
        }
        Ok(Rows {
            values,
            shape: shape.to_vec(),
        })
    }

    /// A copy of a tensor's values (its exact integers, when it has them).
    pub fn from_tensor(t: &Tensor) -> Result<Self> {
        Self::from_tensor_rows(t, 0..t.shape().first().copied().unwrap_or(0))
    }

    /// A copy of the rows `rows` of a tensor with a batch axis (its exact integers, when
    /// it has them).
    pub fn from_tensor_rows(t: &Tensor, rows: Range<usize>) -> Result<Self> {
        let per_row: usize = t.shape().iter().skip(1).product();
        let mut shape = t.shape().to_vec();
        if let Some(n) = shape.first_mut() {
            *n = rows.len();
        }
        let values = rows.start * per_row..rows.end * per_row;
        match t.integers() {
            Some(exact) => Self::from_i64(Arc::new(exact[values].to_vec()), &shape),
            None => Self::new(Arc::new(t.data()[values].to_vec()), &shape),
        }
    }

    /// The full shape, the sample axis first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
}

/// Inputs, targets and sample weights with one row per sample, plus a visiting order.
pub struct Dataset {
    x: Rows,
    y: Option<Rows>,
    sample_weight: Option<Rows>,
    order: Vec<usize>,
}

impl Dataset {
    /// Checks that every part has the same number of rows.
    pub fn new(x: Rows, y: Option<Rows>, sample_weight: Option<Rows>) -> Result<Self> {
        let n = x.shape[0];
        for (name, part) in [("y", &y), ("sample_weight", &sample_weight)] {
            if let Some(t) = part {
                if t.shape[0] != n {
                    bail!(
                        Shape,
                        "Data cardinality is ambiguous: x has {n} samples but {name} has shape {}; \
                         make sure all arrays contain the same number of samples",
                        fmt_shape(&t.shape)
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

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The inputs.
    pub fn x(&self) -> &Rows {
        &self.x
    }

    /// The targets, if any.
    pub fn y(&self) -> Option<&Rows> {
        self.y.as_ref()
    }

    /// The per-sample weights, if any.
    pub fn sample_weight(&self) -> Option<&Rows> {
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
    pub fn gather(&self, t: &Rows, rows: &Range<usize>) -> Result<Tensor> {
        let per_row: usize = t.shape[1..].iter().product();
        let n = rows.len() * per_row;
        let order = &self.order[rows.clone()];
        let mut shape = t.shape.clone();
        shape[0] = rows.len();
        match &t.values {
            Values::Float(data) => {
                let mut out = alloc_for_overwrite::<f32>(n)?;
                copy_rows((**data).as_ref(), order, per_row, &mut out, |v| v);
                Tensor::from_vec(out, &shape)
            }
            Values::I32(data) => {
                let mut out = vec![0; n];
                copy_rows((**data).as_ref(), order, per_row, &mut out, i64::from);
                Tensor::from_integers(out, &shape)
            }
            Values::I64(data) => {
                let mut out = vec![0; n];
                copy_rows((**data).as_ref(), order, per_row, &mut out, |v| v);
                Tensor::from_integers(out, &shape)
            }
        }
    }
}

/// Copies the rows `order` of `src` (`per_row` values each) into `out`, in order, each
/// value through `convert`.
fn copy_rows<S: Copy + Sync, D: Send>(
    src: &[S],
    order: &[usize],
    per_row: usize,
    out: &mut [D],
    convert: impl Fn(S) -> D + Sync + Send,
) {
    let per_row = per_row.max(1);
    parallel::for_each_rows_above(
        parallel::GATHER_PAR_THRESHOLD,
        out,
        per_row,
        |first, chunk| {
            for (dst, &r) in chunk.chunks_mut(per_row).zip(&order[first..]) {
                let row = &src[r * per_row..(r + 1) * per_row];
                for (d, &v) in dst.iter_mut().zip(row) {
                    *d = convert(v);
                }
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch holds its rows in the shuffled order, whether it is gathered on one
    /// thread (few elements) or on several (from `GATHER_PAR_THRESHOLD` elements).
    #[test]
    fn gather_takes_the_rows_of_the_shuffled_order() {
        crate::kernels::parallel::set_num_threads(2).unwrap();
        let (rows, features) = (300, 512);
        let x: Vec<f32> = (0..rows * features).map(|i| i as f32).collect();
        let mut data = Dataset::new(
            Rows::new(Arc::new(x), &[rows, features]).unwrap(),
            None,
            None,
        )
        .unwrap();
        data.shuffle(true);
        assert_ne!(
            data.order[..10],
            (0..10).collect::<Vec<_>>()[..],
            "not shuffled"
        );
        for batch in [3, 100] {
            assert_eq!(
                batch * features >= parallel::GATHER_PAR_THRESHOLD,
                batch == 100
            );
            let range = data.batch_rows(batch, 1);
            let got = data.gather(data.x(), &range).unwrap();
            assert_eq!(got.shape(), [batch, features]);
            let want: Vec<f32> = data.order[range]
                .iter()
                .flat_map(|&r| (r * features..(r + 1) * features).map(|v| v as f32))
                .collect();
            assert_eq!(got.to_vec(), want);
        }
    }

    /// Integer rows reach a batch exactly, beside their (rounded) float32 values.
    #[test]
    fn integer_rows_stay_exact_in_batches() {
        let big = (1 << 24) + 1;
        let x: Vec<i64> = (0..6).map(|r| big + r).collect();
        let x32: Vec<i32> = x.iter().map(|&i| i as i32).collect();
        let mut data = Dataset::new(
            Rows::from_i64(Arc::new(x), &[3, 2]).unwrap(),
            Some(Rows::from_i32(Arc::new(x32), &[3, 2]).unwrap()),
            None,
        )
        .unwrap();
        data.shuffle(true);
        let batch = data.gather(data.x(), &(0..3)).unwrap();
        // The same integers held as i32.
        let batch32 = data.gather(data.y().unwrap(), &(0..3)).unwrap();
        assert_eq!(batch32.integers(), batch.integers());
        let want: Vec<i64> = data.order[..3]
            .iter()
            .flat_map(|&r| [big + 2 * r as i64, big + 2 * r as i64 + 1])
            .collect();
        assert_eq!(batch.integers(), Some(&want[..]));
        let floats: Vec<f32> = want.iter().map(|&i| i as f32).collect();
        assert_eq!(batch.to_vec(), floats);
        // Rows cut from a tensor of integer data (the crate's own `fit`) stay exact too.
        let t = Tensor::from_integers(vec![big, 1, big + 2, 3], &[2, 2]).unwrap();
        let rows = Rows::from_tensor_rows(&t, 1..2).unwrap();
        let one = Dataset::new(rows, None, None).unwrap();
        let batch = one.gather(one.x(), &(0..1)).unwrap();
        assert_eq!(batch.integers(), Some(&[big + 2, 3][..]));
    }
}
