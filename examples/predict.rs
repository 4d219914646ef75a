//! Deploys a model trained in Python from pure Rust: loads a `.keras` file, reads the
//! tensor `x` from a safetensors file, and writes the predictions as the tensor `y`.
//! The crate reads `.npz` weights: save the model in Python with
//! `model.save(path, weights_format="npz")` (the default, with h5py installed, writes
//! Keras's `model.weights.h5`, which only the Python package reads).
//!
//!     cargo run --release --example predict -- MODEL.keras INPUT.safetensors OUTPUT.safetensors

use kandle::prelude::*;
use std::path::Path;

fn main() {
    if let Err(error) = run() {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model_path, input, output] = args.as_slice() else {
        eprintln!("usage: predict MODEL.keras INPUT.safetensors OUTPUT.safetensors");
        std::process::exit(2);
    };
    let mut model = load_model(model_path)?;
    let tensors = kandle::io::load_safetensors(Path::new(input))?;
    let Some((_, x)) = tensors.into_iter().find(|(name, _)| name == "x") else {
        eprintln!("{input} has no tensor named `x`");
        std::process::exit(1);
    };
    let y = model.predict(&x)?;
    kandle::io::save_safetensors(Path::new(output), &[("y".to_string(), y.clone())])?;
    println!(
        "{} rows -> {} (shape {:?})",
        x.shape()[0],
        output,
        y.shape()
    );
    Ok(())
}
