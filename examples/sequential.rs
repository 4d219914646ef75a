//! The seed's Keras-like API in Rust: `Sequential::new()`, `add`, `compile` and a
//! forward pass on a 784-100-10 model with relu, then a fit on generated data with the
//! progress bar (drawn when run in a terminal).
//!
//!     cargo run --release --example sequential

use kandle::prelude::*;

fn main() -> Result<()> {
    kandle::tensor::random::set_seed(0);
    let mut model = Sequential::new()
        .add(Input::new([784]))
        .add(Dense::new(100).activation("relu"))
        .add(Dense::new(10));
    model.compile(
        Adam::default(),
        SparseCategoricalCrossentropy::from_logits(),
        ["accuracy"],
    )?;
    model.build(&[784])?;

    // The seed's forward pass on one dummy image.
    let image = Tensor::rand_normal(&[1, 784], 0.0, 1.0)?;
    let digit = model.forward(&image, false)?;
    println!("Digit: {:?}", digit.to_vec());

    // Generated data: the label of each row is the class a random linear "teacher"
    // scores highest, which the model can learn.
    let rows = 6000;
    let x = Tensor::rand_normal(&[rows, 784], 0.0, 1.0)?;
    let teacher = Tensor::rand_normal(&[784, 10], 0.0, 1.0)?;
    let labels: Vec<f32> = x
        .matmul(&teacher)?
        .to_vec()
        .chunks(10)
        .map(|scores| {
            let best = scores.iter().cloned().fold(f32::MIN, f32::max);
            scores.iter().position(|&s| s == best).unwrap_or(0) as f32
        })
        .collect();
    let y = Tensor::from_vec(labels, &[rows])?;
    let history = model.fit(
        &x,
        &y,
        FitOptions {
            epochs: 5,
            batch_size: 32,
            validation_split: 0.1,
            ..Default::default()
        },
    )?;
    for (epoch, (loss, acc)) in history
        .get("loss")
        .iter()
        .zip(history.get("val_accuracy"))
        .enumerate()
    {
        println!("epoch {}: loss {loss:.4}, val_accuracy {acc:.4}", epoch + 1);
    }
    let (loss, metrics) = model.evaluate(&x, &y)?;
    println!(
        "evaluate: loss {loss:.4}, accuracy {:.4}",
        metrics["accuracy"]
    );
    Ok(())
}
