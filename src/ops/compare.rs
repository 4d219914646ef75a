//! Ops that compare values: elementwise `maximum`/`minimum`, `where` (select),
//! the `min` reduction and `argmax` (Keras's `keras.ops` names, NumPy broadcasting).

use super::binary::broadcast_zip;
use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::kernels::pool::alloc_for_overwrite;
use crate::tensor::shape::{broadcast_shapes, normalize_axis};
use crate::tensor::{Float, Tensor};

/// The larger (`pick_first(x, y)` true: `x`) of each pair; on a tie the gradient is
/// split evenly between the two, as JAX's `lax.max`/`lax.min` do.
fn extremum<T: Float>(
    a: &Tensor<T>,
    b: &Tensor<T>,
    op: &'static str,
    pick_first: fn(T, T) -> bool,
) -> Result<Tensor<T>> {
    // NaN propagates, as in numpy and JAX.
    let value = move |u: T, v: T| {
        if u.is_nan() || pick_first(u, v) {
            u
        } else {
            v
        }
    };
    let (data, shape) = broadcast_zip(a, b, op, value)?;
    Ok(Tensor::from_op(data, shape, &[a, b], move |args| {
        let [x, y] = [&args.inputs[0], &args.inputs[1]];
        let half = T::from_f64(0.5);
        // The share of the gradient that goes to x at each element.
        let (to_x, _) = broadcast_zip(x, y, op, move |u, v| {
            if u == v {
                half
            } else if value(u, v) == u {
                T::one()
            } else {
                T::zero()
            }
        })?;
        let to_x = Tensor::from_vec(to_x, args.grad.shape())?;
        let gx = args.grad.zip_map(&to_x, |g, s| g * s)?;
        let gy = args.grad.zip_map(&to_x, |g, s| g * (T::one() - s))?;
        Ok(vec![
            Some(gx.sum_to_shape(x.shape())?),
            Some(gy.sum_to_shape(y.shape())?),
        ])
    }))
}

/// An elementwise comparison of [`Tensor::compare`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `x < y`
    Less,
    /// `x <= y`
    LessEqual,
    /// `x > y`
    Greater,
    /// `x >= y`
    GreaterEqual,
    /// `x == y`
    Equal,
    /// `x != y`
    NotEqual,
}

impl Comparison {
    /// The comparison `keras.ops` names `name` (`"less"`, `"greater_equal"`, ...).
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "less" => Comparison::Less,
            "less_equal" => Comparison::LessEqual,
            "greater" => Comparison::Greater,
            "greater_equal" => Comparison::GreaterEqual,
            "equal" => Comparison::Equal,
            "not_equal" => Comparison::NotEqual,
            other => bail!(
                InvalidArgument,
                "compare: unknown comparison {other:?}, expected one of less, less_equal, greater, greater_equal, equal, not_equal"
            ),
        })
    }

    fn holds<T: Float>(self, x: T, y: T) -> bool {
        match self {
            Comparison::Less => x < y,
            Comparison::LessEqual => x <= y,
            Comparison::Greater => x > y,
            Comparison::GreaterEqual => x >= y,
            Comparison::Equal => x == y,
            Comparison::NotEqual => x != y,
        }
    }
}

impl<T: Float> Tensor<T> {
    /// 1 where `self how other` holds, else 0, broadcast (`keras.ops.less`, ...; kandle
    /// tensors hold float32, so booleans are 0 and 1). Records no gradient.
    pub fn compare(&self, other: &Tensor<T>, how: Comparison) -> Result<Tensor<T>> {
        let (data, shape) = broadcast_zip(self, other, "compare", move |u, v| {
            if how.holds(u, v) {
                T::one()
            } else {
                T::zero()
            }
        })?;
        Tensor::from_vec(data, &shape)
    }

    /// The elementwise maximum of `self` and `other`, broadcast (`keras.ops.maximum`).
    pub fn maximum(&self, other: &Tensor<T>) -> Result<Tensor<T>> {
        extremum(self, other, "maximum", |u, v| u > v)
    }

    /// The elementwise minimum of `self` and `other`, broadcast (`keras.ops.minimum`).
    pub fn minimum(&self, other: &Tensor<T>) -> Result<Tensor<T>> {
        extremum(self, other, "minimum", |u, v| u < v)
    }

