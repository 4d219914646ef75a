//! Keras's string identifiers: a class is known by its name, by the snake_case of its
//! name, and by a few short aliases (Keras's `ALL_OBJECTS_DICT`).

use crate::bail;
use crate::error::Result;

/// Keras's `to_snake_case`: `"MeanSquaredError"` → `"mean_squared_error"`,
/// `"KLDivergence"` → `"kl_divergence"`.
pub fn snake_case(name: &str) -> String {
    let c: Vec<char> = name
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    // Keras's first regex, `(.)([A-Z][a-z]+)` → `\1_\2`, scanning left to right
    // without overlaps.
    let mut first = Vec::with_capacity(c.len() + 4);
    let mut i = 0;
    while i < c.len() {
        let word = i + 2 < c.len() + 1
            && i + 1 < c.len()
            && c[i + 1].is_ascii_uppercase()
            && c.get(i + 2).is_some_and(|x| x.is_ascii_lowercase());
        if word {
            let mut end = i + 2;
            while end < c.len() && c[end].is_ascii_lowercase() {
                end += 1;
            }
            first.push(c[i]);
            first.push('_');
            first.extend_from_slice(&c[i + 1..end]);
            i = end;
        } else {
            first.push(c[i]);
            i += 1;
        }
    }
    // The second, `([a-z])([A-Z])` → `\1_\2`, then lower case.
    let mut out = String::with_capacity(first.len() + 4);
    for (k, &ch) in first.iter().enumerate() {
        if k > 0 && ch.is_ascii_uppercase() && first[k - 1].is_ascii_lowercase() {
            out.push('_');
        }
        out.extend(ch.to_lowercase());
    }
    out
}

/// The short aliases Keras gives losses and metrics.
const ALIASES: &[(&str, &str)] = &[
    ("mse", "MeanSquaredError"),
    ("mae", "MeanAbsoluteError"),
    ("mape", "MeanAbsolutePercentageError"),
    ("msle", "MeanSquaredLogarithmicError"),
    ("bce", "BinaryCrossentropy"),
];

/// Aliases that name losses only (Keras's metrics take no `kld`).
const LOSS_ALIASES: &[(&str, &str)] = &[("kld", "KLDivergence")];

/// The class of `classes` that `identifier` names: the class name itself, its
/// snake_case, or an alias (lower or upper case; `kld` for losses only, as in Keras);
/// `what` ("loss", "metric", ...) names the family in errors. Python's `get` functions
/// resolve names here too, so the two faces know the same names.
pub fn resolve_class<'a>(what: &str, identifier: &str, classes: &[&'a str]) -> Result<&'a str> {
    if let Some(&class) = classes.iter().find(|&&c| c == identifier) {
        return Ok(class);
    }
    if let Some(&class) = classes.iter().find(|&&c| snake_case(c) == identifier) {
        return Ok(class);
    }
    let loss_aliases = if what == "loss" { LOSS_ALIASES } else { &[] };
    let alias = ALIASES
        .iter()
        .chain(loss_aliases)
        .find(|(a, _)| *a == identifier || a.to_uppercase() == identifier);
    if let Some(&class) = alias.and_then(|(_, c)| classes.iter().find(|&&k| k == *c)) {
        return Ok(class);
    }
    bail!(
        InvalidArgument,
        "Could not interpret {what} identifier: {identifier:?}; expected one of {}",
        classes.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_is_keras_s() {
        for (name, snake) in [
            ("MeanSquaredError", "mean_squared_error"),
            ("KLDivergence", "kl_divergence"),
            ("AUC", "auc"),
            ("R2Score", "r2_score"),
            ("FBetaScore", "f_beta_score"),
            ("SGD", "sgd"),
            ("RMSprop", "rm_sprop"),
            ("BinaryIoU", "binary_io_u"),
            ("F1Score", "f1_score"),
            ("ABCDef", "abc_def"),
        ] {
            assert_eq!(snake_case(name), snake, "{name}");
        }
    }

    #[test]
    fn identifiers_resolve_as_in_keras() {
        let classes = crate::losses::LOSS_CLASSES;
        for (id, class) in [
            ("mse", "MeanSquaredError"),
            ("MSE", "MeanSquaredError"),
            ("mean_squared_error", "MeanSquaredError"),
            ("Huber", "Huber"),
            ("kl_divergence", "KLDivergence"),
            (
                "sparse_categorical_crossentropy",
                "SparseCategoricalCrossentropy",
            ),
        ] {
            assert_eq!(resolve_class("loss", id, &classes).unwrap(), class);
        }
        let metrics: Vec<&str> = crate::metrics::METRIC_CLASSES
            .iter()
            .chain(crate::metrics::WRAPPER_CLASSES.iter())
            .copied()
            .collect();
        assert_eq!(
            resolve_class("metric", "MAPE", &metrics).unwrap(),
            "MeanAbsolutePercentageError"
        );
        assert!(resolve_class("metric", "kld", &metrics).is_err());
        let err = resolve_class("loss", "nope", &classes)
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope") && err.contains("Huber"), "{err}");
    }
}
