//! Elementwise arithmetic between two tensors, with NumPy broadcasting.

use crate::error::Result;
use crate::kernels::parallel;
use crate::kernels::pool::alloc_for_overwrite;
use crate::tensor::shape::{broadcast_shapes, broadcast_strides, checked_numel};
use crate::tensor::{Float, Tensor};

/// Computes `f(a, b)` elementwise over the broadcast shape.
pub(super) fn broadcast_zip<T: Float>(
    a: &Tensor<T>,
    b: &Tensor<T>,
    op: &str,
    f: impl Fn(T, T) -> T + Sync + Send,
) -> Result<(Vec<T>, Vec<usize>)> {
    let shape = broadcast_shapes(a.shape(), b.shape(), op)?;
    let n = checked_numel(&shape, std::mem::size_of::<T>())?;
    let mut out = alloc_for_overwrite::<T>(n)?;
    if n == 0 {
        // An empty result (a zero-size axis broadcast against anything), as in numpy.
        return Ok((out, shape));
    }
    let (x, y) = (a.data(), b.data());
    let (nx, ny) = (x.len(), y.len());
    if nx == n && ny == n {
        parallel::for_each_chunk(&mut out, |s, c| {
            for ((o, &x), &y) in c.iter_mut().zip(&x[s..]).zip(&y[s..]) {
                *o = f(x, y);
            }
        });
    } else if nx == n && (ny == 1 || a.shape().ends_with(b.shape())) {
        // b repeats along the leading axes of a (a bias row, or a scalar).
        parallel::for_each_chunk(&mut out, |s, c| {
            c.iter_mut()
                .enumerate()
                .for_each(|(i, o)| *o = f(x[s + i], y[(s + i) % ny]))
        });
    } else if ny == n && (nx == 1 || b.shape().ends_with(a.shape())) {
        parallel::for_each_chunk(&mut out, |s, c| {
            c.iter_mut()
                .enumerate()
                .for_each(|(i, o)| *o = f(x[(s + i) % nx], y[s + i]))
        });
    } else {
        // General case: walk the output with per-input strides (0 along broadcast axes).
        let (sa, sb) = (
            broadcast_strides(a.shape(), &shape),
            broadcast_strides(b.shape(), &shape),
        );
        let rank = shape.len();
        let inner = shape[rank - 1];
        parallel::for_each_rows(&mut out, inner, |first_row, rows| {
            let mut idx = vec![0usize; rank];
            for row in first_row..first_row + rows.len() / inner {
                // Position of this row's first element in a and b.
                let mut r = row;
                let (mut oa, mut ob) = (0isize, 0isize);
                for d in (0..rank - 1).rev() {
                    idx[d] = r % shape[d];
                    r /= shape[d];
                    oa += idx[d] as isize * sa[d];
                    ob += idx[d] as isize * sb[d];
                }
                let dst = &mut rows[(row - first_row) * inner..][..inner];
                for (j, o) in dst.iter_mut().enumerate() {
                    let j = j as isize;
                    *o = f(
                        x[(oa + j * sa[rank - 1]) as usize],
                        y[(ob + j * sb[rank - 1]) as usize],
                    );
                }
            }
        });
    }
    Ok((out, shape))
}

