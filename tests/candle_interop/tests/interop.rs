//! Safetensors files move between candle-nn and kandle in both directions, with the
//! names and layouts of `candle_nn::linear` (`<prefix>.weight` of shape (out, in) and
//! `<prefix>.bias`), and give the same predictions.

use candle_core::{DType, Device, Module, Tensor as CandleTensor};
use candle_nn::{VarBuilder, VarMap};
use kandle::ops::Activation;
use kandle::Tensor;

fn input() -> Vec<f32> {
    (0..3 * 20)
        .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
        .collect()
}

fn assert_close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-5 * (1.0 + y.abs()), "{x} vs {y}");
    }
}

#[test]
fn a_candle_varmap_file_loads_into_kandle() {
    let dir = std::env::temp_dir().join(format!("kandle-candle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("candle.safetensors");

    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let linear = candle_nn::linear(20, 32, vb.pp("dense")).unwrap();
    varmap.save(&path).unwrap();
    let x = CandleTensor::from_vec(input(), (3, 20), &Device::Cpu).unwrap();
    let theirs: Vec<f32> = linear
        .forward(&x)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();

    let tensors = kandle::io::load_safetensors(&path).unwrap();
    let get = |name: &str| tensors.iter().find(|(n, _)| n == name).unwrap().1.clone();
    let (weight, bias) = (get("dense.weight"), get("dense.bias"));
    assert_eq!(weight.shape(), &[32, 20]);
    let ours = Tensor::from_vec(input(), &[3, 20])
        .unwrap()
        .linear(&weight, Some(&bias), Activation::Linear)
        .unwrap();
    assert_close(&ours.to_vec(), &theirs);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_kandle_file_loads_into_candle() {
    let dir = std::env::temp_dir().join(format!("kandle-candle-rev-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("kandle.safetensors");

    let weight: Vec<f32> = (0..32 * 20)
        .map(|i| ((i * 13 % 17) as f32 - 8.0) / 10.0)
        .collect();
    let bias: Vec<f32> = (0..32).map(|i| i as f32 / 32.0).collect();
    let weight = Tensor::from_vec(weight, &[32, 20]).unwrap();
    let bias = Tensor::from_vec(bias, &[32]).unwrap();
    kandle::io::save_safetensors(
        &path,
        &[
            ("dense.weight".into(), weight.clone()),
            ("dense.bias".into(), bias.clone()),
        ],
    )
    .unwrap();
    let ours = Tensor::from_vec(input(), &[3, 20])
        .unwrap()
        .linear(&weight, Some(&bias), Activation::Linear)
        .unwrap();

    // SAFETY: the file is not modified while mapped.
    let vb =
        unsafe { VarBuilder::from_mmaped_safetensors(&[&path], DType::F32, &Device::Cpu).unwrap() };
    let linear = candle_nn::linear(20, 32, vb.pp("dense")).unwrap();
    let x = CandleTensor::from_vec(input(), (3, 20), &Device::Cpu).unwrap();
    let theirs: Vec<f32> = linear
        .forward(&x)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_close(&ours.to_vec(), &theirs);
    std::fs::remove_dir_all(dir).unwrap();
}
