//! The one reader of Keras config dicts (`serde_json::Value` objects), shared by layers,
//! initializers, regularizers, losses, metrics, optimizers and schedules.
//!
//! [`Args`] reads a config key by key. Each getter names the class (the owner), the
//! argument, the expected kind and the received value when it fails, and records the key
//! as read, so that [`Args::finish`] can reject the keys nobody asked for, as Keras
//! rejects unknown keyword arguments. (Layers do not finish: a layer's config also holds
//! Keras's base keys, `name`, `trainable`, `dtype`, and options only Python reads.)
//!
//! An absent key takes the getter's default. `null` is Python's `None`: the getters of
//! optional values (`opt_*`, [`Args::or`] of an `Option`, [`Args::axes`],
//! [`Args::one_or_list`]) read it as "none given"; the others reject it, as Keras rejects
//! `None` for a number or a bool.

use crate::bail;
use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::cell::RefCell;

/// The arguments of one Keras object, read key by key.
pub(crate) struct Args<'a> {
    owner: &'a str,
    map: Option<&'a Map<String, Value>>,
    /// The keys read so far (the map's own strings; a key absent from the map needs no
    /// record).
    seen: RefCell<Vec<&'a str>>,
}

impl<'a> Args<'a> {
    /// The arguments of `owner` (a class name, for messages) in `config`, a JSON object
    /// (or null, meaning no arguments).
    pub fn new(owner: &'a str, config: &'a Value) -> Result<Self> {
        let map = match config {
            Value::Object(m) => Some(m),
            Value::Null => None,
            other => bail!(
                InvalidArgument,
                "{owner}: expected the config to be a dict, got {other}"
            ),
        };
        Ok(Args {
            owner,
            map,
            seen: RefCell::new(Vec::new()),
        })
    }

