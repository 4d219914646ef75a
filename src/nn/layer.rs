//! The [`Layer`] trait: what a model's training loop asks of each layer.

use crate::error::Result;
use crate::tensor::Tensor;

/// A layer of a model: a function of its input and its weights.
///
/// A layer is built by the registry ([`crate::nn::LayerClass`]) from its Keras class
/// name, its Keras config and its weights; its weights are variables that it shares with
/// the model, so the optimizer's updates reach it.
pub trait Layer: Send + Sync {
    /// Applies the layer; `training` switches dropout and batch statistics.
    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor>;

    /// Applies the layer to several inputs (a merge layer such as `Add`, or a
    /// functional model with several inputs). A layer of one input takes exactly one.
    fn forward_many(&self, inputs: &[Tensor], training: bool) -> Result<Tensor> {
        match inputs {
            [x] => self.forward(x, training),
            _ => crate::bail!(
                InvalidArgument,
                "this layer takes a single input, got a list of {} inputs",
                inputs.len()
            ),
        }
    }

    /// All outputs of a layer that has several (a functional model); one for the others.
    fn forward_outputs(&self, x: &Tensor, training: bool) -> Result<Vec<Tensor>> {
        Ok(vec![self.forward(x, training)?])
    }

    /// The penalty this layer adds to the loss (its regularizers, and a Python layer's
    /// `add_loss` losses of the current batch), if any.
    fn regularization(&self) -> Result<Option<Tensor>> {
        Ok(None)
    }

    /// Called before each batch goes through the model: a Python layer forgets the
    /// `add_loss` losses of the last one (a layer called twice in a batch keeps both).
    fn begin_batch(&self) -> Result<()> {
        Ok(())
    }
}

/// A weight a new layer starts with: Keras's name for it (`kernel`, `gamma`, ...), its
/// first value (in candle's layout) and whether the optimizer trains it.
pub struct NewWeight {
    /// Keras's name of the weight within its layer.
    pub name: &'static str,
    /// The initial value.
    pub value: Tensor,
    /// False for statistics a layer updates itself (BatchNormalization's moving mean).
    pub trainable: bool,
}

impl NewWeight {
    /// A trainable weight.
    pub fn trainable(name: &'static str, value: Tensor) -> Self {
        NewWeight {
            name,
            value,
            trainable: true,
        }
    }

    /// A weight the optimizer leaves alone.
    pub fn frozen(name: &'static str, value: Tensor) -> Self {
        NewWeight {
            name,
            value,
            trainable: false,
        }
    }
}
