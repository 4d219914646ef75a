//! The matrix product op: NumPy's `matmul`, forward and backward. The products
//! themselves are cut up and scheduled in [`crate::kernels::gemm`].

use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::kernels::gemm::{gemm, Mat};
use crate::kernels::pool::alloc_for_overwrite;
use crate::tensor::shape::{broadcast_shapes, broadcast_strides, checked_numel};
use crate::tensor::{Float, Tensor};

impl<T: Float> Tensor<T> {
    /// Matrix product with NumPy's `matmul` rules: 1-D operands are promoted to
    /// matrices and the leading (batch) axes broadcast.
    pub fn matmul(&self, other: &Tensor<T>) -> Result<Tensor<T>> {
        let (a, b) = (self, other);
        if a.rank() == 0 || b.rank() == 0 {
            bail!(
                Shape,
                "matmul: operands must have at least one dimension, got shapes {} and {}",
                fmt_shape(a.shape()),
                fmt_shape(b.shape())
            );
        }
        if a.rank() == 1 || b.rank() == 1 {
            let a2 = if a.rank() == 1 {
                a.reshape(&[1, a.numel()])?
            } else {
                a.clone()
            };
            let b2 = if b.rank() == 1 {
                b.reshape(&[b.numel(), 1])?
            } else {
                b.clone()
            };
            let out = a2
                .matmul(&b2)
                .map_err(|_| not_aligned(a.shape(), b.shape()))?;
            let mut shape = out.shape().to_vec();
            if b.rank() == 1 {
                shape.pop();
            }
            if a.rank() == 1 {
                shape.remove(shape.len() - 1 - usize::from(b.rank() != 1));
            }
            return out.reshape(&shape);
        }
        let (ra, rb) = (a.rank(), b.rank());
        let (m, k, n) = (a.shape()[ra - 2], a.shape()[ra - 1], b.shape()[rb - 1]);
        if b.shape()[rb - 2] != k {
            return Err(not_aligned(a.shape(), b.shape()));
        }
        let batch = broadcast_shapes(&a.shape()[..ra - 2], &b.shape()[..rb - 2], "matmul")
            .map_err(|_| {
                crate::Error::Shape(format!(
                    "matmul: the batch axes of shapes {} and {} cannot be broadcast together",
                    fmt_shape(a.shape()),
                    fmt_shape(b.shape())
                ))
            })?;
        let mut shape = batch.clone();
        shape.extend([m, n]);
        let mut out = alloc_for_overwrite::<T>(checked_numel(&shape, std::mem::size_of::<T>())?)?;
        let (sa, sb) = (
            broadcast_strides(&a.shape()[..ra - 2], &batch),
            broadcast_strides(&b.shape()[..rb - 2], &batch),
        );
        let (x, y) = (a.data(), b.data());
        let batches: usize = batch.iter().product();
        for (i, dst) in out.chunks_mut((m * n).max(1)).enumerate().take(batches) {
            let (mut r, mut oa, mut ob) = (i, 0isize, 0isize);
            for d in (0..batch.len()).rev() {
                let idx = (r % batch[d]) as isize;
                r /= batch[d];
                oa += idx * sa[d];
                ob += idx * sb[d];
            }
            let lhs = Mat::rows(&x[oa as usize * m * k..], k);
            let rhs = Mat::rows(&y[ob as usize * k * n..], n);
            gemm(m, n, k, dst, lhs, rhs, false);
        }
        drop((x, y));
        Ok(Tensor::from_op(out, shape, &[a, b], |g| {
            let [a, b] = [&g.inputs[0], &g.inputs[1]];
            Ok(vec![
                Some(g.grad.matmul(&b.t()?)?.sum_to_shape(a.shape())?),
                Some(a.t()?.matmul(g.grad)?.sum_to_shape(b.shape())?),
            ])
        }))
    }
}

fn not_aligned(a: &[usize], b: &[usize]) -> crate::Error {
    let k = a[a.len() - 1];
    let k2 = if b.len() == 1 { b[0] } else { b[b.len() - 2] };
    crate::Error::Shape(format!(
        "matmul: shapes {} and {} are not aligned: {k} (last axis of the first) != {k2} ({} axis of the second)",
        fmt_shape(a),
        fmt_shape(b),
        if b.len() == 1 { "only" } else { "second-to-last" }
    ))
}

#[cfg(test)]
mod tests {
    use crate::ops::gradcheck::{check_grad, rand};
    use crate::Tensor;

    #[test]
    fn gradients() {
        for (sa, sb) in [
            (vec![3, 4], vec![4, 5]),
            (vec![2, 3, 4], vec![4, 5]),
            (vec![2, 1, 3, 4], vec![5, 4, 2]),
            (vec![4], vec![4, 3]),
            (vec![3, 4], vec![4]),
            (vec![4], vec![4]),
        ] {
            check_grad(&[rand(&sa, 1), rand(&sb, 2)], |t| t[0].matmul(&t[1]));
        }
    }

    #[test]
    fn forward_values_and_errors() {
        let a = Tensor::<f32>::from_vec(vec![1., 2., 3., 4., 5., 6.], &[2, 3]).unwrap();
        let b = Tensor::<f32>::from_vec(vec![1., 0., 0., 1., 1., 1.], &[3, 2]).unwrap();
        assert_eq!(a.matmul(&b).unwrap().to_vec(), vec![4., 5., 10., 11.]);
        let e = a.matmul(&a).unwrap_err().to_string();
        assert!(e.contains("matmul") && e.contains("(2, 3)"), "{e}");
        let big = Tensor::<f32>::ones(&[128, 256]).unwrap();
        let c = big.matmul(&Tensor::ones(&[256, 64]).unwrap()).unwrap();
        assert!(c.to_vec().iter().all(|&v| v == 256.0));
    }
}
