//! IntegerLookup: integer tokens to vocabulary indices (or back, with `invert`), and
//! `adapt`'s vocabulary of the most frequent tokens.

use super::encoding::{encode, OutputMode};
use crate::bail;
use crate::config::Args;
use crate::error::Result;
use crate::nn::Layer;
use crate::tensor::{Float, Tensor};
use serde_json::Value;
use std::collections::HashMap;

/// Maps each token to its index in the vocabulary `[mask?, oov × num_oov_indices,
/// tokens...]`: the mask token to 0, known tokens after the special ones, and unknown
/// tokens to an OOV index (`token mod num_oov_indices` when there are several). With
/// `invert`, maps indices back to tokens. Non-`int` modes encode the indices over the
/// vocabulary's size. Inputs are whole numbers held as floats; the output is a constant.
pub struct IntegerLookup {
    /// The largest vocabulary size, special tokens included (Keras's `max_tokens`); None for
    /// no limit.
    pub max_tokens: Option<usize>,
    /// How many indices unknown tokens share (Keras's `num_oov_indices`).
    pub num_oov_indices: usize,
    /// The token mapped to index 0 (Keras's `mask_token`); None for no mask index.
    pub mask_token: Option<i64>,
    /// The token that `invert` gives for OOV indices and unknown indices (Keras's `oov_token`,
    /// default -1).
    pub oov_token: i64,
    /// Whether the layer maps indices back to tokens (only with `int` output).
    pub invert: bool,
    /// How the indices are encoded (Keras's `output_mode`: int, one_hot, multi_hot or count).
    pub output_mode: OutputMode,
    /// Whether non-`int` encodings have depth `max_tokens` rather than the vocabulary size.
    pub pad_to_max_tokens: bool,
    /// The vocabulary without the special tokens.
    pub tokens: Vec<i64>,
    index: HashMap<i64, usize>,
}

const MODES: &[&str] = &["int", "one_hot", "multi_hot", "count"];
const LAYER: &str = "IntegerLookup";

/// A whole number held by `v`, or an error naming the layer. A float at or above
/// `T::EXACT_INTEGERS_BELOW` (2**24 in float32) may be another token rounded.
fn token_of<T: Float>(v: T) -> Result<i64> {
    let f = v.to_f64();
    if f.fract() != 0.0 || !f.is_finite() {
        bail!(InvalidArgument, "{LAYER}: expected integer inputs, got {f}");
    }
    if f.abs() >= T::EXACT_INTEGERS_BELOW {
        bail!(
            InvalidArgument,
            "{LAYER}: token {f} is held as a {} value, which holds integers exactly only \
             below {}: it may be another token, rounded. Pass the tokens as integer data \
             (an int32 or int64 array), which stays exact",
            T::DTYPE,
            T::EXACT_INTEGERS_BELOW
        );
    }
    Ok(f as i64)
}

