//! Shape arithmetic: element counts that cannot overflow, strides, axes and broadcasting.

use crate::bail;
use crate::error::{fmt_shape, Result};

/// The number of elements of `shape`, or an allocation error if it, or its size in
/// bytes for an element of `elem_size` bytes, does not fit in memory's address space.
pub fn checked_numel(shape: &[usize], elem_size: usize) -> Result<usize> {
    let numel = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    match numel {
        Some(n)
            if n.checked_mul(elem_size)
                .is_some_and(|b| b <= isize::MAX as usize) =>
        {
            Ok(n)
        }
        _ => bail!(
            Allocation,
            "a tensor of shape {} is too large to allocate ({} bytes per element)",
            fmt_shape(shape),
            elem_size
        ),
    }
}

/// Row-major strides, in elements.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Resolves a possibly negative `axis` of a rank-`rank` tensor.
pub fn normalize_axis(axis: isize, rank: usize, op: &str) -> Result<usize> {
    let r = rank as isize;
    if axis < -r || axis >= r {
        bail!(
            OutOfBounds,
            "{op}: axis {axis} is out of bounds for a tensor of rank {rank} (expected -{rank} <= axis < {rank})"
        );
    }
    Ok(if axis < 0 {
        (axis + r) as usize
    } else {
        axis as usize
    })
}

/// Resolves a list of axes (None = all), sorted and without duplicates.
pub fn normalize_axes(axes: Option<&[isize]>, rank: usize, op: &str) -> Result<Vec<usize>> {
    let Some(axes) = axes else {
        return Ok((0..rank).collect());
    };
    let mut out = axes
        .iter()
        .map(|&a| normalize_axis(a, rank, op))
        .collect::<Result<Vec<_>>>()?;
    out.sort_unstable();
    if out.windows(2).any(|w| w[0] == w[1]) {
        bail!(InvalidArgument, "{op}: repeated axis in {axes:?}");
    }
    Ok(out)
}

/// NumPy's broadcasting of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize], op: &str) -> Result<Vec<usize>> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| {
        if i + s.len() < rank {
            1
        } else {
            s[i + s.len() - rank]
        }
    };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            _ => bail!(
                Shape,
                "{op}: operands could not be broadcast together with shapes {} and {}",
                fmt_shape(a),
                fmt_shape(b)
            ),
        })
        .collect()
}

/// Strides that read a tensor of `shape` as if it had the (broadcast) shape `target`:
/// stride 0 along broadcast axes.
pub fn broadcast_strides(shape: &[usize], target: &[usize]) -> Vec<isize> {
    let own = strides(shape);
    let lead = target.len() - shape.len();
    (0..target.len())
        .map(|i| {
            if i < lead || shape[i - lead] == 1 {
                0
            } else {
                own[i - lead] as isize
            }
        })
        .collect()
}

/// Fills in one `-1` of a requested shape from the element count.
pub fn infer_shape(numel: usize, from: &[usize], requested: &[isize]) -> Result<Vec<usize>> {
    let unknown: Vec<usize> = (0..requested.len())
        .filter(|&i| requested[i] == -1)
        .collect();
    if unknown.len() > 1 || requested.iter().any(|&d| d < -1) {
        bail!(
            InvalidArgument,
            "reshape: can only specify one unknown dimension (-1) and no other negative sizes, got {}",
            fmt_shape(requested)
        );
    }
    let known: usize = requested
        .iter()
        .filter(|&&d| d >= 0)
        .map(|&d| d as usize)
        .product();
    let mut shape: Vec<usize> = requested.iter().map(|&d| d.max(0) as usize).collect();
    if let [i] = unknown[..] {
        if known == 0 || numel % known != 0 {
            bail!(
                Shape,
                "reshape: cannot reshape a tensor of shape {} ({numel} elements) into shape {}",
                fmt_shape(from),
                fmt_shape(requested)
            );
        }
        shape[i] = numel / known;
    }
    if shape.iter().product::<usize>() != numel {
        bail!(
            Shape,
            "reshape: cannot reshape a tensor of shape {} ({numel} elements) into shape {}",
            fmt_shape(from),
            fmt_shape(&shape)
        );
    }
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shapes(&[3, 1], &[1, 4], "t").unwrap(), vec![3, 4]);
        assert_eq!(
            broadcast_shapes(&[2, 3, 4], &[4], "t").unwrap(),
            vec![2, 3, 4]
        );
        assert_eq!(broadcast_shapes(&[], &[5], "t").unwrap(), vec![5]);
        let e = broadcast_shapes(&[2, 3], &[4], "add").unwrap_err();
        assert!(e.to_string().contains("(2, 3)") && e.to_string().contains("(4,)"));
    }

    #[test]
    fn numel_overflow_is_an_error() {
        assert!(checked_numel(&[1 << 40, 1 << 40], 4).is_err());
        assert!(checked_numel(&[1 << 62], 4).is_err());
        assert_eq!(checked_numel(&[2, 3], 4).unwrap(), 6);
    }

    #[test]
    fn axes_and_inference() {
        assert_eq!(normalize_axis(-1, 3, "t").unwrap(), 2);
        assert!(normalize_axis(3, 3, "t").is_err());
        assert!(normalize_axis(-4, 3, "t").is_err());
        assert_eq!(infer_shape(20, &[20], &[2, -1]).unwrap(), vec![2, 10]);
        assert!(infer_shape(6, &[6], &[4]).is_err());
    }
}
