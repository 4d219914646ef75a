//! A functional model's graph (Keras's `Functional`): layers called on the outputs of
//! other layers, run in topological order as one [`Layer`].
//!
//! Tensors are numbered: the model's inputs first (`0..num_inputs`), then each node's
//! output in node order. A node names its layer (one layer may have several nodes: a
//! shared layer) and the tensors it takes.

use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::nn::Layer;
use crate::tensor::Tensor;
use std::ops::Range;
use std::sync::Arc;

/// One call of a layer in the graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphNode {
    /// The index of the layer in the graph's layers.
    pub layer: usize,
    /// The tensors it takes (graph inputs first, then node outputs), in call order.
    pub inputs: Vec<usize>,
}

/// A graph of layer calls with several inputs and outputs.
pub struct Graph {
    layers: Vec<Arc<dyn Layer>>,
    nodes: Vec<GraphNode>,
    num_inputs: usize,
    outputs: Vec<usize>,
    /// Each input's shape without the batch axis, when several inputs come packed side
    /// by side in one `(batch, total)` array (see [`Graph::unpack`]).
    packed_input_shapes: Vec<Vec<usize>>,
}

impl Graph {
    /// A graph of `nodes` (in topological order) over `layers`, from `num_inputs`
    /// inputs to the tensors `outputs`. `packed_input_shapes` gives the per-sample shape
    /// of each input when they arrive packed in one array (empty otherwise).
    pub fn new(
        layers: Vec<Arc<dyn Layer>>,
        nodes: Vec<GraphNode>,
        num_inputs: usize,
        outputs: Vec<usize>,
        packed_input_shapes: Vec<Vec<usize>>,
    ) -> Result<Self> {
        if num_inputs == 0 || outputs.is_empty() {
            bail!(
                InvalidArgument,
                "Graph: expected at least one input and one output, got {num_inputs} inputs and {} outputs",
                outputs.len()
            );
        }
        for (i, node) in nodes.iter().enumerate() {
            if node.layer >= layers.len() {
                bail!(
                    InvalidArgument,
                    "Graph: node {i} names layer {}, but there are {} layers",
                    node.layer,
                    layers.len()
                );
            }
            // Topological order: a node takes only inputs and earlier nodes' outputs.
            if node.inputs.is_empty() || node.inputs.iter().any(|&t| t >= num_inputs + i) {
                bail!(
                    InvalidArgument,
                    "Graph: node {i} takes tensors {:?}; expected tensors made before it (below {})",
                    node.inputs,
                    num_inputs + i
                );
            }
        }
        let count = num_inputs + nodes.len();
        if let Some(&bad) = outputs.iter().find(|&&t| t >= count) {
            bail!(
                InvalidArgument,
                "Graph: output tensor {bad} does not exist (the graph has {count} tensors)"
            );
        }
        if !packed_input_shapes.is_empty() && packed_input_shapes.len() != num_inputs {
            bail!(
                InvalidArgument,
                "Graph: expected the shapes of all {num_inputs} packed inputs, got {}",
                packed_input_shapes.len()
            );
        }
        Ok(Graph {
            layers,
            nodes,
            num_inputs,
            outputs,
            packed_input_shapes,
        })
    }

    /// The number of outputs.
    pub fn num_outputs(&self) -> usize {
        self.outputs.len()
    }

    /// Runs the graph on its inputs; returns its outputs in order.
    pub fn run(&self, inputs: &[Tensor], training: bool) -> Result<Vec<Tensor>> {
        if inputs.len() != self.num_inputs {
            bail!(
                InvalidArgument,
                "the model expects {} inputs, got {}",
                self.num_inputs,
                inputs.len()
            );
        }
        let mut tensors: Vec<Tensor> = inputs.to_vec();
        tensors.reserve(self.nodes.len());
        for node in &self.nodes {
            let args: Vec<Tensor> = node.inputs.iter().map(|&t| tensors[t].clone()).collect();
            let out = self.layers[node.layer].forward_many(&args, training)?;
            tensors.push(out);
        }
        Ok(self.outputs.iter().map(|&t| tensors[t].clone()).collect())
    }

