//! Rescaling: `x · scale + offset`.

use super::tensor_from_json;
use crate::bail;
use crate::config::Args;
use crate::error::Result;
use crate::nn::Layer;
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// Multiplies the input by `scale` and adds `offset`: numbers, or arrays that broadcast
/// against the input (per channel, over the last axes).
pub struct Rescaling<T: Float = f32> {
    /// The factor: a scalar or an array that broadcasts against the input.
    pub scale: Tensor<T>,
    /// The term added after scaling: a scalar (default 0) or a broadcasting array.
    pub offset: Tensor<T>,
}

impl<T: Float> Rescaling<T> {
    /// The layer of a Keras `Rescaling` config (`scale`, `offset`, default 0).
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new("Rescaling", config)?;
        let scale = match args.given("scale") {
            None => bail!(InvalidArgument, "Rescaling: the config has no `scale`"),
            Some(v) => tensor_from_json("Rescaling", "scale", v)?,
        };
        let offset = match args.given("offset") {
            None => Tensor::scalar(T::zero()),
            Some(v) => tensor_from_json("Rescaling", "offset", v)?,
        };
        Ok(Rescaling { scale, offset })
    }

    /// `x · scale + offset`.
    pub fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        x.mul(&self.scale)?.add(&self.offset)
    }
}

impl Layer for Rescaling<f32> {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Rescaling::forward(self, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};
    use serde_json::json;

    #[test]
    fn scales_shifts_and_broadcasts() {
        let r = Rescaling::<f64>::from_config(&json!({"scale": 0.5, "offset": -1.0})).unwrap();
        let x = Tensor::<f64>::from_vec(vec![0., 2., 4.], &[3, 1]).unwrap();
        assert_eq!(r.forward(&x).unwrap().to_vec(), vec![-1., 0., 1.]);
        check_grad(&[rand(&[2, 3], 1)], |t| r.forward(&t[0]));
        let per_channel = Rescaling::<f64>::from_config(&json!({"scale": [1.0, 2.0]})).unwrap();
        let y = per_channel
            .forward(&Tensor::ones(&[2, 2]).unwrap())
            .unwrap();
        assert_eq!(y.to_vec(), vec![1., 2., 1., 2.]);
        assert!(per_channel
            .forward(&Tensor::ones(&[2, 3]).unwrap())
            .is_err());
        assert!(Rescaling::<f64>::from_config(&json!({})).is_err());
    }
}
