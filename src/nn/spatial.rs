//! Layers that resize the spatial axes of channels-last data, `(batch, steps, channels)`
//! or `(batch, rows, cols, channels)`: ZeroPadding1D/2D, Cropping1D/2D and
//! UpSampling1D/2D. One struct serves both ranks; the registry names the class.

use super::conv::{check_channels_last, check_rank};
use crate::bail;
use crate::config::Args;
use crate::error::{fmt_shape, Result};
use crate::nn::Layer;
use crate::ops::IndexItem;
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// A non-negative integer of a config entry, or an error naming `arg`.
fn count(class_name: &str, arg: &str, v: &Value) -> Result<usize> {
    match v.as_u64() {
        Some(n) => Ok(n as usize),
        None => bail!(
            InvalidArgument,
            "{class_name}: `{arg}` must hold integers >= 0, got {arg}={v}"
        ),
    }
}

/// Keras's `(before, after)` pairs of `key`, one per spatial axis: an int (the same on
/// both sides of every axis); for one axis a pair; for two axes a pair whose entries
/// are ints (symmetric) or pairs.
fn axis_pairs(args: &Args, key: &str, spatial: usize) -> Result<Vec<(usize, usize)>> {
    let class_name = args.owner();
    let bad = || {
        crate::Error::InvalidArgument(format!(
            "{class_name}: `{key}` must be an int or {}, got {key}={}",
            if spatial == 1 {
                "a pair of ints (before, after)"
            } else {
                "a pair of ints or of (before, after) pairs"
            },
            args.value(key)
        ))
    };
    let pair = |v: &Value| -> Result<(usize, usize)> {
        match v {
            Value::Array(p) if p.len() == 2 => Ok((
                count(class_name, key, &p[0])?,
                count(class_name, key, &p[1])?,
            )),
            Value::Number(_) => {
                let n = count(class_name, key, v)?;
                Ok((n, n))
            }
            _ => Err(bad()),
        }
    };
    match args.get(key) {
        Some(v @ Value::Number(_)) => Ok(vec![pair(v)?; spatial]),
        Some(v @ Value::Array(_)) if spatial == 1 => Ok(vec![pair(v)?]),
        Some(Value::Array(axes)) if axes.len() == spatial => axes.iter().map(pair).collect(),
        _ => Err(bad()),
    }
}

/// ZeroPadding1D/2D: zeros added before and after each spatial axis.
pub struct ZeroPadding {
    class_name: &'static str,
    /// `(before, after)` for each spatial axis.
    pub padding: Vec<(usize, usize)>,
}

impl ZeroPadding {
    /// The layer of a Keras `ZeroPadding1D`/`2D` config (`padding`) over `spatial` axes.
    pub fn from_config(class_name: &'static str, config: &Value, spatial: usize) -> Result<Self> {
        let args = Args::new(class_name, config)?;
        check_channels_last(&args)?;
        Ok(ZeroPadding {
            class_name,
            padding: axis_pairs(&args, "padding", spatial)?,
        })
    }

    /// `x` with the zeros added.
    pub fn forward<T: Float>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        check_rank(self.class_name, self.padding.len(), x.shape())?;
        let mut pads = vec![(0, 0)];
        pads.extend(&self.padding);
        pads.push((0, 0));
        x.zero_pad(&pads)
    }
}

/// Cropping1D/2D: positions removed from the start and end of each spatial axis.
pub struct Cropping {
    class_name: &'static str,
    /// `(start, end)` for each spatial axis.
    pub cropping: Vec<(usize, usize)>,
}

impl Cropping {
    /// The layer of a Keras `Cropping1D`/`2D` config (`cropping`) over `spatial` axes.
    pub fn from_config(class_name: &'static str, config: &Value, spatial: usize) -> Result<Self> {
        let args = Args::new(class_name, config)?;
        check_channels_last(&args)?;
        Ok(Cropping {
            class_name,
            cropping: axis_pairs(&args, "cropping", spatial)?,
        })
    }

