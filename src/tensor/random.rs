//! Random numbers from one seedable, platform-independent generator (ChaCha8), so that
//! `set_seed` makes initializers, shuffling and dropout reproducible everywhere.

use super::{Float, Tensor};
use crate::error::Result;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::cell::RefCell;
use std::sync::{Mutex, OnceLock};

fn generator() -> &'static Mutex<ChaCha8Rng> {
    static RNG: OnceLock<Mutex<ChaCha8Rng>> = OnceLock::new();
    RNG.get_or_init(|| {
        // Unseeded runs differ from each other, as in Keras.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Mutex::new(ChaCha8Rng::seed_from_u64(
            nanos ^ (std::process::id() as u64) << 32,
        ))
    })
}

/// Seeds the global generator.
pub fn set_seed(seed: u64) {
    *generator().lock().unwrap_or_else(|e| e.into_inner()) = ChaCha8Rng::seed_from_u64(seed);
}

/// Length of [`rng_state`]'s bytes: the 32-byte seed, the stream and the word position.
pub const RNG_STATE_BYTES: usize = 32 + 8 + 16;

/// The global generator's exact position, to save with a checkpoint: a run restored
/// with [`set_rng_state`] draws the same numbers the original would have drawn next.
pub fn rng_state() -> Vec<u8> {
    encode_state(&generator().lock().unwrap_or_else(|e| e.into_inner()))
}

/// Restores the global generator to a position from [`rng_state`].
pub fn set_rng_state(state: &[u8]) -> Result<()> {
    let rng = decode_state(state)?;
    *generator().lock().unwrap_or_else(|e| e.into_inner()) = rng;
    Ok(())
}

fn encode_state(rng: &ChaCha8Rng) -> Vec<u8> {
    let mut out = rng.get_seed().to_vec();
    out.extend_from_slice(&rng.get_stream().to_le_bytes());
    out.extend_from_slice(&rng.get_word_pos().to_le_bytes());
    out
}

fn decode_state(state: &[u8]) -> Result<ChaCha8Rng> {
    if state.len() != RNG_STATE_BYTES {
        crate::bail!(
            InvalidArgument,
            "set_rng_state: expected {RNG_STATE_BYTES} bytes of generator state, got {}",
            state.len()
        );
    }
    let seed: [u8; 32] = state[..32].try_into().expect("32 bytes");
    let mut rng = ChaCha8Rng::from_seed(seed);
    rng.set_stream(u64::from_le_bytes(
        state[32..40].try_into().expect("8 bytes"),
    ));
    rng.set_word_pos(u128::from_le_bytes(
        state[40..].try_into().expect("16 bytes"),
    ));
    Ok(rng)
}

thread_local! {
    /// A generator that replaces the global one on this thread, inside [`with_seed`].
    static SEEDED: RefCell<Option<ChaCha8Rng>> = const { RefCell::new(None) };
}

/// Runs `f` with the global generator (or, inside [`with_seed`], the seeded one).
pub fn with_rng<R>(f: impl FnOnce(&mut ChaCha8Rng) -> R) -> R {
    let mut f = Some(f);
    let seeded = SEEDED.with(|s| {
        s.borrow_mut()
            .as_mut()
            .map(|rng| (f.take().expect("called once"))(rng))
    });
    match seeded {
        Some(r) => r,
        None => (f.take().expect("called once"))(
            &mut generator().lock().unwrap_or_else(|e| e.into_inner()),
        ),
    }
}

/// Runs `f` with draws on this thread taken from a fresh generator seeded with `seed`,
/// leaving the global generator untouched: a seeded Keras initializer gives the same
/// values on every call.
pub fn with_seed<R>(seed: u64, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<ChaCha8Rng>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            SEEDED.with(|s| *s.borrow_mut() = previous);
        }
    }
    let previous = SEEDED.with(|s| s.borrow_mut().replace(ChaCha8Rng::seed_from_u64(seed)));
    let _restore = Restore(previous);
    f()
}

fn sample<T: Float>(
    shape: &[usize],
    mut draw: impl FnMut(&mut ChaCha8Rng) -> f64,
) -> Result<Tensor<T>> {
    let n = super::shape::checked_numel(shape, std::mem::size_of::<T>())?;
    let mut data = crate::kernels::pool::alloc_for_overwrite::<T>(n)?;
    with_rng(|rng| data.iter_mut().for_each(|v| *v = T::from_f64(draw(rng))));
    Tensor::from_vec(data, shape)
}

impl<T: Float> Tensor<T> {
    /// Uniform numbers in `[low, high)`.
    pub fn rand_uniform(shape: &[usize], low: f64, high: f64) -> Result<Self> {
        sample(shape, |rng| low + (high - low) * rng.random::<f64>())
    }

    /// Normal numbers with the given mean and standard deviation.
    pub fn rand_normal(shape: &[usize], mean: f64, std: f64) -> Result<Self> {
        sample(shape, |rng| {
            let z: f64 = StandardNormal.sample(rng);
            mean + std * z
        })
    }

    /// Normal numbers redrawn until within two standard deviations of the mean, as
    /// Keras's TruncatedNormal.
    pub fn rand_truncated_normal(shape: &[usize], mean: f64, std: f64) -> Result<Self> {
        sample(shape, |rng| loop {
            let z: f64 = StandardNormal.sample(rng);
            if z.abs() <= 2.0 {
                return mean + std * z;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restored_state_draws_the_same_numbers() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        rng.random::<u64>();
        let state = encode_state(&rng);
        let next: Vec<u64> = (0..5).map(|_| rng.random()).collect();
        let mut restored = decode_state(&state).unwrap();
        let again: Vec<u64> = (0..5).map(|_| restored.random()).collect();
        assert_eq!(next, again);
        assert!(decode_state(&state[1..]).is_err());
        assert!(set_rng_state(&[0; 3]).is_err());
    }

    #[test]
    fn seeded_draws_repeat() {
        set_seed(7);
        let a = Tensor::<f32>::rand_uniform(&[100], -1., 1.)
            .unwrap()
            .to_vec();
        set_seed(7);
        let b = Tensor::<f32>::rand_uniform(&[100], -1., 1.)
            .unwrap()
            .to_vec();
        assert_eq!(a, b);
        assert!(a.iter().all(|v| (-1.0..1.0).contains(v)));
        let n = Tensor::<f64>::rand_normal(&[20000], 2., 3.)
            .unwrap()
            .to_vec();
        let mean = n.iter().sum::<f64>() / n.len() as f64;
        let var = n.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n.len() as f64;
        assert!((mean - 2.).abs() < 0.1 && (var.sqrt() - 3.).abs() < 0.1);
    }

    #[test]
    fn with_seed_repeats_and_leaves_the_global_generator_alone() {
        let draw = || Tensor::<f32>::rand_uniform(&[8], 0., 1.).unwrap().to_vec();
        set_seed(3);
        let plain = draw();
        set_seed(3);
        let a = with_seed(11, draw);
        let b = with_seed(11, draw);
        assert_eq!(a, b);
        assert_ne!(a, plain);
        assert_eq!(draw(), plain); // the global stream did not advance
    }
}