    /// The class the arguments belong to.
    pub fn owner(&self) -> &'a str {
        self.owner
    }

    /// The raw value of `key` (`null` included), `None` when absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        let (k, v) = self.map?.get_key_value(key)?;
        self.seen.borrow_mut().push(k);
        Some(v)
    }

    /// The value of `key`, `None` when absent or null.
    pub fn given(&self, key: &str) -> Option<&'a Value> {
        self.get(key).filter(|v| !v.is_null())
    }

    /// The value of `key`, null when absent: for nested specs (an activation, an
    /// initializer, a regularizer) whose readers take null as "none given".
    pub fn value(&self, key: &str) -> &'a Value {
        self.get(key).unwrap_or(&Value::Null)
    }

    /// Marks keys as accepted without reading them (`name`, `dtype`, ...).
    pub fn ignore(&self, keys: &[&str]) {
        for key in keys {
            self.get(key);
        }
    }

    /// The value of `key` as any deserializable type, or `default` when absent (`null`
    /// reads as `None` when `T` is an `Option`, and is an error otherwise).
    pub fn or<T: DeserializeOwned>(&self, key: &str, default: T) -> Result<T> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => self.deserialize(key, v),
        }
    }

    /// The value of `key` as any deserializable type, or `None` when absent or null.
    pub fn opt<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.given(key)
            .map(|v| self.deserialize(key, v))
            .transpose()
    }

    fn deserialize<T: DeserializeOwned>(&self, key: &str, v: &Value) -> Result<T> {
        // serde's message names the kind it expected ("expected usize").
        T::deserialize(v).map_err(|e| {
            Error::InvalidArgument(format!(
                "{}: invalid value for `{key}`, got {v}: {e}",
                self.owner
            ))
        })
    }

    /// The error for `key` holding `v` where `expected` was wanted.
    fn wrong(&self, key: &str, expected: &str, v: &Value) -> Error {
        Error::InvalidArgument(format!(
            "{}: expected `{key}` to be {expected}, got {v}",
            self.owner
        ))
    }

    /// `value` (that of `key`, if any) read by `parse`.
    fn typed<T>(
        &self,
        key: &str,
        value: Option<&Value>,
        expected: &str,
        parse: impl Fn(&Value) -> Option<T>,
    ) -> Result<Option<T>> {
        value
            .map(|v| parse(v).ok_or_else(|| self.wrong(key, expected, v)))
            .transpose()
    }

    /// One value or a list of them (Keras's `axis`, `shared_axes`), as a list; `default`
    /// when absent or null.
    pub fn one_or_list<T: DeserializeOwned>(&self, key: &str, default: Vec<T>) -> Result<Vec<T>> {
        Ok(match self.given(key) {
            None => default,
            Some(Value::Array(_)) => self.or(key, default)?,
            Some(_) => self.opt(key)?.into_iter().collect(),
        })
    }

    /// A bool, or `default` when absent.
    pub fn bool(&self, key: &str, default: bool) -> Result<bool> {
        let value = self.get(key);
        Ok(self
            .typed(key, value, "a bool", Value::as_bool)?
            .unwrap_or(default))
    }

    /// A finite number, or `None` when absent or null.
    pub fn opt_f64(&self, key: &str) -> Result<Option<f64>> {
        self.typed(key, self.given(key), "a finite number or None", finite)
    }

    /// A finite number, or `default` when absent.
    pub fn f64(&self, key: &str, default: f64) -> Result<f64> {
        let value = self.get(key);
        Ok(self
            .typed(key, value, "a finite number", finite)?
            .unwrap_or(default))
    }

    /// A finite number that must be given (not null).
    pub fn required_f64(&self, key: &str) -> Result<f64> {
        match self.opt_f64(key)? {
            Some(x) => Ok(x),
            None => Err(self.missing(key)),
        }
    }

    /// An integer, or `None` when absent or null.
    pub fn opt_int(&self, key: &str) -> Result<Option<i64>> {
        self.typed(key, self.given(key), "an integer or None", Value::as_i64)
    }

    /// An integer, or `default` when absent.
    pub fn int(&self, key: &str, default: i64) -> Result<i64> {
        let value = self.get(key);
        Ok(self
            .typed(key, value, "an integer", Value::as_i64)?
            .unwrap_or(default))
    }

    /// A non-negative integer such as a class index (`class_id`, `top_k`), or `None`.
    pub fn opt_index(&self, key: &str) -> Result<Option<usize>> {
        self.typed(
            key,
            self.given(key),
            "None or a non-negative integer",
            |v| v.as_u64().and_then(|n| usize::try_from(n).ok()),
        )
    }

    /// A size such as `num_thresholds`: a non-negative integer, or `None`; one too large
    /// for any machine is an allocation error.
    pub fn opt_size(&self, key: &str) -> Result<Option<usize>> {
        let Some(v) = self.given(key) else {
            return Ok(None);
        };
        let too_large = || {
            Error::Allocation(format!(
                "{}: {key}={v} is too large for this machine",
                self.owner
            ))
        };
        if let Some(n) = v.as_u64() {
            return usize::try_from(n).map(Some).map_err(|_| too_large());
        }
        match v.as_f64() {
            // JSON integers beyond 64 bits arrive as floats.
            Some(f) if f.fract() == 0.0 && f >= u64::MAX as f64 => Err(too_large()),
            _ => Err(self.wrong(key, "a non-negative integer", v)),
        }
    }

    /// A string; `default` when absent, `None` when null.
    pub fn opt_str(&self, key: &str, default: Option<&'a str>) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.wrong(key, "a string or None", v)),
        }
    }

    /// A list of finite numbers that must be given.
    pub fn f64_list(&self, key: &str) -> Result<Vec<f64>> {
        match self.given(key) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| finite(v).ok_or_else(|| self.wrong(key, "a list of finite numbers", v)))
                .collect(),
            None => Err(self.missing(key)),
            Some(v) => Err(self.wrong(key, "a list of numbers", v)),
        }
    }

    /// A number or a list of numbers (a number gives a list of one), or `None`.
    pub fn opt_numbers(&self, key: &str) -> Result<Option<Vec<f64>>> {
        let expected = "None, a number or a list of numbers";
        match self.given(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| finite(v).ok_or_else(|| self.wrong(key, expected, v)))
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(v) => Ok(Some(vec![
                finite(v).ok_or_else(|| self.wrong(key, expected, v))?
            ])),
        }
    }

    /// Axes given as None (all axes), an integer or a list of integers.
    pub fn axes(&self, key: &str) -> Result<Option<Vec<isize>>> {
        let expected = "None, an integer or a list of integers";
        let axis = |v: &Value| {
            v.as_i64()
                .map(|a| a as isize)
                .ok_or_else(|| self.wrong(key, expected, v))
        };
        match self.given(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items.iter().map(axis).collect::<Result<_>>().map(Some),
            Some(v) => Ok(Some(vec![axis(v)?])),
        }
    }

    fn missing(&self, key: &str) -> Error {
        Error::InvalidArgument(format!("{}: missing required argument `{key}`", self.owner))
    }

    /// Errors on keys that were never read.
    pub fn finish(self) -> Result<()> {
        let Some(map) = self.map else { return Ok(()) };
        let seen = self.seen.into_inner();
        let mut unknown: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|k| !seen.contains(k))
            .collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            bail!(
                InvalidArgument,
                "{}: argument(s) not recognized: {}",
                self.owner,
                unknown.join(", ")
            );
        }
        Ok(())
    }
}