    /// `x` where `self` (the condition) is nonzero, else `y`; all three broadcast
    /// (`keras.ops.where`). Gradients flow to `x` and `y`, never to the condition.
    pub fn select(&self, x: &Tensor<T>, y: &Tensor<T>) -> Result<Tensor<T>> {
        let shape = broadcast_shapes(
            &broadcast_shapes(self.shape(), x.shape(), "where")?,
            y.shape(),
            "where",
        )?;
        let mask = self.detach().broadcast_to(&shape)?;
        let (xb, yb) = (x.broadcast_to(&shape)?, y.broadcast_to(&shape)?);
        let data = {
            let (c, u, v) = (mask.data(), xb.data(), yb.data());
            c.iter()
                .zip(u.iter().zip(v.iter()))
                .map(|(&c, (&u, &v))| if c != T::zero() { u } else { v })
                .collect()
        };
        Ok(Tensor::from_op(data, shape, &[&xb, &yb], move |args| {
            let gx = args
                .grad
                .zip_map(&mask, |g, c| if c != T::zero() { g } else { T::zero() })?;
            let gy = args
                .grad
                .zip_map(&mask, |g, c| if c != T::zero() { T::zero() } else { g })?;
            Ok(vec![Some(gx), Some(gy)])
        }))
    }

    /// Minimum over `axes` (None: all), as `np.min`: minus the maximum of minus the
    /// values, so ties share the gradient as in [`Tensor::max`].
    pub fn min(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor<T>> {
        self.neg()?.max(axes, keepdims)?.neg()
    }

    /// The index of the largest value along `axis` (None: of the flattened tensor), as
    /// `np.argmax`: the first on a tie, the first NaN if any. The indices are whole
    /// numbers held as floats; the result records no gradient.
    pub fn argmax(&self, axis: Option<isize>, keepdims: bool) -> Result<Tensor<T>> {
        let (outer, n, inner, out_shape) = match axis {
            None => {
                let shape = if keepdims {
                    vec![1; self.rank()]
                } else {
                    vec![]
                };
                (1, self.numel(), 1, shape)
            }
            Some(a) => {
                let axis = normalize_axis(a, self.rank(), "argmax")?;
                let shape = self.shape();
                let mut out: Vec<usize> = shape.to_vec();
                if keepdims {
                    out[axis] = 1;
                } else {
                    out.remove(axis);
                }
                let outer = shape[..axis].iter().product();
                let inner = shape[axis + 1..].iter().product();
                (outer, shape[axis], inner, out)
            }
        };
        if n == 0 {
            bail!(
                InvalidArgument,
                "argmax: attempt to get argmax of an empty sequence (a tensor of shape {})",
                fmt_shape(self.shape())
            );
        }
        let data = self.data();
        let mut out = alloc_for_overwrite::<T>(outer * inner)?;
        for o in 0..outer {
            for i in 0..inner {
                let at = |k: usize| data[(o * n + k) * inner + i];
                let mut best = 0;
                for k in 1..n {
                    let (v, b) = (at(k), at(best));
                    if b.is_nan() {
                        break;
                    }
                    if v > b || v.is_nan() {
                        best = k;
                    }
                }
                out[o * inner + i] = T::from_f64(best as f64);
            }
        }
        Tensor::from_vec(out, &out_shape)
    }
}

#[cfg(test)]
mod tests {
    use super::Comparison;
    use crate::ops::gradcheck::{check_grad, rand};
    use crate::Tensor;

    #[test]
    fn maximum_and_minimum_gradients_with_broadcasting() {
        for (sa, sb) in [
            (vec![3, 4], vec![3, 4]),
            (vec![3, 1], vec![1, 4]),
            (vec![2, 3, 4], vec![4]),
            (vec![], vec![2, 3]),
        ] {
            let (a, b) = (rand(&sa, 1), rand(&sb, 2));
            check_grad(&[a.clone(), b.clone()], |x| x[0].maximum(&x[1]));
            check_grad(&[a.clone(), b.clone()], |x| x[0].minimum(&x[1]));
        }
    }

