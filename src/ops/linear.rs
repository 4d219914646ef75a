//! The fused Dense op: `act(x · wᵀ + b)` in one forward pass and one backward pass.
//! This is the hot op of training, so its backward is derived by hand.

use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::kernels::gemm::{gemm_pair, Finish, Mat, Product};
use crate::kernels::pool::alloc_for_overwrite;
use crate::tensor::{Float, Tensor};

/// Activations that fuse into [`Tensor::linear`]: their derivative is a function of
/// the output, so the backward needs no extra buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// `x`.
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
}

/// The epilogue of a fused op as a product's [`Finish`]: `act(v + bias)` on each row.
#[derive(Clone, Copy)]
pub(crate) struct Epilogue<'a, T> {
    pub act: Activation,
    pub bias: Option<&'a [T]>,
}

impl<T: Float> Finish<T> for Epilogue<'_, T> {
    #[inline(always)]
    fn finish(&self, first: usize, values: &mut [T]) {
        self.act.finish_row(self.bias, first, values)
    }
}

impl Activation {
    /// The fusable activation Keras calls `name`.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "linear" => Activation::Linear,
            "relu" => Activation::Relu,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            _ => bail!(
                InvalidArgument,
                "activation {name:?} cannot be fused into a Dense op"
            ),
        })
    }

    #[inline(always)]
    fn apply<T: Float>(self, v: T) -> T {
        match self {
            Activation::Linear => v,
            Activation::Relu => super::unary::relu(v),
            Activation::Sigmoid => super::unary::sigmoid(v),
            Activation::Tanh => v.tanh(),
        }
    }

    /// The gradient before the activation from the gradient `g` after it and the
    /// activation's output `y`.
    fn backprop<T: Float>(self, g: T, y: T) -> T {
        match self {
            Activation::Linear => g,
            // A select, not a multiply by a 0/1 derivative: no branch to mispredict on
            // relu's random sign pattern, and the loop vectorizes.
            Activation::Relu => {
                if y > T::zero() {
                    g
                } else {
                    T::zero()
                }
            }
            Activation::Sigmoid => g * y * (T::one() - y),
            Activation::Tanh => g * (T::one() - y * y),
        }
    }

    /// The epilogue of a fused op: `act(v + bias)` on one row of a product's values,
    /// which start at column `first` (bias indexed by column).
    #[inline(always)]
    pub(crate) fn finish_row<T: Float>(self, bias: Option<&[T]>, first: usize, values: &mut [T]) {
        /// `v = f(v + bias)` on each value; one loop per activation, chosen before it,
        /// so that it vectorizes (a match inside the loop left a jump per value).
        #[inline(always)]
        fn each<T: Float>(bias: Option<&[T]>, values: &mut [T], f: impl Fn(T) -> T) {
            match bias {
                Some(b) => values.iter_mut().zip(b).for_each(|(v, &b)| *v = f(*v + b)),
                None => values.iter_mut().for_each(|v| *v = f(*v)),
            }
        }
        let bias = bias.map(|b| &b[first..]);
        match self {
            Activation::Linear if bias.is_some() => each(bias, values, |v| v),
            Activation::Linear => {}
            Activation::Relu => each(bias, values, |v| Activation::Relu.apply(v)),
            Activation::Sigmoid => each(bias, values, |v| Activation::Sigmoid.apply(v)),
            Activation::Tanh => each(bias, values, |v| Activation::Tanh.apply(v)),
        }
    }

    /// The gradient before the activation of a fused op (`rows × cols`), from the
    /// gradient `grad` of its result `output`, and with `bias` its column sums (the bias
    /// gradient), summed in the same pass.
    pub(crate) fn grad_and_bias_grad<T: Float>(
        self,
        grad: &Tensor<T>,
        output: &Tensor<T>,
        cols: usize,
        bias: bool,
    ) -> Result<(Tensor<T>, Option<Vec<T>>)> {
        let rows = grad.numel() / cols.max(1);
        if !bias {
            return Ok((self.grad_before(grad, output)?, None));
        }
        if self == Activation::Linear {
            let db = super::reduce::column_sums(&grad.data(), rows, cols)?;
            return Ok((grad.clone(), Some(db)));
        }
        let (g, y) = (grad.data(), output.data());
        let mut gp = alloc_for_overwrite::<T>(g.len())?;
        let db = super::reduce::column_sums_as_written(&mut gp, rows, cols, |start, out| {
            let (g, y) = (&g[start..start + out.len()], &y[start..start + out.len()]);
            for ((o, &g), &y) in out.iter_mut().zip(g).zip(y) {
                *o = self.backprop(g, y);
            }
        })?;
        drop((g, y));
        Ok((Tensor::from_vec(gp, grad.shape())?, Some(db)))
    }

    /// The gradient before the activation of a fused op, from the gradient `grad` of its
    /// result `output`.
    pub(crate) fn grad_before<T: Float>(
        self,
        grad: &Tensor<T>,
        output: &Tensor<T>,
    ) -> Result<Tensor<T>> {
        match self {
            Activation::Linear => Ok(grad.clone()),
            _ => grad.zip_map(output, |g, y| self.backprop(g, y)),
        }
    }
}

