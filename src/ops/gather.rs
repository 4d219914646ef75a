//! Row gather (an embedding lookup) and its backward, a scatter-add of rows.

use crate::bail;
use crate::error::{fmt_shape, Error, Result};
use crate::kernels::parallel;
use crate::kernels::pool::alloc;
use crate::tensor::{Float, Tensor};
use std::ops::Range;

/// The whole numbers held by `indices`, each in `range`: its exact integers when it was
/// made from integer data, else its float values. A float at or above
/// `T::EXACT_INTEGERS_BELOW` (2**24 in float32) in magnitude may be another index
/// rounded, so it is refused rather than read as a wrong one. Errors name `op`, and
/// `size` (as "input_dim 5") for an index out of range.
fn checked_indices<T: Float>(
    indices: &Tensor<T>,
    range: Range<i64>,
    op: &str,
    size: &str,
) -> Result<Vec<i64>> {
    let out_of_range = |v: &dyn std::fmt::Display| {
        Error::OutOfBounds(format!(
            "{op}: index {v} is out of range for {size} (expected {} <= index < {})",
            range.start, range.end
        ))
    };
    if let Some(exact) = indices.integers() {
        return exact
            .iter()
            .map(|&i| {
                range
                    .contains(&i)
                    .then_some(i)
                    .ok_or_else(|| out_of_range(&i))
            })
            .collect();
    }
    indices
        .data()
        .iter()
        .map(|&v| {
            let f = v.to_f64();
            if f.fract() != 0.0 || !f.is_finite() {
                bail!(InvalidArgument, "{op}: indices must be integers, got {f}");
            }
            if f < range.start as f64 || f >= range.end as f64 {
                return Err(out_of_range(&f));
            }
            if f.abs() >= T::EXACT_INTEGERS_BELOW {
                bail!(
                    InvalidArgument,
                    "{op}: index {f} is held as a {} value, which holds integers exactly only \
                     below {}: it may be another index, rounded. Pass the indices as integer \
                     data (an int32 or int64 array), which stays exact",
                    T::DTYPE,
                    T::EXACT_INTEGERS_BELOW
                );
            }
            Ok(f as i64)
        })
        .collect()
}

impl<T: Float> Tensor<T> {
    /// Rows of this 2-D table `(rows, dim)` picked by the whole numbers in `indices` (any
    /// shape; exact integers when it was made from integer data, see
    /// [`Tensor::integers`]); the result has shape `indices.shape + (dim,)`. The gradient
    /// flows to the table only: each output row's gradient is added to the row it came
    /// from.
    pub fn take_rows(&self, indices: &Tensor<T>) -> Result<Tensor<T>> {
        let &[rows, _] = self.shape() else {
            bail!(
                Shape,
                "embedding: expected a 2-D table (input_dim, output_dim), got shape {}",
                fmt_shape(self.shape())
            );
        };
        let picked = checked_indices(
            indices,
            0..rows as i64,
            "embedding",
            &format!("input_dim {rows}"),
        )?;
        // In range, so each is a row number.
        self.rows_at(
            picked.into_iter().map(|i| i as usize).collect(),
            indices.shape(),
        )
    }

    /// The rows `picked` (checked row numbers) of this `(rows, dim)` table, shaped
    /// `index_shape + (dim,)`; the gradient scatter-adds back into the table.
    fn rows_at(&self, picked: Vec<usize>, index_shape: &[usize]) -> Result<Tensor<T>> {
        let (rows, dim) = (self.shape()[0], self.shape()[1]);
        let mut out = alloc::<T>(picked.len() * dim)?;
        {
            let table = self.data();
            parallel::for_each_rows(&mut out, dim, |first, chunk| {
                for (r, dst) in chunk.chunks_mut(dim.max(1)).enumerate() {
                    let row = picked[first + r];
                    dst.copy_from_slice(&table[row * dim..(row + 1) * dim]);
                }
            });
        }
        let mut shape = index_shape.to_vec();
        shape.push(dim);
        Ok(Tensor::from_op(out, shape, &[self], move |a| {
            // Serial, in index order: a row picked twice sums its gradients in a fixed
            // order, so results are the same for any thread count.
            let mut table_grad = alloc::<T>(rows * dim)?;
            let g = a.grad.data();
            for (k, &row) in picked.iter().enumerate() {
                let dst = &mut table_grad[row * dim..(row + 1) * dim];
                for (d, &v) in dst.iter_mut().zip(&g[k * dim..(k + 1) * dim]) {
                    *d += v;
                }
            }
            Ok(vec![Some(Tensor::from_vec(table_grad, &[rows, dim])?)])
        }))
    }
}