impl IntegerLookup {
    /// The layer of a Keras `IntegerLookup` config: `max_tokens`, `num_oov_indices`,
    /// `mask_token`, `oov_token`, `vocabulary` (with or without the special tokens at its
    /// start; absent or empty: nothing known yet), `invert`, `output_mode` and
    /// `pad_to_max_tokens`. Checks the vocabulary as Keras's `set_vocabulary` does.
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new(LAYER, config)?;
        let max_tokens: Option<usize> = args.opt("max_tokens")?;
        if max_tokens.is_some_and(|m| m <= 1) {
            bail!(
                InvalidArgument,
                "{LAYER}: if `max_tokens` is set it must be greater than 1, got {}",
                max_tokens.unwrap_or(0)
            );
        }
        let output_mode = OutputMode::from_args(&args, "int", MODES)?;
        let invert = args.or("invert", false)?;
        if invert && output_mode != OutputMode::Int {
            bail!(
                InvalidArgument,
                "{LAYER}: `output_mode` must be 'int' when `invert` is true"
            );
        }
        let pad_to_max_tokens = args.or("pad_to_max_tokens", false)?;
        if pad_to_max_tokens && max_tokens.is_none() {
            bail!(
                InvalidArgument,
                "{LAYER}: `pad_to_max_tokens=True` needs `max_tokens` to be set"
            );
        }
        let mut layer = IntegerLookup {
            max_tokens,
            num_oov_indices: args.or("num_oov_indices", 1)?,
            mask_token: args.opt("mask_token")?,
            oov_token: args.or("oov_token", -1)?,
            invert,
            output_mode,
            pad_to_max_tokens,
            tokens: Vec::new(),
            index: HashMap::new(),
        };
        // Keras's config holds None for no vocabulary.
        let vocabulary: Vec<i64> = args.opt("vocabulary")?.unwrap_or_default();
        layer.set_vocabulary(vocabulary)?;
        Ok(layer)
    }

    /// The index of the first OOV slot: 1 when a mask token takes index 0.
    pub fn oov_start(&self) -> usize {
        usize::from(self.mask_token.is_some() && self.output_mode == OutputMode::Int)
    }

    /// The index of the first real token.
    pub fn token_start(&self) -> usize {
        self.oov_start() + self.num_oov_indices
    }

    /// The vocabulary's size with the special tokens.
    pub fn vocabulary_size(&self) -> usize {
        self.token_start() + self.tokens.len()
    }

    /// Sets the vocabulary, dropping the special tokens when it starts with them in
    /// Keras's order (mask, then the OOV tokens).
    fn set_vocabulary(&mut self, vocabulary: Vec<i64>) -> Result<()> {
        let special: Vec<i64> = self
            .mask_token
            .iter()
            .take(self.oov_start())
            .copied()
            .chain(std::iter::repeat_n(self.oov_token, self.num_oov_indices))
            .collect();
        let tokens =
            if vocabulary.len() >= special.len() && vocabulary[..special.len()] == special[..] {
                vocabulary[special.len()..].to_vec()
            } else {
                vocabulary
            };
        let mut index = HashMap::with_capacity(tokens.len());
        let mut repeated = Vec::new();
        for (i, &t) in tokens.iter().enumerate() {
            if index.insert(t, i).is_some() && !repeated.contains(&t) {
                repeated.push(t);
            }
        }
        if !repeated.is_empty() {
            bail!(
                InvalidArgument,
                "{LAYER}: the vocabulary has repeated terms {repeated:?}; each term must appear once"
            );
        }
        if let Some(mask) = self.mask_token.filter(|m| index.contains_key(m)) {
            bail!(
                InvalidArgument,
                "{LAYER}: the mask token {mask} appears in the vocabulary after the special tokens; \
                 include the special tokens only at its start, in this order: {special:?}"
            );
        }
        if self.invert && index.contains_key(&self.oov_token) {
            bail!(
                InvalidArgument,
                "{LAYER}: the OOV token {} appears in the vocabulary after the special tokens; \
                 include the special tokens only at its start, in this order: {special:?}",
                self.oov_token
            );
        }
        let size = self.token_start() + tokens.len();
        if let Some(max) = self.max_tokens.filter(|&m| size > m) {
            bail!(
                InvalidArgument,
                "{LAYER}: the vocabulary size {size} (with the special tokens) is larger than `max_tokens` {max}"
            );
        }
        self.tokens = tokens;
        self.index = index;
        Ok(())
    }

    /// The vocabulary index of `token`, or None for a masked token in an encoding mode.
    fn lookup(&self, token: i64) -> Result<Option<usize>> {
        if self.mask_token == Some(token) {
            return Ok((self.output_mode == OutputMode::Int).then_some(0));
        }
        if let Some(&i) = self.index.get(&token) {
            return Ok(Some(self.token_start() + i));
        }
        match self.num_oov_indices {
            0 => bail!(
                InvalidArgument,
                "{LAYER}: when `num_oov_indices=0` all inputs should be in the vocabulary, found the OOV value {token}; consider setting `num_oov_indices=1`"
            ),
            n => Ok(Some(self.oov_start() + token.rem_euclid(n as i64) as usize)),
        }
    }

    /// The token at vocabulary `index` (the inverse lookup).
    fn token_at(&self, index: i64) -> i64 {
        if self.mask_token.is_some() && index == 0 {
            return self.mask_token.unwrap_or_default();
        }
        usize::try_from(index)
            .ok()
            .and_then(|i| i.checked_sub(self.token_start()))
            .and_then(|i| self.tokens.get(i).copied())
            .unwrap_or(self.oov_token)
    }

    /// The encoded vocabulary index of each token of `x`, or with `invert` the token of each
    /// index.
    pub fn forward<T: Float>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        // Integer data's exact tokens, else the floats' (see `Tensor::integers`).
        let tokens = match x.integers() {
            Some(exact) => exact.to_vec(),
            None => x
                .data()
                .iter()
                .map(|&v| token_of(v))
                .collect::<Result<_>>()?,
        };
        if self.invert {
            let out = tokens
                .iter()
                .map(|&t| T::from_f64(self.token_at(t) as f64))
                .collect();
            return Tensor::from_vec(out, x.shape());
        }
        let indices = tokens
            .iter()
            .map(|&t| self.lookup(t))
            .collect::<Result<Vec<_>>>()?;
        let depth = match (self.pad_to_max_tokens, self.max_tokens) {
            (true, Some(max)) => max,
            _ => self.vocabulary_size(),
        };
        encode(&indices, x.shape(), self.output_mode, depth, None)
    }
}

