//! Merge layers: they combine a list of inputs into one tensor (`Add`, `Subtract`,
//! `Multiply`, `Average`, `Maximum`, `Minimum`, `Concatenate`, `Dot`), as Keras's
//! `keras.layers.merging`. The elementwise ones broadcast as NumPy does; Python checks
//! the shapes when the layer is first called on symbolic tensors.

use crate::bail;
use crate::config::Args;
use crate::error::{fmt_shape, Result};
use crate::nn::Layer;
use crate::tensor::shape::normalize_axis;
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// How an elementwise merge combines its inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeOp {
    /// The sum of the inputs.
    Add,
    /// The first input minus the second (exactly two inputs).
    Subtract,
    /// The product of the inputs.
    Multiply,
    /// The mean of the inputs.
    Average,
    /// The elementwise maximum.
    Maximum,
    /// The elementwise minimum.
    Minimum,
}

/// An elementwise merge of two or more inputs of broadcastable shapes.
pub struct Merge {
    /// The combination.
    pub op: MergeOp,
}

impl Merge {
    /// Keras's class name of the layer.
    pub fn class_name(&self) -> &'static str {
        match self.op {
            MergeOp::Add => "Add",
            MergeOp::Subtract => "Subtract",
            MergeOp::Multiply => "Multiply",
            MergeOp::Average => "Average",
            MergeOp::Maximum => "Maximum",
            MergeOp::Minimum => "Minimum",
        }
    }

    /// The merge of `inputs`.
    pub fn merge<T: Float>(&self, inputs: &[Tensor<T>]) -> Result<Tensor<T>> {
        let name = self.class_name();
        let [first, rest @ ..] = inputs else {
            bail!(
                InvalidArgument,
                "{name}: expected a list of at least 2 inputs, got 0"
            );
        };
        if rest.is_empty() || (self.op == MergeOp::Subtract && rest.len() != 1) {
            let expected = if self.op == MergeOp::Subtract {
                "exactly 2"
            } else {
                "at least 2"
            };
            bail!(
                InvalidArgument,
                "{name}: expected a list of {expected} inputs, got {}",
                inputs.len()
            );
        }
        let combine = |a: &Tensor<T>, b: &Tensor<T>| match self.op {
            MergeOp::Add | MergeOp::Average => a.add(b),
            MergeOp::Subtract => a.sub(b),
            MergeOp::Multiply => a.mul(b),
            MergeOp::Maximum => a.maximum(b),
            MergeOp::Minimum => a.minimum(b),
        };
        let mut out = first.clone();
        for x in rest {
            out = combine(&out, x).map_err(|_| {
                let shapes: Vec<String> = inputs.iter().map(|t| fmt_shape(t.shape())).collect();
                crate::Error::Shape(format!(
                    "{name}: inputs have incompatible shapes: {}",
                    shapes.join(", ")
                ))
            })?;
        }
        if self.op == MergeOp::Average {
            out = out.mul(&Tensor::scalar(T::from_f64(1.0 / inputs.len() as f64)))?;
        }
        Ok(out)
    }
}

impl Layer for Merge {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.merge(std::slice::from_ref(x))
    }

    fn forward_many(&self, inputs: &[Tensor], _training: bool) -> Result<Tensor> {
        self.merge(inputs)
    }
}

/// Joins its inputs along `axis` (Keras's `Concatenate(axis=-1)`).
pub struct Concatenate {
    /// The axis to join along; negative counts from the end.
    pub axis: isize,
}

impl Concatenate {
    /// The layer of a Keras `Concatenate` config (`axis`, default -1).
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new("Concatenate", config)?;
        Ok(Concatenate {
            axis: args.or("axis", -1)?,
        })
    }

    /// `inputs` joined along the axis.
    pub fn merge<T: Float>(&self, inputs: &[Tensor<T>]) -> Result<Tensor<T>> {
        if inputs.len() < 2 {
            bail!(
                InvalidArgument,
                "Concatenate: expected a list of at least 2 inputs, got {}",
                inputs.len()
            );
        }
        Tensor::concatenate(inputs, self.axis)
    }
}

impl Layer for Concatenate {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.merge(std::slice::from_ref(x))
    }

    fn forward_many(&self, inputs: &[Tensor], _training: bool) -> Result<Tensor> {
        self.merge(inputs)
    }
}