    /// The inputs of one packed array `(batch, total)`: each input's columns, reshaped
    /// to `(batch, *shape)`. One input comes as it is.
    pub fn unpack(&self, x: &Tensor) -> Result<Vec<Tensor>> {
        if self.packed_input_shapes.is_empty() {
            return Ok(vec![x.clone()]);
        }
        let sizes: Vec<usize> = self
            .packed_input_shapes
            .iter()
            .map(|s| s.iter().product())
            .collect();
        let total: usize = sizes.iter().sum();
        let batch = x.shape().first().copied().unwrap_or(0);
        if x.rank() != 2 || x.shape()[1] != total {
            bail!(
                Shape,
                "the model's {} inputs arrive packed as ({batch}, {total}), got shape {}",
                self.num_inputs,
                fmt_shape(x.shape())
            );
        }
        split_columns(x, &self.packed_input_shapes)
    }
}

/// The columns of a `(batch, total)` array cut into blocks of `shapes` (per-sample
/// shapes, which together hold `total` values), as `(batch, *shape)` tensors; integer
/// data keeps its exact integers.
pub fn split_columns(x: &Tensor, shapes: &[Vec<usize>]) -> Result<Vec<Tensor>> {
    let batch = x.shape()[0];
    let total = x.shape()[1];
    let mut start = 0;
    shapes
        .iter()
        .map(|shape| {
            let width: usize = shape.iter().product();
            let columns = start..start + width;
            start += width;
            let mut full = vec![batch];
            full.extend(shape);
            match x.integers() {
                Some(exact) => Tensor::from_integers(cut(exact, batch, total, columns), &full),
                None => Tensor::from_vec(cut(&x.data(), batch, total, columns), &full),
            }
        })
        .collect()
}

/// The `columns` of each of the `batch` rows of `total` values in `data`.
fn cut<E: Copy>(data: &[E], batch: usize, total: usize, columns: Range<usize>) -> Vec<E> {
    let mut part = Vec::with_capacity(batch * columns.len());
    for row in data.chunks_exact(total.max(1)).take(batch) {
        part.extend_from_slice(&row[columns.clone()]);
    }
    part
}

/// Tensors with a common batch axis packed side by side into one `(batch, total)`
/// array (the inverse of [`split_columns`]); no gradient flows through it.
pub fn pack_columns(parts: &[Tensor]) -> Result<Tensor> {
    let batch = parts
        .first()
        .map_or(0, |p| p.shape().first().copied().unwrap_or(1));
    let widths: Vec<usize> = parts.iter().map(|p| p.numel() / batch.max(1)).collect();
    let total: usize = widths.iter().sum();
    let mut out = vec![0.0f32; batch * total];
    let mut start = 0;
    for (part, &width) in parts.iter().zip(&widths) {
        let data = part.data();
        for (row, src) in out
            .chunks_exact_mut(total.max(1))
            .zip(data.chunks_exact(width.max(1)))
        {
            row[start..start + width].copy_from_slice(src);
        }
        start += width;
    }
    Tensor::from_vec(out, &[batch, total])
}

