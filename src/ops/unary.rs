//! Elementwise functions of one tensor. Each backward rule is written in terms of the
//! input `x`, the output `y` and the incoming gradient `g`.

use crate::error::Result;
use crate::tensor::{Float, Tensor};

/// An elementwise op: `forward(x)`, and `dy/dx` from `(x, y)`.
pub(super) fn unary<T: Float>(
    x: &Tensor<T>,
    forward: impl Fn(T) -> T + Sync + Send,
    derivative: impl Fn(T, T) -> T + Sync + Send + 'static,
) -> Result<Tensor<T>> {
    let y = super::map_data(&x.data(), forward)?;
    Ok(Tensor::from_op(y, x.shape().to_vec(), &[x], move |a| {
        let local = a.inputs[0].zip_map(a.output, &derivative)?;
        Ok(vec![Some(a.grad.zip_map(&local, |g, d| g * d)?)])
    }))
}

impl<T: Float> Tensor<T> {
    /// `-x`.
    pub fn neg(&self) -> Result<Tensor<T>> {
        unary(self, |x| -x, |_, _| -T::one())
    }

    /// `exp(x)`.
    pub fn exp(&self) -> Result<Tensor<T>> {
        unary(self, |x| x.exp(), |_, y| y)
    }

    /// The natural logarithm `ln(x)`.
    pub fn log(&self) -> Result<Tensor<T>> {
        unary(self, |x| x.ln(), |x, _| x.recip())
    }

    /// `sqrt(x)`.
    pub fn sqrt(&self) -> Result<Tensor<T>> {
        unary(self, |x| x.sqrt(), |_, y| T::from_f64(0.5) / y)
    }

    /// |x|; its gradient at 0 is 0, as in NumPy-based frameworks.
    pub fn abs(&self) -> Result<Tensor<T>> {
        unary(
            self,
            |x| x.abs(),
            |x, _| {
                if x == T::zero() {
                    T::zero()
                } else {
                    x.signum()
                }
            },
        )
    }

    /// `tanh(x)`.
    pub fn tanh(&self) -> Result<Tensor<T>> {
        unary(self, |x| x.tanh(), |_, y| T::one() - y * y)
    }

    /// `sin(x)` (radians).
    pub fn sin(&self) -> Result<Tensor<T>> {
        unary(self, |x| x.sin(), |x, _| x.cos())
    }

    /// `cos(x)` (radians).
    pub fn cos(&self) -> Result<Tensor<T>> {
        unary(self, |x| x.cos(), |x, _| -x.sin())
    }

    /// The logistic function `1 / (1 + exp(-x))`.
    pub fn sigmoid(&self) -> Result<Tensor<T>> {
        unary(self, sigmoid, |_, y| y * (T::one() - y))
    }

    /// `max(x, 0)`; its gradient at 0 is 0.
    pub fn relu(&self) -> Result<Tensor<T>> {
        unary(
            self,
            relu,
            |x, _| if x > T::zero() { T::one() } else { T::zero() },
        )
    }

    /// `x ** p` for a scalar exponent `p`.
    pub fn powf(&self, p: f64) -> Result<Tensor<T>> {
        let pt = T::from_f64(p);
        match p {
            1.0 => unary(self, |x| x, |_, _| T::one()),
            2.0 => unary(self, |x| x * x, |x, _| x + x),
            _ => unary(
                self,
                move |x| x.powf(pt),
                move |x, _| pt * x.powf(pt - T::one()),
            ),
        }
    }
}

/// max(x, 0), keeping NaN (as NumPy and Keras do; `f32::max` would drop it).
pub(crate) fn relu<T: Float>(x: T) -> T {
    if x < T::zero() {
        T::zero()
    } else {
        x
    }
}

/// The logistic function, computed without overflow for large |x|.
pub(crate) fn sigmoid<T: Float>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::gradcheck::{check_grad, rand};
    use crate::Tensor;

    #[test]
    fn gradients() {
        let x = rand(&[3, 4], 3);
        let positive = x.map(|v| v + 1.5).unwrap();
        // Keep relu and abs away from the kink at 0, where no derivative exists.
        let away = x.map(|v| if v.abs() < 0.05 { 0.3 } else { v }).unwrap();
        check_grad(&[x.clone()], |t| t[0].neg());
        check_grad(&[x.clone()], |t| t[0].exp());
        check_grad(&[positive.clone()], |t| t[0].log());
        check_grad(&[positive.clone()], |t| t[0].sqrt());
        check_grad(&[away.clone()], |t| t[0].abs());
        check_grad(&[x.clone()], |t| t[0].tanh());
        check_grad(&[x.clone()], |t| t[0].sin());
        check_grad(&[x.clone()], |t| t[0].cos());
        check_grad(&[x.clone()], |t| t[0].sigmoid());
        check_grad(&[away], |t| t[0].relu());
        check_grad(&[x.clone()], |t| t[0].powf(2.0));
        check_grad(&[x], |t| t[0].powf(3.0));
        check_grad(&[positive], |t| t[0].powf(-1.5));
    }

    #[test]
    fn forward_values() {
        let x = Tensor::<f32>::from_vec(vec![-1000., -1., 0., 2., 1000.], &[5]).unwrap();
        let s = x.sigmoid().unwrap().to_vec();
        assert_eq!(s[0], 0.0);
        assert_eq!(s[4], 1.0);
        assert_eq!(s[2], 0.5);
        assert_eq!(x.relu().unwrap().to_vec(), vec![0., 0., 0., 2., 1000.]);
        assert_eq!(x.abs().unwrap().to_vec()[1], 1.0);
        assert_eq!(x.powf(2.0).unwrap().to_vec()[3], 4.0);
    }
}
