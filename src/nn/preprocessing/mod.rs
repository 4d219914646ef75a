//! Preprocessing layers that scripts put inside a model: Normalization, Rescaling,
//! CategoryEncoding, Discretization and IntegerLookup. Their per-batch work runs in the
//! engine like any layer's; so does `adapt`'s (statistics, quantiles, vocabularies).

mod category_encoding;
mod discretization;
pub mod encoding;
mod integer_lookup;
mod normalization;
mod rescaling;

pub use category_encoding::CategoryEncoding;
pub use discretization::{adapt_bin_boundaries, Discretization};
pub use encoding::OutputMode;
pub use integer_lookup::{adapt_vocabulary, IntegerLookup};
pub use normalization::{adapt_moments, Normalization};
pub use rescaling::Rescaling;

use crate::bail;
use crate::config::Args;
use crate::error::Result;
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// A tensor from a JSON number or nested list of numbers (a config's array value), or
/// from Keras's serialized numpy array `{"class_name": "__numpy__", "config": {"value":
/// ...}}`.
pub(crate) fn tensor_from_json<T: Float>(
    layer: &str,
    key: &str,
    value: &Value,
) -> Result<Tensor<T>> {
    fn walk(v: &Value, depth: usize, shape: &mut Vec<usize>, data: &mut Vec<f64>) -> bool {
        match v {
            Value::Number(n) => {
                data.push(n.as_f64().unwrap_or(f64::NAN));
                depth == shape.len()
            }
            Value::Array(items) => {
                if depth == shape.len() {
                    if !data.is_empty() {
                        return false; // ragged: a list where a number was before
                    }
                    shape.push(items.len());
                } else if depth > shape.len() || shape[depth] != items.len() {
                    return false;
                }
                items.iter().all(|item| walk(item, depth + 1, shape, data))
            }
            _ => false,
        }
    }
    let value = match value.get("class_name").and_then(Value::as_str) {
        Some("__numpy__") => value
            .get("config")
            .and_then(|c| c.get("value"))
            .unwrap_or(&Value::Null),
        _ => value,
    };
    let (mut shape, mut data) = (Vec::new(), Vec::new());
    if !walk(value, 0, &mut shape, &mut data) {
        bail!(
            InvalidArgument,
            "{layer}: `{key}` must be a number or a (nested, rectangular) list of numbers, got {value}"
        );
    }
    Tensor::from_vec(data.into_iter().map(T::from_f64).collect(), &shape)
}

/// The integer axes of an argument that may be an int, a list of ints or null (no axes).
pub(crate) fn axes_from_args(args: &Args, key: &str, default: Vec<isize>) -> Result<Vec<isize>> {
    match args.get(key) {
        Some(Value::Null) => Ok(Vec::new()),
        _ => args.one_or_list(key, default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tensors_from_json() {
        let t = tensor_from_json::<f32>("L", "scale", &json!([[1, 2], [3, 4]])).unwrap();
        assert_eq!((t.shape(), t.to_vec()), (&[2, 2][..], vec![1., 2., 3., 4.]));
        let t = tensor_from_json::<f32>("L", "scale", &json!(0.5)).unwrap();
        assert_eq!((t.shape(), t.to_vec()), (&[][..], vec![0.5]));
        let numpy =
            json!({"class_name": "__numpy__", "config": {"value": [1, 2], "dtype": "float32"}});
        assert_eq!(
            tensor_from_json::<f32>("L", "s", &numpy).unwrap().shape(),
            &[2]
        );
        for bad in [
            json!([[1], [2, 3]]),
            json!([1, [2]]),
            json!("x"),
            json!([[1], 2]),
        ] {
            let err = tensor_from_json::<f32>("L", "scale", &bad)
                .unwrap_err()
                .to_string();
            assert!(err.contains("`scale`"), "{err}");
        }
        let axes = |config: Value| {
            let args = Args::new("L", &config).unwrap();
            axes_from_args(&args, "axis", vec![-1]).unwrap()
        };
        assert_eq!(axes(json!({"axis": null})), Vec::<isize>::new());
        assert_eq!(axes(json!({"axis": 2})), vec![2]);
        assert_eq!(axes(json!({})), vec![-1]);
    }
}
