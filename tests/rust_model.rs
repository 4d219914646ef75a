//! The crate's Keras-like model API, as a Rust user calls it.

use kandle::prelude::*;

fn line_data() -> (Tensor, Tensor) {
    let x = Tensor::from_vec(vec![2., 1., 7., 4., -4., 12., 5., 8.], &[4, 2]).unwrap();
    let y = Tensor::from_vec(vec![5., 23., -2., 21.], &[4, 1]).unwrap();
    (x, y)
}

/// candle-nn's `tests/optim.rs` (DESIGN.md's reference values): weights from zero, the
/// summed squared error, SGD with learning rate 0.004, 1000 full-batch steps.
#[test]
fn fit_reproduces_candles_linear_regression() {
    let (x, y) = line_data();
    let mut model = Sequential::new()
        .add(Input::new([2]))
        .add(Dense::new(1).kernel_initializer("zeros"));
    model
        .compile(
            SGD::new().learning_rate(0.004),
            MeanSquaredError::new().with("reduction", "sum"),
            ["mae"],
        )
        .unwrap();
    let fit = FitOptions {
        epochs: 1000,
        batch_size: 4,
        shuffle: false,
        verbose: false,
        ..Default::default()
    };
    let history = model.fit(&x, &y, fit).unwrap();
    assert_eq!(history.get("loss").len(), 1000);
    assert_eq!(history.get("mae").len(), 1000);
    let w = model.weights();
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(a, b)| (a - b).abs() < 1e-5);
    assert!(
        close(&w[0].to_vec(), &[2.9983196, 0.99790204]),
        "{:?}",
        w[0].to_vec()
    );
    assert!(close(&w[1].to_vec(), &[-1.9796902]), "{:?}", w[1].to_vec());
    // The first epoch's loss is the summed squared error of the zero model.
    assert_eq!(history.get("loss")[0], 25.0 + 529.0 + 4.0 + 441.0);

    let (loss, metrics) = model.evaluate(&x, &y).unwrap();
    assert!(loss < 1e-2 && metrics["mae"] < 1e-2, "{loss} {metrics:?}");
    let y_hat = model.predict(&x).unwrap();
    assert_eq!(y_hat.shape(), [4, 1]);
    let near = y_hat
        .to_vec()
        .iter()
        .zip(y.to_vec())
        .all(|(a, b)| (a - b).abs() < 0.05);
    assert!(near, "{:?}", y_hat.to_vec());
}

/// Keras's `validation_split` takes the last rows; `val_` logs and `accuracy` resolve
/// as in Keras; EarlyStopping stops a run that no longer improves.
#[test]
fn validation_metrics_and_early_stopping() {
    kandle::tensor::random::set_seed(3);
    let rows = 200;
    let x = Tensor::rand_uniform(&[rows, 4], 0.0, 1.0).unwrap();
    let labels: Vec<f32> = x
        .to_vec()
        .chunks(4)
        .map(|r| if r[0] > r[1] { 1.0 } else { 0.0 })
        .collect();
    let y = Tensor::from_vec(labels, &[rows]).unwrap();
    let mut model = Sequential::new()
        .add(Dense::new(8).activation("relu"))
        .add(Dense::new(2));
    model
        .compile(
            Adam::new().learning_rate(0.0),
            SparseCategoricalCrossentropy::from_logits(),
            ["accuracy"],
        )
        .unwrap();
    let history = model
        .fit(
            &x,
            &y,
            FitOptions {
                epochs: 10,
                validation_split: 0.25,
                verbose: false,
                callbacks: vec![Box::new(EarlyStopping::new("val_loss").patience(2))],
                ..Default::default()
            },
        )
        .unwrap();
    let keys: Vec<&String> = history.history.keys().collect();
    assert_eq!(keys, ["accuracy", "loss", "val_accuracy", "val_loss"]);
    // With a zero learning rate nothing improves after epoch 0: stop after patience.
    assert_eq!(history.epochs, [0, 1, 2]);
    assert_eq!(model.input_shape(), Some(&[4][..]));
    assert_eq!(model.count_params(), 4 * 8 + 8 + 8 * 2 + 2);
}

/// Misuse gives the crate's error, never a panic.
#[test]
fn misuse_is_an_error() {
    let (x, y) = line_data();
    let mut model = Sequential::new().add(Dense::new(1));
    let err = model.fit(&x, &y, FitOptions::default()).unwrap_err();
    assert!(err.to_string().contains("compile()"), "{err}");
    assert!(model.compile("sgd", "no_such_loss", ["mae"]).is_err());
    assert!(model.compile("sgd", "mse", ["no_such_metric"]).is_err());
    assert!(model.compile("no_such_optimizer", "mse", ["mae"]).is_err());
    model.compile("sgd", "mse", Vec::<&str>::new()).unwrap();
    let short = Tensor::from_vec(vec![1.0, 2.0], &[2, 1]).unwrap();
    assert!(model.fit(&x, &short, FitOptions::default()).is_err());
    let fit = FitOptions {
        batch_size: 0,
        ..Default::default()
    };
    assert!(model.fit(&x, &y, fit).is_err());
    let mut zero_units = Sequential::new().add(Dense::new(0));
    let err = zero_units.predict(&x).unwrap_err().to_string();
    assert!(err.contains("units"), "{err}");
    let mut wrong_input = Sequential::new().add(Input::new([3])).add(Dense::new(1));
    assert!(wrong_input.predict(&x).is_err());
    // A layer's error names the layer, and its spatial sizes and padding as Keras does.
    let mut too_small = Sequential::new()
        .add(Input::new([2, 2, 3]))
        .add(Conv2D::new(4, 3));
    let err = too_small.build(&[2, 2, 3]).unwrap_err();
    assert!(matches!(err, kandle::Error::Shape(_)), "{err:?}");
    let err = err.to_string();
    assert!(
        err.starts_with("layer \"conv2d\" (Conv2D): Conv2D:"),
        "{err}"
    );
    assert!(
        err.contains("spatial shape (2, 2), padding='valid'"),
        "{err}"
    );
}