/// The dot product of samples of two inputs along one axis of each (Keras's
/// `Dot(axes, normalize=False)`, its `batch_dot`): with `normalize`, each input is
/// first L2-normalized along its axis, so the result is the cosine similarity.
pub struct Dot {
    /// The axis of each input to sum over (never the batch axis 0); negative counts
    /// from the end.
    pub axes: [isize; 2],
    /// Whether to L2-normalize the inputs along their axes first.
    pub normalize: bool,
}

/// Keras's `backend.epsilon()`, the floor of the norm in `normalize`.
const NORM_EPSILON: f64 = 1e-7;

impl Dot {
    /// The layer of a Keras `Dot` config (`axes`: an int or a pair; `normalize`).
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new("Dot", config)?;
        let axes = match args.get("axes") {
            Some(Value::Array(pair)) if pair.len() == 2 => {
                let axis = |v: &Value| v.as_i64().map(|a| a as isize);
                match (axis(&pair[0]), axis(&pair[1])) {
                    (Some(a), Some(b)) => [a, b],
                    _ => bail!(
                        InvalidArgument,
                        "Dot: `axes` must be an integer or a pair of integers, got {}",
                        Value::Array(pair.clone())
                    ),
                }
            }
            Some(v) => match v.as_i64() {
                Some(a) => [a as isize; 2],
                None => bail!(
                    InvalidArgument,
                    "Dot: `axes` must be an integer or a pair of integers, got {v}"
                ),
            },
            None => bail!(InvalidArgument, "Dot: the config has no `axes`"),
        };
        Ok(Dot {
            axes,
            normalize: args.or("normalize", false)?,
        })
    }

    /// The batched dot product of `x` and `y`.
    pub fn merge<T: Float>(&self, inputs: &[Tensor<T>]) -> Result<Tensor<T>> {
        let [x, y] = inputs else {
            bail!(
                InvalidArgument,
                "Dot: expected a list of exactly 2 inputs, got {}",
                inputs.len()
            );
        };
        if x.rank() < 2 || y.rank() < 2 {
            bail!(
                Shape,
                "Dot: expected inputs of rank 2 or more, got shapes {} and {}",
                fmt_shape(x.shape()),
                fmt_shape(y.shape())
            );
        }
        let ax = normalize_axis(self.axes[0], x.rank(), "Dot")?;
        let ay = normalize_axis(self.axes[1], y.rank(), "Dot")?;
        if ax == 0 || ay == 0 || x.shape()[ax] != y.shape()[ay] || x.shape()[0] != y.shape()[0] {
            bail!(
                Shape,
                "Dot: incompatible input shapes {} and {} for axes ({ax}, {ay}): the batch axes must match, and the summed axes (not the batch axis) must have the same size",
                fmt_shape(x.shape()),
                fmt_shape(y.shape())
            );
        }
        let (x, y) = if self.normalize {
            (l2_normalize(x, ax)?, l2_normalize(y, ay)?)
        } else {
            (x.clone(), y.clone())
        };
        let batch = x.shape()[0];
        let k = x.shape()[ax];
        // x as (batch, rest of x, k) and y as (batch, k, rest of y): one batched product.
        let x_rest: Vec<usize> = (1..x.rank()).filter(|&d| d != ax).collect();
        let y_rest: Vec<usize> = (1..y.rank()).filter(|&d| d != ay).collect();
        let mut x_order: Vec<isize> = vec![0];
        x_order.extend(x_rest.iter().map(|&d| d as isize));
        x_order.push(ax as isize);
        let mut y_order: Vec<isize> = vec![0, ay as isize];
        y_order.extend(y_rest.iter().map(|&d| d as isize));
        let rows: usize = x_rest.iter().map(|&d| x.shape()[d]).product();
        let cols: usize = y_rest.iter().map(|&d| y.shape()[d]).product();
        let xm = x.permute(Some(&x_order))?.reshape(&[batch, rows, k])?;
        let ym = y.permute(Some(&y_order))?.reshape(&[batch, k, cols])?;
        let mut shape = vec![batch];
        shape.extend(x_rest.iter().map(|&d| x.shape()[d]));
        shape.extend(y_rest.iter().map(|&d| y.shape()[d]));
        if shape.len() == 1 {
            shape.push(1);
        }
        xm.matmul(&ym)?.reshape(&shape)
    }
}

