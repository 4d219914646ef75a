//! The engine side of functional models: `kandle._core.graph_layer` makes one
//! `kandle._core.Layer` of a graph of layer calls ([`crate::nn::Graph`]), which the
//! Trainer runs as it runs any layer.

use super::layers::PyLayer;
use crate::nn::{Graph, GraphNode};
use pyo3::prelude::*;
use std::sync::Arc;

/// The layer that runs `nodes` (`(layer index, input tensor indices)`, in topological
/// order; tensors number the inputs first, then each node's output) over `layers`, from
/// `num_inputs` inputs to the tensors `outputs`. `packed_input_shapes` gives each
/// input's per-sample shape when several inputs arrive packed in one array.
#[pyfunction]
fn graph_layer(
    layers: Vec<PyRef<'_, PyLayer>>,
    nodes: Vec<(usize, Vec<usize>)>,
    num_inputs: usize,
    outputs: Vec<usize>,
    packed_input_shapes: Vec<Vec<usize>>,
) -> PyResult<PyLayer> {
    let graph = Graph::new(
        layers.iter().map(|l| l.inner.clone()).collect(),
        nodes
            .into_iter()
            .map(|(layer, inputs)| GraphNode { layer, inputs })
            .collect(),
        num_inputs,
        outputs,
        packed_input_shapes,
    )?;
    Ok(PyLayer {
        inner: Arc::new(graph),
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(graph_layer, m)?)
}