/// `save` writes Keras's `.keras` file and `load_model` reads it back: the same
/// predictions, bit for bit; a damaged or wrong path is an error.
#[test]
fn save_and_load_model_round_trip() {
    kandle::tensor::random::set_seed(5);
    let mut model = Sequential::new()
        .add(Input::new([3]))
        .add(Dense::new(6).activation("tanh"))
        .add(BatchNormalization::new())
        .add(Dense::new(2));
    let x = Tensor::rand_normal(&[7, 3], 0.0, 1.0).unwrap();
    let before = model.predict(&x).unwrap();
    let dir = std::env::temp_dir().join(format!("kandle-rust-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.keras");
    model.save(&path).unwrap();
    let mut again = load_model(&path).unwrap();
    assert_eq!(again.predict(&x).unwrap().to_vec(), before.to_vec());
    assert_eq!(again.layers().len(), 3);
    assert!(model.save(dir.join("model.h5")).is_err());
    assert!(load_model(dir.join("missing.keras")).is_err());
    std::fs::write(dir.join("bad.keras"), b"not a zip").unwrap();
    assert!(load_model(dir.join("bad.keras")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `validation_data` replaces the split: with a zero learning rate and zero weights,
/// each epoch's `val_loss` is the mean square of the validation targets.
#[test]
fn validation_data_is_validated_on_each_epoch() {
    let (x, y) = line_data();
    let val_x = Tensor::from_vec(vec![1., 1., 2., 0., 0., 3.], &[3, 2]).unwrap();
    let val_y = Tensor::from_vec(vec![1., 2., 4.], &[3, 1]).unwrap();
    let mut model = Sequential::new()
        .add(Input::new([2]))
        .add(Dense::new(1).kernel_initializer("zeros"));
    model
        .compile(SGD::new().learning_rate(0.0), "mse", Vec::<&str>::new())
        .unwrap();
    let fit = |validation_data| FitOptions {
        epochs: 2,
        verbose: false,
        validation_data,
        ..Default::default()
    };
    let history = model
        .fit(&x, &y, fit(Some((val_x.clone(), val_y.clone()))))
        .unwrap();
    assert_eq!(history.get("val_loss"), [7.0, 7.0]); // (1 + 4 + 16) / 3
    assert_eq!(history.get("loss"), [249.75, 249.75]); // (25 + 529 + 4 + 441) / 4
    let short_y = Tensor::from_vec(vec![1., 2.], &[2, 1]).unwrap();
    let err = model.fit(&x, &y, fit(Some((val_x, short_y)))).unwrap_err();
    assert!(err.to_string().contains("validation_data"), "{err}");
}

/// `predict` runs batches of 32 between the predict hooks, as Keras's loop.
#[test]
fn predict_calls_the_predict_hooks_per_batch() {
    #[derive(Default)]
    struct Count {
        begins: usize,
        batches: Vec<usize>,
        ends: usize,
    }
    impl Callback for Count {
        fn on_predict_begin(&mut self, _: &mut Control) -> kandle::Result<()> {
            self.begins += 1;
            Ok(())
        }
        fn on_predict_batch_end(
            &mut self,
            b: usize,
            _: &Logs,
            _: &mut Control,
        ) -> kandle::Result<()> {
            self.batches.push(b);
            Ok(())
        }
        fn on_predict_end(&mut self, _: &mut Control) -> kandle::Result<()> {
            self.ends += 1;
            Ok(())
        }
        fn needs_every_batch(&self, mode: Mode) -> bool {
            mode == Mode::Predict
        }
    }
    let mut model = Sequential::new().add(Input::new([2])).add(Dense::new(1));
    model.build(&[2]).unwrap();
    let w = Tensor::from_vec(vec![2.0, -1.0], &[1, 2]).unwrap();
    let b = Tensor::from_vec(vec![0.5], &[1]).unwrap();
    model.set_weights(&[w, b]).unwrap();
    let rows = 70;
    let values: Vec<f32> = (0..2 * rows).map(|i| i as f32 / 10.0).collect();
    let x = Tensor::from_vec(values.clone(), &[rows, 2]).unwrap();
    let mut count = Count::default();
    let y = model.predict_with(&x, &mut [&mut count]).unwrap();
    assert_eq!((count.begins, count.ends), (1, 1));
    assert_eq!(count.batches, [0, 1, 2]);
    let expected: Vec<f32> = values.chunks(2).map(|r| 2.0 * r[0] - r[1] + 0.5).collect();
    assert_eq!(y.shape(), [rows, 1]);
    assert!(y
        .to_vec()
        .iter()
        .zip(&expected)
        .all(|(a, b)| (a - b).abs() < 1e-5));
}