/// `x` divided by its L2 norm along `axis`, the norm floored at Keras's epsilon.
fn l2_normalize<T: Float>(x: &Tensor<T>, axis: usize) -> Result<Tensor<T>> {
    let squares = x.mul(x)?.sum(Some(&[axis as isize]), true)?;
    x.div(
        &squares
            .clip(NORM_EPSILON * NORM_EPSILON, f64::INFINITY)?
            .sqrt()?,
    )
}

impl Layer for Dot {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.merge(std::slice::from_ref(x))
    }

    fn forward_many(&self, inputs: &[Tensor], _training: bool) -> Result<Tensor> {
        self.merge(inputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};
    use serde_json::json;

    #[test]
    fn gradients() {
        let (a, b, c) = (rand(&[3, 4], 1), rand(&[3, 4], 2), rand(&[3, 1], 3));
        for op in [
            MergeOp::Add,
            MergeOp::Multiply,
            MergeOp::Average,
            MergeOp::Maximum,
            MergeOp::Minimum,
        ] {
            let merge = Merge { op };
            check_grad(&[a.clone(), b.clone(), c.clone()], |t| merge.merge(t));
        }
        let subtract = Merge {
            op: MergeOp::Subtract,
        };
        check_grad(&[a.clone(), c.clone()], |t| subtract.merge(t));
        let concat = Concatenate { axis: -1 };
        check_grad(&[a.clone(), c.clone()], |t| concat.merge(t));
        for (sx, sy, axes, normalize) in [
            (vec![3, 4], vec![3, 4], [1, 1], false),
            (vec![3, 4], vec![3, 4], [-1, -1], true),
            (vec![2, 3, 4], vec![2, 5, 3], [1, 2], false),
            (vec![2, 3, 4], vec![2, 4, 5], [2, 1], true),
        ] {
            let dot = Dot { axes, normalize };
            check_grad(&[rand(&sx, 4), rand(&sy, 5)], |t| dot.merge(t));
        }
    }

    #[test]
    fn dot_matches_numpy() {
        let x = Tensor::<f32>::arange(6).unwrap().reshape(&[2, 3]).unwrap();
        let y = Tensor::<f32>::ones(&[2, 3]).unwrap();
        let dot = Dot::from_config(&json!({"axes": 1})).unwrap();
        let out = dot.merge(&[x.clone(), y.clone()]).unwrap();
        assert_eq!((out.shape(), out.to_vec()), (&[2, 1][..], vec![3.0, 12.0]));
        // (2, 3, 2) . (2, 3) over axes (1, 1): sum_k x[b, k, i] * y[b, k].
        let x3 = Tensor::<f32>::arange(12)
            .unwrap()
            .reshape(&[2, 3, 2])
            .unwrap();
        let dot = Dot::from_config(&json!({"axes": [1, 1]})).unwrap();
        let out = dot.merge(&[x3, x.clone()]).unwrap();
        assert_eq!(out.shape(), &[2, 2]);
        assert_eq!(out.to_vec(), vec![10.0, 13.0, 100.0, 112.0]);
        let cosine = Dot::from_config(&json!({"axes": -1, "normalize": true}))
            .unwrap()
            .merge(&[x.clone(), x])
            .unwrap();
        for v in cosine.to_vec() {
            assert!((v - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        let a = Tensor::<f32>::ones(&[2, 3]).unwrap();
        let b = Tensor::<f32>::ones(&[2, 4]).unwrap();
        let add = Merge { op: MergeOp::Add };
        let err = add.merge(&[a.clone(), b.clone()]).unwrap_err().to_string();
        assert!(
            err.contains("incompatible") && err.contains("(2, 4)"),
            "{err}"
        );
        assert!(add.merge(std::slice::from_ref(&a)).is_err());
        let sub = Merge {
            op: MergeOp::Subtract,
        };
        assert!(sub.merge(&[a.clone(), a.clone(), a.clone()]).is_err());
        let dot = Dot {
            axes: [1, 1],
            normalize: false,
        };
        assert!(dot.merge(&[a.clone(), b]).is_err());
        assert!(Dot::from_config(&json!({"axes": "x"})).is_err());
        assert!(Concatenate { axis: 0 }.merge(&[a]).is_err());
    }
}