impl<T: Float> Tensor<T> {
    /// Elements picked along `axis` by the whole numbers in `indices` (exact integers
    /// when it was made from integer data), as `np.take` (`keras.ops.take`): axis None
    /// picks from the flattened tensor; a negative index counts from the end. The
    /// result's shape is this tensor's with `axis` replaced by the indices' shape. The
    /// gradient flows to this tensor only.
    pub fn take(&self, indices: &Tensor<T>, axis: Option<isize>) -> Result<Tensor<T>> {
        let Some(axis) = axis else {
            return self.reshape(&[self.numel()])?.take(indices, Some(0));
        };
        let axis = crate::tensor::shape::normalize_axis(axis, self.rank(), "take")?;
        let size = self.shape()[axis];
        let n = size as i64;
        let picked: Vec<usize> =
            checked_indices(indices, -n..n, "take", &format!("an axis of size {size}"))?
                .into_iter()
                .map(|i| i.rem_euclid(n.max(1)) as usize)
                .collect();
        // The picked axis first, the others flattened into one: a table of rows.
        let rank = self.rank() as isize;
        let axis_i = axis as isize;
        let to_front: Vec<isize> = std::iter::once(axis_i)
            .chain((0..rank).filter(|&a| a != axis_i))
            .collect();
        let rest: Vec<usize> = (0..self.rank())
            .filter(|&a| a != axis)
            .map(|a| self.shape()[a])
            .collect();
        let table = self
            .permute(Some(&to_front))?
            .reshape(&[size, rest.iter().product()])?;
        let mut picked_shape = indices.shape().to_vec();
        picked_shape.extend(&rest);
        let picked = table
            .rows_at(picked, indices.shape())?
            .reshape(&picked_shape)?;
        // Back in place: the index axes where `axis` was.
        let (k, r) = (indices.rank() as isize, rest.len() as isize);
        let order: Vec<isize> = (k..k + axis_i)
            .chain(0..k)
            .chain(k + axis_i..k + r)
            .collect();
        picked.permute(Some(&order))
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::gradcheck::{check_grad, rand};
    use crate::Tensor;

    #[test]
    fn gathers_rows() {
        let table = Tensor::<f32>::from_vec((0..6).map(|v| v as f32).collect(), &[3, 2]).unwrap();
        let idx = Tensor::<f32>::from_vec(vec![2., 0., 2., 1.], &[2, 2]).unwrap();
        let y = table.take_rows(&idx).unwrap();
        assert_eq!(y.shape(), &[2, 2, 2]);
        assert_eq!(y.to_vec(), vec![4., 5., 0., 1., 4., 5., 2., 3.]);
    }

    #[test]
    fn gradient_scatter_adds_repeated_rows() {
        let idx = Tensor::<f64>::from_vec(vec![1., 3., 1., 0., 1., 2.], &[2, 3]).unwrap();
        check_grad(&[rand(&[4, 3], 1)], |t| t[0].take_rows(&idx));
        let table = Tensor::<f64>::variable(vec![0.0; 8], &[4, 2]).unwrap();
        let g = crate::grad(
            &table.take_rows(&idx).unwrap().sum(None, false).unwrap(),
            &[table],
        )
        .unwrap();
        assert_eq!(g[0].to_vec(), vec![1., 1., 3., 3., 1., 1., 1., 1.]);
    }

    #[test]
    fn take_matches_numpy() {
        let x = Tensor::<f32>::from_vec((0..24).map(|v| v as f32).collect(), &[2, 3, 4]).unwrap();
        let idx = Tensor::<f32>::from_vec(vec![2., -1., 0.], &[3]).unwrap();
        // np.take(np.arange(24).reshape(2, 3, 4), [2, -1, 0], axis=1)
        let y = x.take(&idx, Some(1)).unwrap();
        assert_eq!(y.shape(), &[2, 3, 4]);
        assert_eq!(&y.to_vec()[..8], &[8., 9., 10., 11., 8., 9., 10., 11.]);
        // np.take(..., [[3, 0]], axis=-1): shape (2, 3, 1, 2)
        let idx2 = Tensor::<f32>::from_vec(vec![3., 0.], &[1, 2]).unwrap();
        let z = x.take(&idx2, Some(-1)).unwrap();
        assert_eq!(z.shape(), &[2, 3, 1, 2]);
        assert_eq!(&z.to_vec()[..4], &[3., 0., 7., 4.]);
        // axis None: the flattened tensor.
        let w = x.take(&idx2, None).unwrap();
        assert_eq!((w.shape(), w.to_vec()), (&[1, 2][..], vec![3., 0.]));
        let err = x.take(&idx, Some(2)).unwrap();
        assert_eq!(err.shape(), &[2, 3, 3]);
        assert!(x.take(&Tensor::scalar(4.0), Some(1)).is_err());
    }

    #[test]
    fn take_gradients() {
        let idx = Tensor::<f64>::from_vec(vec![1., 0., 1., -1.], &[2, 2]).unwrap();
        check_grad(&[rand(&[3, 2, 4], 1)], |t| t[0].take(&idx, Some(1)));
        check_grad(&[rand(&[3, 2, 4], 2)], |t| t[0].take(&idx, Some(0)));
        check_grad(&[rand(&[3, 2, 4], 3)], |t| t[0].take(&idx, None));
    }

    /// Indices made from integer data pick their exact rows beyond 2**24, where
    /// float32 would round them (2**24 + 1 rounds to 2**24), and the gradient reaches
    /// only those rows.
    #[test]
    fn exact_integer_indices_beyond_float32() {
        let rows = (1 << 24) + 3;
        let table =
            Tensor::<f32>::variable((0..rows).map(|r| (r % 1000) as f32).collect(), &[rows, 1])
                .unwrap();
        let idx =
            Tensor::<f32>::from_integers(vec![(1 << 24) + 1, 7, (1 << 24) + 1], &[3]).unwrap();
        assert_eq!(idx.to_vec()[0], 16_777_216.0, "float32 rounds the index");
        let y = table.take_rows(&idx).unwrap();
        let want = ((1 << 24) + 1) % 1000;
        assert_eq!(y.to_vec(), vec![want as f32, 7.0, want as f32]);
        let g = crate::grad(&y.sum(None, false).unwrap(), &[table]).unwrap();
        let g = g[0].to_vec();
        let touched: Vec<(usize, f32)> = g
            .iter()
            .enumerate()
            .filter(|(_, &v)| v != 0.0)
            .map(|(i, &v)| (i, v))
            .collect();
        assert_eq!(touched, vec![(7, 1.0), ((1 << 24) + 1, 2.0)]);
        // take: the same exact indices, and negative ones from the end.
        let flat = Tensor::<f32>::arange(rows).unwrap();
        let neg = Tensor::<f32>::from_integers(vec![-1, (1 << 24) + 1], &[2]).unwrap();
        let picked = flat.take(&neg, Some(0)).unwrap().to_vec();
        assert_eq!(picked, vec![(rows - 1) as f32, ((1 << 24) + 1) as f32]);
    }

    /// Without exact integers, a float index from 2**24 on may be another index rounded:
    /// refused (when in range), naming the op; out of range stays OutOfBounds.
    #[test]
    fn float_indices_that_may_be_rounded_are_refused() {
        let table = Tensor::<f32>::zeros(&[(1 << 24) + 3, 1]).unwrap();
        let err = table
            .take_rows(&Tensor::from_vec(vec![16_777_216.0], &[1]).unwrap())
            .unwrap_err();
        assert!(matches!(err, crate::Error::InvalidArgument(_)), "{err}");
        assert!(
            err.to_string().contains("embedding: index 16777216"),
            "{err}"
        );
        assert!(table.take_rows(&Tensor::scalar(16_777_215.0)).is_ok());
        let small = Tensor::<f32>::zeros(&[4, 1]).unwrap();
        let err = small.take_rows(&Tensor::scalar(1e9)).unwrap_err();
        assert!(matches!(err, crate::Error::OutOfBounds(_)), "{err}");
        let err = small
            .take_rows(&Tensor::from_integers(vec![4], &[]).unwrap())
            .unwrap_err();
        assert!(matches!(err, crate::Error::OutOfBounds(_)), "{err}");
        assert!(err
            .to_string()
            .contains("index 4 is out of range for input_dim 4"));
    }

    #[test]
    fn bad_indices() {
        let table = Tensor::<f32>::zeros(&[4, 2]).unwrap();
        let err = table
            .take_rows(&Tensor::from_vec(vec![1., 4.], &[2]).unwrap())
            .unwrap_err();
        assert!(matches!(err, crate::Error::OutOfBounds(_)));
        assert!(err.to_string().contains("index 4") && err.to_string().contains("input_dim 4"));
        assert!(table.take_rows(&Tensor::scalar(-1.0)).is_err());
        assert!(table.take_rows(&Tensor::scalar(0.5)).is_err());
    }
}