    /// `x` without the cropped positions; each spatial axis must keep at least one.
    pub fn forward<T: Float>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        check_rank(self.class_name, self.cropping.len(), x.shape())?;
        let shape = x.shape();
        let full = IndexItem::Slice {
            start: None,
            stop: None,
            step: 1,
        };
        let mut items = vec![full];
        for (i, &(start, end)) in self.cropping.iter().enumerate() {
            let size = shape[i + 1];
            if start + end >= size {
                bail!(
                    Shape,
                    "{}: `cropping` {} must be smaller than axis {} of the input, got shape {}",
                    self.class_name,
                    fmt_shape(&[start, end]),
                    i + 1,
                    fmt_shape(shape)
                );
            }
            items.push(IndexItem::Slice {
                start: Some(start as isize),
                stop: Some((size - end) as isize),
                step: 1,
            });
        }
        items.push(full);
        x.index(&items)
    }
}

/// UpSampling1D/2D: each position repeated `size` times along each spatial axis
/// (nearest-neighbour interpolation).
pub struct UpSampling {
    class_name: &'static str,
    /// The repeat count of each spatial axis.
    pub size: Vec<usize>,
}

impl UpSampling {
    /// The layer of a Keras `UpSampling1D`/`2D` config (`size`, and for 2-D
    /// `interpolation`, which must be "nearest") over `spatial` axes.
    pub fn from_config(class_name: &'static str, config: &Value, spatial: usize) -> Result<Self> {
        let args = Args::new(class_name, config)?;
        check_channels_last(&args)?;
        let interpolation: String = args.or("interpolation", "nearest".to_string())?;
        if interpolation != "nearest" {
            bail!(
                InvalidArgument,
                "{class_name}: only interpolation=\"nearest\" is supported, got interpolation={interpolation:?}"
            );
        }
        let bad = || {
            crate::Error::InvalidArgument(format!(
                "{class_name}: `size` must be a positive int or {spatial} positive ints, got size={}",
                args.value("size")
            ))
        };
        let sizes: Vec<usize> = match args.get("size") {
            Some(Value::Array(v)) if v.len() == spatial => v
                .iter()
                .map(|s| s.as_u64().map(|n| n as usize).ok_or_else(bad))
                .collect::<Result<_>>()?,
            Some(v @ Value::Number(_)) => vec![v.as_u64().ok_or_else(bad)? as usize; spatial],
            None | Some(Value::Null) => vec![2; spatial],
            Some(_) => return Err(bad()),
        };
        if sizes.contains(&0) {
            return Err(bad());
        }
        Ok(UpSampling {
            class_name,
            size: sizes,
        })
    }

    /// `x` with each spatial position repeated.
    pub fn forward<T: Float>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        check_rank(self.class_name, self.size.len(), x.shape())?;
        let mut y = x.clone();
        for (i, &times) in self.size.iter().enumerate() {
            if times > 1 {
                y = y.repeat_along(times, i + 1)?;
            }
        }
        Ok(y)
    }
}

impl Layer for ZeroPadding {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        ZeroPadding::forward(self, x)
    }
}

impl Layer for Cropping {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Cropping::forward(self, x)
    }
}

impl Layer for UpSampling {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        UpSampling::forward(self, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};
    use serde_json::json;

