//! Measures the rate of kandle's matrix products (`Tensor::matmul`, on the gemm crate)
//! at the shapes of a training step, on the pool's threads polling as they do in `fit`:
//! the ceiling for the share of numpy's rate that `benchmarks/bench_mnist.py` reports.
//!
//!     cargo run --release --example gemm_rate                 # the MLP's and convnet's shapes
//!     cargo run --release --example gemm_rate -- 128 784 512  # m k n, any number of triples
//!     KANDLE_CPU=avx2 cargo run --release --example gemm_rate # gemm's AVX2 kernels
//!
//! Compare with numpy's rate at 2048³ (`OPENBLAS_CORETYPE=Haswell` for its AVX2 kernels).

use kandle::kernels::parallel::{num_threads, run_hot};
use kandle::prelude::*;
use std::time::Instant;

fn main() -> Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("shapes are whole numbers: m k n ..."))
        .collect();
    let shapes: Vec<[usize; 3]> = match args.is_empty() {
        // The 784-512-512-10 MLP at batch 128 (forward, weight gradient), the convnet's
        // second layer (forward and input gradient of its im2col product), and 2048³.
        true => vec![
            [128, 784, 512],
            [128, 512, 512],
            [512, 128, 784],
            [15488, 288, 64],
            [15488, 64, 288],
            [2048, 2048, 2048],
        ],
        false => args.chunks_exact(3).map(|s| [s[0], s[1], s[2]]).collect(),
    };
    println!(
        "{} threads, {}",
        num_threads(),
        kandle::kernels::cpu::simd_level()
    );
    for [m, k, n] in shapes {
        let a = Tensor::<f32>::rand_uniform(&[m, k], -1.0, 1.0)?;
        let b = Tensor::<f32>::rand_uniform(&[k, n], -1.0, 1.0)?;
        let flops = 2.0 * (m * k * n) as f64;
        let runs = (2e10 / flops).clamp(5.0, 2000.0) as usize;
        let mut seconds = run_hot(|| -> Result<Vec<f64>> {
            (0..runs)
                .map(|_| {
                    let start = Instant::now();
                    a.matmul(&b)?;
                    Ok(start.elapsed().as_secs_f64())
                })
                .collect()
        })?;
        // The 20th percentile: the product's own rate, less the machine's noise.
        seconds.sort_by(f64::total_cmp);
        let t = seconds[runs / 5];
        println!("{m:>6} x {k:>5} x {n:>5}: {:6.1} GFLOP/s", flops / t / 1e9);
    }
    Ok(())
}