/// A JSON number that is finite (serde_json holds no NaN, but a float beyond f64's range
/// may parse as infinite).
fn finite(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

/// `lo <= x <= hi`, or an error naming the argument.
pub(crate) fn check_range(owner: &str, key: &str, x: f64, lo: f64, hi: f64) -> Result<f64> {
    if !(lo..=hi).contains(&x) {
        bail!(
            InvalidArgument,
            "{owner}: argument `{key}` must be in [{lo}, {hi}], got {key}={x}"
        );
    }
    Ok(x)
}

/// `0 <= x < 1` (a decay rate whose powers must stay below 1).
pub(crate) fn check_unit_open(owner: &str, key: &str, x: f64) -> Result<f64> {
    if !(0.0..1.0).contains(&x) {
        bail!(
            InvalidArgument,
            "{owner}: argument `{key}` must be in [0, 1), got {key}={x}"
        );
    }
    Ok(x)
}

/// `x > 0`.
pub(crate) fn check_positive(owner: &str, key: &str, x: f64) -> Result<f64> {
    if x.is_nan() || x <= 0.0 {
        bail!(
            InvalidArgument,
            "{owner}: argument `{key}` must be > 0, got {key}={x}"
        );
    }
    Ok(x)
}

/// `x >= 0`.
pub(crate) fn check_non_negative(owner: &str, key: &str, x: f64) -> Result<f64> {
    if x.is_nan() || x < 0.0 {
        bail!(
            InvalidArgument,
            "{owner}: argument `{key}` must be >= 0, got {key}={x}"
        );
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn getters_name_the_owner_argument_and_value() {
        let config = json!({"a": 1.5, "b": "x", "n": null, "l": [1, 2], "s": 3});
        let args = Args::new("Thing", &config).unwrap();
        assert_eq!(args.f64("a", 0.0).unwrap(), 1.5);
        assert_eq!(args.opt_f64("n").unwrap(), None);
        assert!(args.f64("n", 2.0).is_err());
        assert_eq!(args.or::<Option<f64>>("n", Some(1.0)).unwrap(), None);
        assert_eq!(args.or::<Vec<usize>>("l", vec![]).unwrap(), vec![1, 2]);
        assert_eq!(args.or::<usize>("missing", 7).unwrap(), 7);
        let err = args.bool("b", false).unwrap_err().to_string();
        assert!(
            err.contains("Thing: expected `b` to be a bool, got \"x\""),
            "{err}"
        );
        let err = args.or::<usize>("b", 0).unwrap_err().to_string();
        assert!(
            err.contains("Thing: invalid value for `b`, got \"x\"")
                && err.contains("expected usize"),
            "{err}"
        );
        let err = args.finish().unwrap_err().to_string();
        assert!(
            err.contains("Thing: argument(s) not recognized: s"),
            "{err}"
        );
        assert!(Args::new("Thing", &json!([1])).is_err());
        assert!(Args::new("Thing", &Value::Null).unwrap().finish().is_ok());
    }
}