    #[test]
    fn configs_of_every_keras_spelling() {
        let pad = |c: Value, n| ZeroPadding::from_config("ZeroPadding2D", &c, n).map(|l| l.padding);
        assert_eq!(pad(json!({"padding": 2}), 2).unwrap(), vec![(2, 2); 2]);
        assert_eq!(
            pad(json!({"padding": [1, 3]}), 2).unwrap(),
            vec![(1, 1), (3, 3)]
        );
        assert_eq!(
            pad(json!({"padding": [[1, 2], [0, 3]]}), 2).unwrap(),
            vec![(1, 2), (0, 3)]
        );
        assert_eq!(pad(json!({"padding": [1, 3]}), 1).unwrap(), vec![(1, 3)]);
        for bad in [
            json!({"padding": -1}),
            json!({"padding": [1, -2]}),
            json!({"padding": [1, 2, 3]}),
            json!({"padding": "same"}),
            json!({}),
        ] {
            let err = pad(bad.clone(), 2).err().unwrap().to_string();
            assert!(err.contains("`padding`"), "{bad}: {err}");
        }
        let err = ZeroPadding::from_config(
            "ZeroPadding1D",
            &json!({"padding": 1, "data_format": "channels_first"}),
            1,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("data_format") && err.contains("channels_first"));
        let up = |c: Value| UpSampling::from_config("UpSampling2D", &c, 2).map(|l| l.size);
        assert_eq!(up(json!({"size": [2, 3]})).unwrap(), vec![2, 3]);
        assert_eq!(up(json!({"size": 3})).unwrap(), vec![3, 3]);
        assert!(up(json!({"size": 0})).is_err());
        assert!(up(json!({"size": [2, -1]})).is_err());
        let err = up(json!({"size": 2, "interpolation": "bilinear"}))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("interpolation") && err.contains("bilinear"));
    }

    #[test]
    fn forward_values_and_bad_inputs() {
        let x = Tensor::<f32>::arange(6)
            .unwrap()
            .reshape(&[1, 3, 2])
            .unwrap();
        let pad =
            ZeroPadding::from_config("ZeroPadding1D", &json!({"padding": [1, 0]}), 1).unwrap();
        assert_eq!(
            pad.forward(&x).unwrap().to_vec(),
            vec![0., 0., 0., 1., 2., 3., 4., 5.]
        );
        let crop = Cropping::from_config("Cropping1D", &json!({"cropping": [1, 1]}), 1).unwrap();
        assert_eq!(crop.forward(&x).unwrap().to_vec(), vec![2., 3.]);
        let up = UpSampling::from_config("UpSampling1D", &json!({"size": 2}), 1).unwrap();
        assert_eq!(
            up.forward(&x).unwrap().to_vec(),
            vec![0., 1., 0., 1., 2., 3., 2., 3., 4., 5., 4., 5.]
        );
        let too_much =
            Cropping::from_config("Cropping1D", &json!({"cropping": [2, 1]}), 1).unwrap();
        let err = too_much.forward(&x).err().unwrap().to_string();
        assert!(
            err.contains("cropping") && err.contains("(1, 3, 2)"),
            "{err}"
        );
        let err = pad.forward(&rand(&[2, 3], 1)).err().unwrap().to_string();
        assert!(err.contains("rank 3"), "{err}");
    }

    #[test]
    fn gradients() {
        let x = rand(&[2, 4, 5, 3], 31);
        check_grad(&[x.clone()], |t| {
            ZeroPadding::from_config("ZeroPadding2D", &json!({"padding": [[1, 0], [2, 1]]}), 2)?
                .forward(&t[0])
        });
        check_grad(&[x.clone()], |t| {
            Cropping::from_config("Cropping2D", &json!({"cropping": [[1, 2], [0, 3]]}), 2)?
                .forward(&t[0])
        });
        check_grad(&[x], |t| {
            UpSampling::from_config("UpSampling2D", &json!({"size": [2, 3]}), 2)?.forward(&t[0])
        });
        let seq = rand(&[2, 5, 3], 32);
        check_grad(&[seq.clone()], |t| {
            ZeroPadding::from_config("ZeroPadding1D", &json!({"padding": 2}), 1)?.forward(&t[0])
        });
        check_grad(&[seq.clone()], |t| {
            Cropping::from_config("Cropping1D", &json!({"cropping": [0, 2]}), 1)?.forward(&t[0])
        });
        check_grad(&[seq], |t| {
            UpSampling::from_config("UpSampling1D", &json!({"size": 3}), 1)?.forward(&t[0])
        });
    }
}
