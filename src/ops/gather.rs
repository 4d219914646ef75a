//! Row gather (an embedding lookup) and its backward, a scatter-add of rows.

use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::kernels::parallel;
use crate::kernels::pool::alloc;
use crate::tensor::{Float, Tensor};

/// The integer row numbers held (as floats) in `indices`, each checked against `rows`.
fn row_numbers<T: Float>(indices: &Tensor<T>, rows: usize) -> Result<Vec<usize>> {
    indices
        .data()
        .iter()
        .map(|&v| {
            let f = v.to_f64();
            if f.fract() != 0.0 || !f.is_finite() {
                bail!(
                    InvalidArgument,
                    "embedding: indices must be integers, got {f}"
                );
            }
            if f < 0.0 || f >= rows as f64 {
                bail!(
                    OutOfBounds,
                    "embedding: index {f} is out of range for input_dim {rows} (expected 0 <= index < {rows})"
                );
            }
            Ok(f as usize)
        })
        .collect()
}

impl<T: Float> Tensor<T> {
    /// Rows of this 2-D table `(rows, dim)` picked by the integer values of `indices`
    /// (any shape); the result has shape `indices.shape + (dim,)`. The gradient flows to
    /// the table only: each output row's gradient is added to the row it came from.
    pub fn take_rows(&self, indices: &Tensor<T>) -> Result<Tensor<T>> {
        let &[rows, dim] = self.shape() else {
            bail!(
                Shape,
                "embedding: expected a 2-D table (input_dim, output_dim), got shape {}",
                fmt_shape(self.shape())
            );
        };
        let picked = row_numbers(indices, rows)?;
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
        let mut shape = indices.shape().to_vec();
        shape.push(dim);
        Ok(Tensor::from_op(out, shape, &[self, indices], move |a| {
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
            Ok(vec![
                Some(Tensor::from_vec(table_grad, &[rows, dim])?),
                None,
            ])
        }))
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
