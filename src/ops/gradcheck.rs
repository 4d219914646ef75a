//! Gradient checks by central differences in f64, with PyTorch gradcheck's tolerances.

use crate::error::Result;
use crate::tensor::Tensor;
use rand::{Rng, SeedableRng};

const EPS: f64 = 1e-6;
const ATOL: f64 = 1e-5;
const RTOL: f64 = 1e-3;

/// Uniform numbers in [-1, 1) from a local generator (tests stay independent).
pub fn rand(shape: &[usize], seed: u64) -> Tensor<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n = shape.iter().product();
    let data = (0..n).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
    Tensor::from_vec(data, shape).unwrap()
}

/// A scalar from `t` in which each element has its own weight, so that a wrong
/// gradient at any single position shows.
fn probe(t: &Tensor<f64>) -> Result<Tensor<f64>> {
    let weights = rand(t.shape(), 12345).map(|w| w + 1.5)?;
    t.mul(&weights)?.sum(None, false)
}

/// Checks the gradient of `f` at `inputs` against central differences.
pub fn check_grad(inputs: &[Tensor<f64>], f: impl Fn(&[Tensor<f64>]) -> Result<Tensor<f64>>) {
    let vars: Vec<Tensor<f64>> = inputs.iter().map(|t| t.to_variable()).collect();
    let loss = |vs: &[Tensor<f64>]| probe(&f(vs).unwrap()).unwrap().item().unwrap();
    let analytic = crate::grad(&probe(&f(&vars).unwrap()).unwrap(), &vars).unwrap();
    for (k, v) in vars.iter().enumerate() {
        assert_eq!(analytic[k].shape(), v.shape());
        let a = analytic[k].to_vec();
        for i in 0..v.numel() {
            let orig = v.to_vec();
            let mut plus = orig.clone();
            plus[i] += EPS;
            v.assign(&plus).unwrap();
            let lp = loss(&vars);
            let mut minus = orig.clone();
            minus[i] -= EPS;
            v.assign(&minus).unwrap();
            let lm = loss(&vars);
            v.assign(&orig).unwrap();
            let numeric = (lp - lm) / (2.0 * EPS);
            assert!(
                (a[i] - numeric).abs() <= ATOL + RTOL * numeric.abs(),
                "input {k} element {i}: analytic {} vs numeric {numeric}",
                a[i]
            );
        }
    }
}
