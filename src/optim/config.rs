//! Reading Keras-style config dicts (`serde_json::Value` objects) with errors that name
//! the class, the argument, the expected and the received value.

use crate::bail;
use crate::error::Result;
use serde_json::{Map, Value};

/// The arguments of one Keras object, read key by key; [`Args::finish`] rejects the
/// keys nobody asked for, as Keras rejects unknown keyword arguments.
pub(crate) struct Args<'a> {
    owner: &'a str,
    map: Option<&'a Map<String, Value>>,
    seen: Vec<&'static str>,
}

impl<'a> Args<'a> {
    /// `config` must be a JSON object (or null, meaning no arguments).
    pub fn new(owner: &'a str, config: &'a Value) -> Result<Self> {
        let map = match config {
            Value::Object(m) => Some(m),
            Value::Null => None,
            other => bail!(
                InvalidArgument,
                "{owner}: expected a config dict, got {}",
                other
            ),
        };
        Ok(Args {
            owner,
            map,
            seen: Vec::new(),
        })
    }

    pub fn owner(&self) -> &str {
        self.owner
    }

    /// The raw value of `key`, `None` when absent or null.
    pub fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.seen.push(key);
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    /// A finite number or None.
    pub fn opt_f64(&mut self, key: &'static str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(x) if x.is_finite() => Ok(Some(x)),
                _ => bail!(
                    InvalidArgument,
                    "{}: argument `{key}` must be a finite number, got {v}",
                    self.owner
                ),
            },
        }
    }

    /// An integer or None.
    pub fn opt_int(&mut self, key: &'static str) -> Result<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_i64() {
                Some(x) => Ok(Some(x)),
                None => bail!(
                    InvalidArgument,
                    "{}: argument `{key}` must be an integer or None, got {key}={v}",
                    self.owner
                ),
            },
        }
    }

    pub fn f64_or(&mut self, key: &'static str, default: f64) -> Result<f64> {
        Ok(self.opt_f64(key)?.unwrap_or(default))
    }

    /// A number that must be given.
    pub fn required_f64(&mut self, key: &'static str) -> Result<f64> {
        match self.opt_f64(key)? {
            Some(x) => Ok(x),
            None => bail!(
                InvalidArgument,
                "{}: missing required argument `{key}`",
                self.owner
            ),
        }
    }

    pub fn bool_or(&mut self, key: &'static str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => bail!(
                InvalidArgument,
                "{}: argument `{key}` must be a bool, got {v}",
                self.owner
            ),
        }
    }

    /// A list of finite numbers.
    pub fn f64_list(&mut self, key: &'static str) -> Result<Vec<f64>> {
        let owner = self.owner;
        match self.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v.as_f64() {
                    Some(x) if x.is_finite() => Ok(x),
                    _ => bail!(
                        InvalidArgument,
                        "{owner}: argument `{key}` must be a list of finite numbers, got an item {v}"
                    ),
                })
                .collect(),
            None => bail!(InvalidArgument, "{owner}: missing required argument `{key}`"),
            Some(v) => bail!(
                InvalidArgument,
                "{owner}: argument `{key}` must be a list of numbers, got {v}"
            ),
        }
    }

    /// Errors on keys that were never read.
    pub fn finish(self) -> Result<()> {
        let Some(map) = self.map else { return Ok(()) };
        let mut unknown: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|k| !self.seen.contains(k))
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
