//! The per-element walk of an optimizer step: a variable, its gradient and its slot
//! arrays, visited once, vectorized, and in parallel over fixed chunks for large
//! variables. What each element gets is the optimizer's business (`crate::optim`).

use super::parallel::{in_pool, num_threads, vectorized, CHUNK, PAR_THRESHOLD};
use rayon::prelude::*;

/// The update loop over one chunk, for `K` slot arrays (each as long as `var`). Slots
/// are stored one array per slot, so every stream is contiguous and, with `K` known at
/// compile time, the compiler vectorizes the optimizer's formula.
#[inline(always)]
fn walk<const K: usize>(
    var: &mut [f32],
    grad: &[f32],
    slots: [&mut [f32]; K],
    prep: &impl Fn(&mut f32, f32) -> f32,
    f: &impl Fn(&mut f32, f32, &mut [f32]),
) {
    let n = var.len();
    let grad = &grad[..n];
    let slots = slots.map(|s| &mut s[..n]);
    for i in 0..n {
        let mut s = [0.0f32; K];
        for k in 0..K {
            s[k] = slots[k][i];
        }
        let g = prep(&mut var[i], grad[i]);
        f(&mut var[i], g, &mut s);
        for k in 0..K {
            slots[k][i] = s[k];
        }
    }
}

/// [`walk`] as a `pulp::WithSimd` op, whose `with_simd` is always inlined into each
/// instruction set's copy in [`vectorized`]: passed as a closure, the loop was compiled
/// apart from them, for SSE (seen in the profile: Adam's pass ran 4 lanes wide).
struct Walk<'a, const K: usize, P, F> {
    var: &'a mut [f32],
    grad: &'a [f32],
    slots: [&'a mut [f32]; K],
    prep: &'a P,
    f: &'a F,
}

impl<const K: usize, P, F> pulp::WithSimd for Walk<'_, K, P, F>
where
    P: Fn(&mut f32, f32) -> f32,
    F: Fn(&mut f32, f32, &mut [f32]),
{
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        walk::<K>(self.var, self.grad, self.slots, self.prep, self.f)
    }
}

/// Splits a variable's slot buffer (`K` arrays of `n` values, one after another).
fn split_slots<const K: usize>(slots: &mut [f32], n: usize) -> [&mut [f32]; K] {
    let mut rest = slots;
    std::array::from_fn(|_| {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(n);
        rest = tail;
        head
    })
}

/// For every element `i` of `var`: `g = prep(&mut var[i], grad[i])`, then
/// `f(&mut var[i], g, s)` where `s` holds element `i` of each of the `K` slot arrays
/// stored one after another in `slots` (written back afterwards). In parallel over fixed
/// chunks for large variables: every element is independent, so results never depend
/// on the thread count.
pub(crate) fn walk_slots<const K: usize>(
    var: &mut [f32],
    grad: &[f32],
    slots: &mut [f32],
    prep: impl Fn(&mut f32, f32) -> f32 + Sync + Send,
    f: impl Fn(&mut f32, f32, &mut [f32]) + Sync + Send,
) {
    debug_assert_eq!(slots.len(), var.len() * K);
    let slots = split_slots::<K>(slots, var.len());
    let body = |start: usize, var: &mut [f32], slots: [&mut [f32]; K]| {
        let grad = &grad[start..start + var.len()];
        vectorized(Walk {
            var,
            grad,
            slots,
            prep: &prep,
            f: &f,
        });
    };
    if var.len() < PAR_THRESHOLD || num_threads() == 1 {
        body(0, var, slots);
    } else {
        // The same fixed chunks of the variable and of each of its slot arrays.
        let mut chunks = slots.map(|s| s.chunks_mut(CHUNK));
        let per_chunk: Vec<[&mut [f32]; K]> = (0..var.len().div_ceil(CHUNK))
            .map(|_| std::array::from_fn(|k| chunks[k].next().expect("same chunk count")))
            .collect();
        in_pool(|| {
            var.par_chunks_mut(CHUNK)
                .zip(per_chunk)
                .enumerate()
                .for_each(|(i, (c, s))| body(i * CHUNK, c, s))
        });
    }
}
