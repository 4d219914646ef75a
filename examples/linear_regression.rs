//! The seed's linear regression in Rust: recover y = 3·x1 + x2 − 2 from four points
//! with one Dense unit, SGD (learning rate 0.004) and the squared error summed over the
//! batch (candle-nn's `tests/optim.rs`: weights start at zero, 1000 steps).
//!
//!     cargo run --release --example linear_regression

use kandle::prelude::*;

/// Prints the loss of each epoch in the seed's form.
struct PrintLoss;

impl Callback for PrintLoss {
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, _: &mut Control) -> Result<()> {
        if epoch < 10 || (epoch + 1) % 100 == 0 {
            println!("Epoch: {}, Loss: [{:.4}]", epoch + 1, logs["loss"]);
        }
        Ok(())
    }
}

fn main() -> Result<()> {
    let x = Tensor::from_vec(vec![2., 1., 7., 4., -4., 12., 5., 8.], &[4, 2])?;
    let y = Tensor::from_vec(vec![5., 23., -2., 21.], &[4, 1])?; // 3·x1 + x2 − 2

    let mut model = Sequential::new()
        .add(Input::new([2]))
        .add(Dense::new(1).kernel_initializer("zeros"));
    model.compile(
        SGD::new().learning_rate(0.004),
        MeanSquaredError::new().with("reduction", "sum"),
        ["mae"],
    )?;
    model.fit(
        &x,
        &y,
        FitOptions {
            epochs: 1000,
            batch_size: 4,
            shuffle: false,
            verbose: false,
            callbacks: vec![Box::new(PrintLoss)],
            ..Default::default()
        },
    )?;
    let weights = model.weights();
    println!(
        "w = {:?}, b = {:?}  (true: w = [3, 1], b = -2)",
        weights[0].to_vec(),
        weights[1].to_vec()
    );
    Ok(())
}