    #[test]
    fn maximum_values_ties_and_nan() {
        let a = Tensor::<f64>::variable(vec![1., 5., 2., f64::NAN], &[4]).unwrap();
        let b = Tensor::<f64>::variable(vec![3., 4., 2., 0.], &[4]).unwrap();
        let m = a.maximum(&b).unwrap();
        let v = m.to_vec();
        assert_eq!(&v[..3], &[3., 5., 2.]);
        assert!(v[3].is_nan());
        assert_eq!(a.minimum(&b).unwrap().to_vec()[..3], [1., 4., 2.]);
        let g = crate::grad(&m.sum(Some(&[0]), false).unwrap(), &[a, b]);
        let g = g.unwrap();
        assert_eq!(g[0].to_vec()[..3], [0., 1., 0.5]);
        assert_eq!(g[1].to_vec()[..3], [1., 0., 0.5]);
    }

    #[test]
    fn select_gradients_and_values() {
        let cond = Tensor::<f64>::from_vec(vec![1., 0., 0., 1., 1., 0.], &[2, 3]).unwrap();
        check_grad(&[rand(&[2, 3], 1), rand(&[3], 2)], |x| {
            cond.select(&x[0], &x[1])
        });
        check_grad(&[rand(&[1], 1), rand(&[2, 1], 2)], |x| {
            cond.select(&x[0], &x[1])
        });
        let x = Tensor::<f64>::from_vec(vec![1., 2., 3.], &[3]).unwrap();
        let y = Tensor::<f64>::scalar(f64::INFINITY);
        let out = cond.select(&x, &y).unwrap();
        assert_eq!(
            out.to_vec(),
            vec![1., f64::INFINITY, f64::INFINITY, 1., 2., f64::INFINITY]
        );
        assert!(cond
            .select(&Tensor::zeros(&[4]).unwrap(), &x)
            .unwrap_err()
            .to_string()
            .contains("where"));
    }

    #[test]
    fn min_gradients_and_values() {
        let x = rand(&[2, 3, 4], 7);
        for keep in [false, true] {
            check_grad(&[x.clone()], |t| t[0].min(None, keep));
            for axes in [vec![0], vec![-1], vec![0, 2]] {
                check_grad(&[x.clone()], |t| t[0].min(Some(&axes), keep));
            }
        }
        let y = Tensor::<f32>::from_vec(vec![1., 5., 3., 4., 2., 6.], &[2, 3]).unwrap();
        assert_eq!(y.min(Some(&[1]), false).unwrap().to_vec(), vec![1., 2.]);
    }

    #[test]
    fn comparisons_broadcast_and_record_nothing() {
        let x = Tensor::<f64>::variable(vec![1., 2., 3.], &[3]).unwrap();
        let two = Tensor::<f64>::scalar(2.0);
        let expect = [
            (Comparison::Less, [1., 0., 0.]),
            (Comparison::LessEqual, [1., 1., 0.]),
            (Comparison::Greater, [0., 0., 1.]),
            (Comparison::GreaterEqual, [0., 1., 1.]),
            (Comparison::Equal, [0., 1., 0.]),
            (Comparison::NotEqual, [1., 0., 1.]),
        ];
        for (how, want) in expect {
            let out = x.compare(&two, how).unwrap();
            assert_eq!(out.to_vec(), want.to_vec(), "{how:?}");
            assert!(!out.requires_grad());
        }
        assert!(Comparison::from_name("lesser").is_err());
        assert_eq!(
            Comparison::from_name("greater_equal").unwrap(),
            Comparison::GreaterEqual
        );
    }

    #[test]
    fn argmax_values() {
        let x = Tensor::<f32>::from_vec(vec![1., 7., 7., 9., 2., 0.], &[2, 3]).unwrap();
        assert_eq!(x.argmax(None, false).unwrap().to_vec(), vec![3.]);
        assert_eq!(x.argmax(None, true).unwrap().shape(), &[1, 1]);
        assert_eq!(x.argmax(Some(1), false).unwrap().to_vec(), vec![1., 0.]);
        assert_eq!(x.argmax(Some(0), false).unwrap().to_vec(), vec![1., 0., 0.]);
        assert_eq!(x.argmax(Some(-1), true).unwrap().shape(), &[2, 1]);
        let nan = Tensor::<f32>::from_vec(vec![1., f32::NAN, 9.], &[3]).unwrap();
        assert_eq!(nan.argmax(None, false).unwrap().to_vec(), vec![1.]);
        assert!(Tensor::<f32>::zeros(&[0])
            .unwrap()
            .argmax(None, false)
            .is_err());
        assert!(x.argmax(Some(2), false).is_err());
    }
}