impl<T: Float> Tensor<T> {
    /// Sums a broadcast gradient back down to `shape` (the shape of the operand that
    /// was broadcast): over the leading axes it lacks and the axes where it has size 1.
    pub fn sum_to_shape(&self, shape: &[usize]) -> Result<Tensor<T>> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let lead = self.rank() - shape.len();
        let axes: Vec<isize> = (0..self.rank())
            .filter(|&i| i < lead || shape[i - lead] == 1 && self.shape()[i] != 1)
            .map(|i| i as isize)
            .collect();
        self.sum(Some(&axes), true)?.reshape(shape)
    }

    /// `self + other`, broadcast as in NumPy.
    pub fn add(&self, other: &Tensor<T>) -> Result<Tensor<T>> {
        let (data, shape) = broadcast_zip(self, other, "add", |a, b| a + b)?;
        Ok(Tensor::from_op(data, shape, &[self, other], |a| {
            Ok(vec![
                Some(a.grad.sum_to_shape(a.inputs[0].shape())?),
                Some(a.grad.sum_to_shape(a.inputs[1].shape())?),
            ])
        }))
    }

    /// `self - other`, broadcast as in NumPy.
    pub fn sub(&self, other: &Tensor<T>) -> Result<Tensor<T>> {
        let (data, shape) = broadcast_zip(self, other, "subtract", |a, b| a - b)?;
        Ok(Tensor::from_op(data, shape, &[self, other], |a| {
            Ok(vec![
                Some(a.grad.sum_to_shape(a.inputs[0].shape())?),
                Some(a.grad.map(|g| -g)?.sum_to_shape(a.inputs[1].shape())?),
            ])
        }))
    }

    /// `self * other`, broadcast as in NumPy.
    pub fn mul(&self, other: &Tensor<T>) -> Result<Tensor<T>> {
        let (data, shape) = broadcast_zip(self, other, "multiply", |a, b| a * b)?;
        Ok(Tensor::from_op(data, shape, &[self, other], |a| {
            let [x, y] = [&a.inputs[0], &a.inputs[1]];
            Ok(vec![
                Some(a.grad.mul(y)?.sum_to_shape(x.shape())?),
                Some(a.grad.mul(x)?.sum_to_shape(y.shape())?),
            ])
        }))
    }

    /// `self / other`, broadcast as in NumPy.
    pub fn div(&self, other: &Tensor<T>) -> Result<Tensor<T>> {
        let (data, shape) = broadcast_zip(self, other, "divide", |a, b| a / b)?;
        Ok(Tensor::from_op(data, shape, &[self, other], |a| {
            let [x, y] = [&a.inputs[0], &a.inputs[1]];
            // d(x/y)/dy = -x/y² = -out/y
            let dy = a.grad.mul(a.output)?.div(y)?.map(|v| -v)?;
            Ok(vec![
                Some(a.grad.div(y)?.sum_to_shape(x.shape())?),
                Some(dy.sum_to_shape(y.shape())?),
            ])
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::gradcheck::{check_grad, rand};
    use crate::Tensor;

    /// A zero-size axis broadcasts as in numpy: (3, 1) + (0,) is (3, 0), and the
    /// gradients come back empty in each operand's shape.
    #[test]
    fn broadcasting_against_a_zero_size_axis() {
        let a = Tensor::<f64>::variable(vec![1.0, 2.0, 3.0], &[3, 1]).unwrap();
        let b = Tensor::<f64>::variable(vec![], &[0]).unwrap();
        for out in [a.add(&b).unwrap(), b.mul(&a).unwrap(), a.sub(&b).unwrap()] {
            assert_eq!(out.shape(), &[3, 0]);
            let grads = crate::grad(&out.sum(None, false).unwrap(), &[a.clone(), b.clone()]);
            let grads = grads.unwrap();
            assert_eq!(
                (grads[0].shape(), grads[1].shape()),
                (&[3, 1][..], &[0][..])
            );
            assert_eq!(grads[0].to_vec(), vec![0.0; 3]);
        }
    }

    #[test]
    fn gradients_with_broadcasting() {
        for (sa, sb) in [
            (vec![3, 4], vec![3, 4]),
            (vec![3, 1], vec![1, 4]),
            (vec![2, 3, 4], vec![4]),
            (vec![2, 3, 4], vec![3, 1]),
            (vec![], vec![2, 3]),
            (vec![2, 3], vec![]),
            (vec![2, 1, 4], vec![3, 1]),
        ] {
            let (a, b) = (rand(&sa, 1), rand(&sb, 2).map(|v| v + 2.0).unwrap());
            check_grad(&[a.clone(), b.clone()], |x| x[0].add(&x[1]));
            check_grad(&[a.clone(), b.clone()], |x| x[0].sub(&x[1]));
            check_grad(&[a.clone(), b.clone()], |x| x[0].mul(&x[1]));
            check_grad(&[a.clone(), b.clone()], |x| x[0].div(&x[1]));
            check_grad(&[a.clone(), b.clone()], |x| x[0].maximum(&x[1]));
            check_grad(&[a.clone(), b.clone()], |x| x[0].minimum(&x[1]));
        }
    }

    #[test]
    fn forward_values() {
        let a = crate::Tensor::<f32>::from_vec(vec![1., 2., 3.], &[3, 1]).unwrap();
        let b = crate::Tensor::<f32>::from_vec(vec![10., 20.], &[1, 2]).unwrap();
        assert_eq!(
            a.add(&b).unwrap().to_vec(),
            vec![11., 21., 12., 22., 13., 23.]
        );
        assert_eq!(a.sub(&b).unwrap().shape(), &[3, 2]);
        assert!(a.add(&crate::Tensor::zeros(&[2, 3]).unwrap()).is_err());
        let c = crate::Tensor::<f32>::from_vec(vec![1., 5., 3.], &[3]).unwrap();
        let d = crate::Tensor::<f32>::from_vec(vec![2., 4., 3.], &[3]).unwrap();
        assert_eq!(c.maximum(&d).unwrap().to_vec(), vec![2., 5., 3.]);
        assert_eq!(c.minimum(&d).unwrap().to_vec(), vec![1., 4., 3.]);
        // Ties split the gradient, as in JAX.
        let (cv, dv) = (c.to_variable(), d.to_variable());
        let out = cv.maximum(&dv).unwrap().sum(None, false).unwrap();
        let g = crate::grad(&out, &[cv.clone(), dv.clone()]).unwrap();
        assert_eq!(g[0].to_vec(), vec![0., 1., 0.5]);
        assert_eq!(g[1].to_vec(), vec![1., 0., 0.5]);
    }
}
