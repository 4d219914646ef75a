//! Loss functions. As in Keras, a loss function returns one value per sample (the
//! mean over the last axis); reducing over the batch is the caller's choice.

use crate::error::Result;
use crate::tensor::{Float, Tensor};

/// `mean((y_pred - y_true)², axis=-1)`, as `keras.losses.mean_squared_error`.
pub fn mean_squared_error<T: Float>(y_true: &Tensor<T>, y_pred: &Tensor<T>) -> Result<Tensor<T>> {
    let diff = y_pred.sub(y_true)?;
    if diff.rank() == 0 {
        return diff.powf(2.0);
    }
    diff.powf(2.0)?.mean(Some(&[-1]), false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};

    #[test]
    fn values_and_gradient() {
        let t = Tensor::<f32>::from_vec(vec![1., 2., 3., 4.], &[2, 2]).unwrap();
        let p = Tensor::<f32>::from_vec(vec![1., 4., 0., 4.], &[2, 2]).unwrap();
        assert_eq!(mean_squared_error(&t, &p).unwrap().to_vec(), vec![2.0, 4.5]);
        check_grad(&[rand(&[3, 4], 1), rand(&[3, 4], 2)], |x| {
            mean_squared_error(&x[0], &x[1])
        });
    }
}