/// `IntegerLookup.adapt`: the tokens of `batches` by decreasing count (ties: the larger
/// token first), without the mask and OOV tokens, at most `max_learned` of them.
pub fn adapt_vocabulary(
    batches: &[Vec<i64>],
    mask_token: Option<i64>,
    oov_token: Option<i64>,
    max_learned: Option<usize>,
) -> Vec<i64> {
    let mut counts: HashMap<i64, u64> = HashMap::new();
    for &t in batches.iter().flatten() {
        *counts.entry(t).or_default() += 1;
    }
    for special in [mask_token, oov_token].into_iter().flatten() {
        counts.remove(&special);
    }
    let mut ranked: Vec<(i64, u64)> = counts.into_iter().collect();
    ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    ranked
        .into_iter()
        .map(|(t, _)| t)
        .take(max_learned.unwrap_or(usize::MAX))
        .collect()
}

impl Layer for IntegerLookup {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        IntegerLookup::forward(self, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(v: &[f32], shape: &[usize]) -> Tensor<f32> {
        Tensor::from_vec(v.to_vec(), shape).unwrap()
    }

    #[test]
    fn keras_docstring_examples() {
        let vocab = json!([12, 36, 1138, 42]);
        let data = t(&[12., 1138., 42., 42., 1000., 36.], &[2, 3]);
        let layer = IntegerLookup::from_config(&json!({"vocabulary": vocab})).unwrap();
        assert_eq!(
            layer.forward(&data).unwrap().to_vec(),
            vec![1., 3., 4., 4., 0., 2.]
        );
        // Adapted vocabulary: by count, ties by the larger token.
        let adapted = adapt_vocabulary(&[vec![12, 1138, 42, 42, 1000, 36]], None, Some(-1), None);
        assert_eq!(adapted, vec![42, 1138, 1000, 36, 12]);
        let two_oov =
            IntegerLookup::from_config(&json!({"vocabulary": vocab, "num_oov_indices": 2}))
                .unwrap();
        assert_eq!(
            two_oov.forward(&data).unwrap().to_vec(),
            vec![2., 4., 5., 5., 0., 3.]
        );
        let one_hot =
            IntegerLookup::from_config(&json!({"vocabulary": vocab, "output_mode": "one_hot"}))
                .unwrap();
        let y = one_hot
            .forward(&t(&[12., 36., 1138., 42., 7.], &[5]))
            .unwrap();
        assert_eq!(y.shape(), &[5, 5]);
        assert_eq!(&y.to_vec()[..10], &[0., 1., 0., 0., 0., 0., 0., 1., 0., 0.]);
        let tokens = t(&[12., 1138., 12., 1138., 7., 36., 1138., 42., 42.], &[3, 3]);
        for (mode, expected) in [
            (
                "multi_hot",
                [0., 1., 0., 1., 0., 1., 0., 1., 1., 0., 0., 0., 0., 1., 1.],
            ),
            (
                "count",
                [0., 2., 0., 1., 0., 1., 0., 1., 1., 0., 0., 0., 0., 1., 2.],
            ),
        ] {
            let layer =
                IntegerLookup::from_config(&json!({"vocabulary": vocab, "output_mode": mode}))
                    .unwrap();
            assert_eq!(layer.forward(&tokens).unwrap().to_vec(), expected);
        }
        // Inverse lookup, and the mask token.
        let inverse =
            IntegerLookup::from_config(&json!({"vocabulary": vocab, "invert": true})).unwrap();
        let y = inverse
            .forward(&t(&[1., 3., 4., 4., 0., 2.], &[2, 3]))
            .unwrap();
        assert_eq!(y.to_vec(), vec![12., 1138., 42., 42., -1., 36.]);
        let masked =
            IntegerLookup::from_config(&json!({"vocabulary": vocab, "mask_token": 0})).unwrap();
        let y = masked
            .forward(&t(&[12., 1138., 0., 42., 0., 36.], &[2, 3]))
            .unwrap();
        assert_eq!(y.to_vec(), vec![2., 4., 0., 5., 0., 3.]);
    }

    /// Tokens from integer data are read exactly beyond 2**24 (float32 rounds 2**24 + 1
    /// to 2**24); float tokens that large may be rounded and are refused.
    #[test]
    fn large_tokens_stay_exact_from_integer_data() {
        let (a, b) = ((1i64 << 24) + 1, 1i64 << 24);
        let layer = IntegerLookup::from_config(&json!({"vocabulary": [b, a]})).unwrap();
        let x = Tensor::<f32>::from_integers(vec![a, b, 7], &[3]).unwrap();
        assert_eq!(layer.forward(&x).unwrap().to_vec(), vec![2., 1., 0.]);
        let err = layer.forward(&t(&[16_777_216.0], &[1])).unwrap_err();
        assert!(err.to_string().contains("token 16777216"), "{err}");
    }

    #[test]
    fn vocabulary_checks() {
        let with_special =
            IntegerLookup::from_config(&json!({"vocabulary": [0, -1, 5, 6], "mask_token": 0}))
                .unwrap();
        assert_eq!(with_special.tokens, vec![5, 6]);
        for bad in [
            json!({"vocabulary": [5, 5]}),
            json!({"vocabulary": [5, 0], "mask_token": 0}),
            json!({"vocabulary": [5, -1], "invert": true}),
            json!({"vocabulary": [1, 2, 3], "max_tokens": 3}),
            json!({"max_tokens": 1}),
            json!({"invert": true, "output_mode": "count"}),
            json!({"output_mode": "tf_idf"}),
            json!({"pad_to_max_tokens": true}),
        ] {
            assert!(IntegerLookup::from_config(&bad).is_err(), "{bad}");
        }
        let strict =
            IntegerLookup::from_config(&json!({"vocabulary": [5], "num_oov_indices": 0})).unwrap();
        let err = strict.forward(&t(&[5., 6.], &[2])).unwrap_err().to_string();
        assert!(
            err.contains("num_oov_indices=0") && err.contains('6'),
            "{err}"
        );
        assert!(strict.forward(&t(&[5.5], &[1])).is_err());
        let padded = IntegerLookup::from_config(&json!({"vocabulary": [5], "max_tokens": 6, "pad_to_max_tokens": true, "output_mode": "multi_hot"})).unwrap();
        assert_eq!(padded.forward(&t(&[5.], &[1, 1])).unwrap().shape(), &[1, 6]);
        assert_eq!(
            adapt_vocabulary(&[vec![3, 3, 0, 0, 0, 9]], Some(0), None, Some(1)),
            vec![3]
        );
    }
}