impl Layer for Graph {
    /// The model's output for one input (or several packed side by side); a model of
    /// several outputs gives them packed the same way.
    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        let mut outputs = self.run(&self.unpack(x)?, training)?;
        match outputs.len() {
            1 => Ok(outputs.remove(0)),
            _ => pack_columns(&outputs),
        }
    }

    fn forward_many(&self, inputs: &[Tensor], training: bool) -> Result<Tensor> {
        let mut outputs = self.run(inputs, training)?;
        if outputs.len() != 1 {
            bail!(
                InvalidArgument,
                "a model with {} outputs cannot be used as a layer of one output",
                outputs.len()
            );
        }
        Ok(outputs.remove(0))
    }

    fn forward_outputs(&self, x: &Tensor, training: bool) -> Result<Vec<Tensor>> {
        self.run(&self.unpack(x)?, training)
    }

    fn begin_batch(&self) -> Result<()> {
        self.layers.iter().try_for_each(|layer| layer.begin_batch())
    }

    fn regularization(&self) -> Result<Option<Tensor>> {
        let mut total: Option<Tensor> = None;
        // A shared layer counts once, as its weights do.
        let mut seen: Vec<*const ()> = Vec::new();
        for layer in &self.layers {
            let id = Arc::as_ptr(layer) as *const ();
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            if let Some(penalty) = layer.regularization()? {
                total = Some(match total {
                    Some(t) => t.add(&penalty)?,
                    None => penalty,
                });
            }
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layer_from_config;
    use serde_json::json;

    fn layer(class: &str, config: serde_json::Value, weights: &[Tensor]) -> Arc<dyn Layer> {
        Arc::from(layer_from_config(class, &config, weights).unwrap())
    }

    /// A residual block with a shared Dense: out = d(x) + d(d(x)).
    #[test]
    fn runs_shared_layers_and_merges() {
        let kernel = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])
            .unwrap()
            .to_variable();
        let bias = Tensor::zeros(&[2]).unwrap().to_variable();
        let dense = layer("Dense", json!({"units": 2}), &[kernel, bias]);
        let add = layer("Add", json!({}), &[]);
        let nodes = vec![
            GraphNode {
                layer: 0,
                inputs: vec![0],
            },
            GraphNode {
                layer: 0,
                inputs: vec![1],
            },
            GraphNode {
                layer: 1,
                inputs: vec![1, 2],
            },
        ];
        let graph = Graph::new(vec![dense, add], nodes, 1, vec![3], vec![]).unwrap();
        let x = Tensor::from_vec(vec![1.0, 0.0], &[1, 2]).unwrap();
        // d(x) = W x with W = [[1, 2], [3, 4]] (candle layout): (1, 3); d(d(x)) = (7, 15).
        assert_eq!(graph.forward(&x, false).unwrap().to_vec(), vec![8.0, 18.0]);
    }

    #[test]
    fn packed_inputs_and_outputs() {
        let concat = layer("Concatenate", json!({"axis": -1}), &[]);
        let nodes = vec![GraphNode {
            layer: 0,
            inputs: vec![1, 0],
        }];
        let graph = Graph::new(vec![concat], nodes, 2, vec![2, 0], vec![vec![1], vec![2]]).unwrap();
        let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
        let outputs = graph.forward_outputs(&x, false).unwrap();
        assert_eq!(outputs[0].to_vec(), vec![2.0, 3.0, 1.0, 5.0, 6.0, 4.0]);
        assert_eq!(outputs[1].shape(), &[2, 1]);
        let packed = graph.forward(&x, false).unwrap();
        assert_eq!(packed.shape(), &[2, 4]);
        assert_eq!(
            packed.to_vec(),
            vec![2.0, 3.0, 1.0, 1.0, 5.0, 6.0, 4.0, 4.0]
        );
        assert!(graph
            .forward(&Tensor::zeros(&[2, 4]).unwrap(), false)
            .is_err());
    }

    #[test]
    fn bad_graphs_are_errors() {
        let id = layer("Identity", json!({}), &[]);
        let node = |inputs: Vec<usize>| GraphNode { layer: 0, inputs };
        assert!(Graph::new(vec![id.clone()], vec![node(vec![1])], 1, vec![1], vec![]).is_err());
        assert!(Graph::new(vec![id.clone()], vec![node(vec![0])], 1, vec![2], vec![]).is_err());
        assert!(Graph::new(vec![id.clone()], vec![node(vec![0])], 0, vec![0], vec![]).is_err());
        let g = Graph::new(vec![id], vec![node(vec![0])], 1, vec![1], vec![]).unwrap();
        let x = Tensor::zeros(&[1, 2]).unwrap();
        assert!(g.forward_many(&[x.clone(), x], false).is_err());
    }
}