impl<T: Float> Tensor<T> {
    /// `act(x · weightᵀ + bias)` over the last axis of `x`: x `(..., in)`, weight
    /// `(out, in)`, bias `(out,)`; the result is `(..., out)`.
    pub fn linear(
        &self,
        weight: &Tensor<T>,
        bias: Option<&Tensor<T>>,
        act: Activation,
    ) -> Result<Tensor<T>> {
        let x = self;
        let [units, fan_in] = weight.shape() else {
            bail!(
                Shape,
                "linear: weight must be 2-D (out, in), got shape {}",
                fmt_shape(weight.shape())
            );
        };
        let (units, fan_in) = (*units, *fan_in);
        if x.rank() == 0 || x.shape()[x.rank() - 1] != fan_in {
            bail!(
                Shape,
                "linear: expected input with last axis {fan_in} (weight shape {}), got input shape {}",
                fmt_shape(weight.shape()),
                fmt_shape(x.shape())
            );
        }
        if let Some(b) = bias {
            if b.shape() != [units] {
                bail!(
                    Shape,
                    "linear: expected bias of shape ({units},), got {}",
                    fmt_shape(b.shape())
                );
            }
        }
        let rows = x.numel() / fan_in.max(1);
        let mut out = alloc_for_overwrite::<T>(rows * units)?;
        {
            let bias_data = bias.map(|b| b.data());
            let bias_data = bias_data.as_deref();
            let (xd, wd) = (x.data(), weight.data());
            // x·Wᵀ, then `+ bias` and the activation while each block is in cache.
            let product = Product::new(
                rows,
                units,
                fan_in,
                &mut out,
                Mat::rows(&xd, fan_in),
                Mat::rows_t(&wd, fan_in),
            );
            product.run_then(Epilogue {
                act,
                bias: bias_data.map(Vec::as_slice),
            });
        }
        let mut shape = x.shape().to_vec();
        *shape.last_mut().expect("rank >= 1") = units;
        let mut inputs = vec![x, weight];
        inputs.extend(bias);
        Ok(Tensor::from_op(out, shape, &inputs, move |a| {
            let (x, w) = (&a.inputs[0], &a.inputs[1]);
            // Gradient before the activation, and the bias gradient.
            let (gp, db) = act.grad_and_bias_grad(a.grad, a.output, units, a.inputs.len() == 3)?;
            let gpd = gp.data();
            let (xd, wd) = (x.data(), w.data());
            let mut dw = alloc_for_overwrite::<T>(w.numel())?;
            let dw_product = Product::new(
                units,
                fan_in,
                rows,
                &mut dw,
                Mat::rows_t(&gpd, units),
                Mat::rows(&xd, fan_in),
            );
            // The input of a first layer is data: skip its (large) gradient.
            let dx = if x.requires_grad() {
                let mut dx = alloc_for_overwrite::<T>(x.numel())?;
                let dx_product = Product::new(
                    rows,
                    fan_in,
                    units,
                    &mut dx,
                    Mat::rows(&gpd, units),
                    Mat::rows(&wd, fan_in),
                );
                gemm_pair(dx_product, dw_product);
                Some(Tensor::from_vec(dx, x.shape())?)
            } else {
                dw_product.run();
                None
            };
            let mut grads = vec![dx, Some(Tensor::from_vec(dw, w.shape())?)];
            if let Some(db) = db {
                grads.push(Some(Tensor::from_vec(db, &[units])?));
            }
            Ok(grads)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::Activation;
    use crate::ops::gradcheck::{check_grad, rand};

    #[test]
    fn gradients_for_each_activation() {
        // Inputs away from relu's kink at 0.
        let x = rand(&[5, 3], 1)
            .map(|v| if v.abs() < 0.05 { 0.5 } else { v })
            .unwrap();
        let (w, b) = (rand(&[4, 3], 2), rand(&[4], 3));
        for act in [
            Activation::Linear,
            Activation::Relu,
            Activation::Sigmoid,
            Activation::Tanh,
        ] {
            check_grad(&[x.clone(), w.clone(), b.clone()], |t| {
                t[0].linear(&t[1], Some(&t[2]), act)
            });
            check_grad(&[x.clone(), w.clone()], |t| t[0].linear(&t[1], None, act));
        }
        check_grad(&[rand(&[2, 3, 3], 4), w.clone(), b.clone()], |t| {
            t[0].linear(&t[1], Some(&t[2]), Activation::Tanh)
        });
    }

    /// The same values as matmul, add and the activation, for every way the product
    /// runs: one block, blocks of rows or of columns, and few rows computed transposed.
    #[test]
    fn matches_matmul_and_add() {
        crate::kernels::parallel::set_num_threads(2).unwrap();
        for (rows, units, fan_in) in [(6, 4, 3), (20, 100, 50), (300, 40, 64), (100, 200, 64)] {
            let (x, w, b) = (
                rand(&[rows, fan_in], 5),
                rand(&[units, fan_in], 6),
                rand(&[units], 7),
            );
            let product = x.matmul(&w.t().unwrap()).unwrap();
            for act in [Activation::Relu, Activation::Tanh, Activation::Linear] {
                for bias in [Some(&b), None] {
                    let fused = x.linear(&w, bias, act).unwrap().to_vec();
                    let sum = match bias {
                        Some(b) => product.add(b).unwrap(),
                        None => product.clone(),
                    };
                    let composed = match act {
                        Activation::Relu => sum.relu().unwrap(),
                        Activation::Tanh => sum.tanh().unwrap(),
                        _ => sum,
                    };
                    for (f, c) in fused.iter().zip(&composed.to_vec()) {
                        assert!((f - c).abs() < 1e-12, "{rows}x{units}x{fan_in} {act:?}");
                    }
                }
            }
        }
        let x = rand(&[6, 3], 5);
        assert!(x
            .linear(&rand(&[4, 2], 1), None, Activation::Linear)
            .is_err());
    }

    /// The backward pass gives the gradients of matmul, add and relu composed, also when
    /// its two products run side by side on two threads (as they do at this size).
    #[test]
    fn gradients_match_the_composed_ops() {
        crate::kernels::parallel::set_num_threads(2).unwrap();
        let (rows, units, fan_in) = (128, 64, 96);
        let x = rand(&[rows, fan_in], 8).to_variable();
        let (w, b) = (
            rand(&[units, fan_in], 9).to_variable(),
            rand(&[units], 10).to_variable(),
        );
        let probe = rand(&[rows, units], 11);
        let loss = |y: crate::Tensor<f64>| y.mul(&probe).unwrap().sum(None, false).unwrap();
        let vars = [x.clone(), w.clone(), b.clone()];
        let fused = crate::grad(
            &loss(x.linear(&w, Some(&b), Activation::Relu).unwrap()),
            &vars,
        );
        let sum = x.matmul(&w.t().unwrap()).unwrap().add(&b).unwrap();
        let composed = crate::grad(&loss(sum.relu().unwrap()), &vars);
        for (f, c) in fused.unwrap().iter().zip(&composed.unwrap()) {
            assert_eq!(f.shape(), c.shape());
            for (f, c) in f.to_vec().iter().zip(&c.to_vec()) {
                assert!((f - c).abs() < 1e-12, "{f} vs {c}");
            }
        }
    }
}
