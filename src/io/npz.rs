//! NumPy's `.npy` (format versions 1.0 and 2.0) and `.npz` (a zip of `.npy` members):
//! little-endian, C-order float32 and int64 arrays only (int32 reads widen to int64:
//! Keras on JAX stores its optimizer's step count so). Everything else is refused with
//! an error that names the member, never guessed at; object arrays (pickles) above all.

use super::archive;
use crate::error::{fmt_shape, Error, Result};

/// The values of an array.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyData {
    /// A float32 array's values.
    F32(Vec<f32>),
    /// An int64 array's values (int32 files widen to these).
    I64(Vec<i64>),
}

/// One array of an `.npy` file: row-major values and their shape.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// The array's shape; empty for a scalar.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub data: NpyData,
}

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// NumPy pads the header so that the data starts at a multiple of this.
const ALIGN: usize = 64;
/// NumPy itself refuses headers longer than this (`max_header_size`).
const MAX_HEADER: usize = 10_000;

impl NpyArray {
    /// A float32 array of `shape` holding `values`.
    pub fn f32(shape: &[usize], values: Vec<f32>) -> NpyArray {
        NpyArray {
            shape: shape.to_vec(),
            data: NpyData::F32(values),
        }
    }

    /// An int64 array of `shape` holding `values`.
    pub fn i64(shape: &[usize], values: Vec<i64>) -> NpyArray {
        NpyArray {
            shape: shape.to_vec(),
            data: NpyData::I64(values),
        }
    }

    fn len(&self) -> usize {
        match &self.data {
            NpyData::F32(v) => v.len(),
            NpyData::I64(v) => v.len(),
        }
    }
}

/// `shape`'s element count and byte count at `item` bytes per element, or an error if
/// either overflows.
fn checked_sizes(what: &str, shape: &[usize], item: usize) -> Result<(usize, usize)> {
    let numel = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .and_then(|n| Some((n, n.checked_mul(item)?)));
    numel.ok_or_else(|| {
        Error::Allocation(format!(
            "{what}: the shape {} overflows the element count",
            fmt_shape(shape)
        ))
    })
}

/// The `.npy` bytes of `array` (version 1.0, or 2.0 for a header over 64 KiB).
pub fn write_npy(array: &NpyArray) -> Result<Vec<u8>> {
    let (numel, _) = checked_sizes("write_npy", &array.shape, 8)?;
    if numel != array.len() {
        return Err(Error::Shape(format!(
            "write_npy: {} values do not fill shape {} ({numel} elements)",
            array.len(),
            fmt_shape(&array.shape)
        )));
    }
    let descr = match array.data {
        NpyData::F32(_) => "<f4",
        NpyData::I64(_) => "<i8",
    };
    let shape = match array.shape.as_slice() {
        [d] => format!("({d},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let (version, prefix) = if header.len() + 11 <= u16::MAX as usize {
        (1u8, 10)
    } else {
        (2u8, 12)
    };
    let total = (prefix + header.len() + 1).div_ceil(ALIGN) * ALIGN;
    header.push_str(&" ".repeat(total - prefix - header.len() - 1));
    header.push('\n');
    let mut out = Vec::with_capacity(total + numel * 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    match &array.data {
        NpyData::F32(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        NpyData::I64(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
    }
    Ok(out)
}

/// A value of the header's Python literal.
#[derive(Debug, PartialEq)]
enum Literal {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

/// A parser of exactly the dict literal NumPy writes:
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
struct HeaderParser<'a> {
    rest: &'a str,
    what: &'a str,
}

impl<'a> HeaderParser<'a> {
    fn error(&self) -> Error {
        Error::Io(format!(
            "{}: malformed .npy header near {:?}",
            self.what,
            self.rest.chars().take(20).collect::<String>()
        ))
    }

    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t', '\n']);
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, token: &str) -> Result<()> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn string(&mut self) -> Result<String> {
        self.skip_space();
        let quote = match self.rest.chars().next() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(self.error()),
        };
        let body = &self.rest[1..];
        let end = body.find(quote).ok_or_else(|| self.error())?;
        let s = body[..end].to_string();
        self.rest = &body[end + 1..];
        Ok(s)
    }

    fn integer(&mut self) -> Result<usize> {
        self.skip_space();
        let end = self
            .rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.rest.len());
        let digits = &self.rest[..end];
        if digits.is_empty() {
            return Err(self.error());
        }
        let value = digits.parse::<usize>().map_err(|_| {
            Error::Allocation(format!(
                "{}: the .npy shape holds {digits:?}, not a size that fits in memory",
                self.what
            ))
        })?;
        self.rest = &self.rest[end..];
        Ok(value)
    }

    fn literal(&mut self) -> Result<Literal> {
        if self.eat("True") {
            return Ok(Literal::Bool(true));
        }
        if self.eat("False") {
            return Ok(Literal::Bool(false));
        }
        if self.eat("(") {
            let mut dims = Vec::new();
            loop {
                if self.eat(")") {
                    return Ok(Literal::Tuple(dims));
                }
                dims.push(self.integer()?);
                if !self.eat(",") {
                    self.expect(")")?;
                    return Ok(Literal::Tuple(dims));
                }
            }
        }
        Ok(Literal::Str(self.string()?))
    }

    fn dict(mut self) -> Result<Vec<(String, Literal)>> {
        self.expect("{")?;
        let mut items = Vec::new();
        loop {
            if self.eat("}") {
                break;
            }
            let key = self.string()?;
            self.expect(":")?;
            let value = self.literal()?;
            if items.iter().any(|(k, _)| *k == key) {
                return Err(self.error());
            }
            items.push((key, value));
            if !self.eat(",") {
                self.expect("}")?;
                break;
            }
        }
        if !self.rest.trim().is_empty() {
            return Err(self.error());
        }
        Ok(items)
    }
}

/// The array of the `.npy` bytes `bytes` (`what` names it in errors). The data must
/// fill the rest of the bytes exactly; nothing is allocated before that is checked.
pub fn read_npy(what: &str, bytes: &[u8]) -> Result<NpyArray> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(Error::Io(format!(
            "{what}: not a .npy array (bad magic bytes or truncated)"
        )));
    }
    let (header_len, start) = match (bytes[6], bytes[7]) {
        (1, 0) => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        (2, 0) if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        (major, minor) => {
            return Err(Error::Io(format!(
                "{what}: .npy format version {major}.{minor} is not supported \
                 (kandle reads versions 1.0 and 2.0)"
            )))
        }
    };
    if header_len > MAX_HEADER || start + header_len > bytes.len() {
        return Err(Error::Io(format!(
            "{what}: the .npy header length {header_len} runs past the end of the \
             {}-byte member (or past the {MAX_HEADER}-byte limit)",
            bytes.len()
        )));
    }
    let header = std::str::from_utf8(&bytes[start..start + header_len])
        .ok()
        .filter(|h| h.is_ascii())
        .ok_or_else(|| Error::Io(format!("{what}: the .npy header is not ASCII text")))?;
    let parser = HeaderParser { rest: header, what };
    let items = parser.dict()?;
    let get = |key: &str| items.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    if items.len() != 3 {
        return Err(Error::Io(format!(
            "{what}: the .npy header must have exactly the keys descr, fortran_order and \
             shape, got {header:?}"
        )));
    }
    let descr = match get("descr") {
        Some(Literal::Str(s)) => s.as_str(),
        _ => return Err(Error::Io(format!("{what}: the .npy header has no descr"))),
    };
    match get("fortran_order") {
        Some(Literal::Bool(false)) => {}
        Some(Literal::Bool(true)) => {
            return Err(Error::Io(format!(
                "{what}: Fortran-ordered .npy arrays are not supported; save C-ordered \
                 arrays"
            )))
        }
        _ => {
            return Err(Error::Io(format!(
                "{what}: the .npy header has no fortran_order"
            )))
        }
    }
    let shape = match get("shape") {
        Some(Literal::Tuple(dims)) => dims.clone(),
        _ => return Err(Error::Io(format!("{what}: the .npy header has no shape"))),
    };
    let item = match descr {
        "<f4" => 4,
        "<i8" | "<i4" => descr[2..].parse::<usize>().unwrap_or(8),
        other => {
            return Err(Error::DType(format!(
                "{what}: dtype {other:?} is not supported; kandle reads little-endian \
                 float32 ('<f4') weights and int64 ('<i8') or int32 ('<i4') counters"
            )))
        }
    };
    let (numel, nbytes) = checked_sizes(what, &shape, item)?;
    let data = &bytes[start + header_len..];
    if data.len() != nbytes {
        return Err(Error::Io(format!(
            "{what}: shape {} of {descr} needs {nbytes} bytes of data but the member holds \
             {}; the file is truncated or damaged",
            fmt_shape(&shape),
            data.len()
        )));
    }
    let data = match descr {
        "<f4" => NpyData::F32(
            data.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        "<i4" => NpyData::I64(
            data.chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                .collect(),
        ),
        _ => NpyData::I64(
            data.chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        ),
    };
    debug_assert_eq!(numel, shape.iter().product::<usize>());
    Ok(NpyArray { shape, data })
}

/// The `.npz` bytes of `arrays`: one member `<key>.npy` each, in order.
pub fn write_npz(arrays: &[(String, NpyArray)]) -> Result<Vec<u8>> {
    let members = arrays
        .iter()
        .map(|(key, a)| Ok((format!("{key}.npy"), write_npy(a)?)))
        .collect::<Result<Vec<_>>>()?;
    let refs: Vec<(&str, &[u8])> = members
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    archive::zip_bytes(&refs)
}

/// The arrays of the `.npz` bytes `bytes`, in archive order, keyed without `.npy`.
pub fn read_npz(what: &str, bytes: &[u8]) -> Result<Vec<(String, NpyArray)>> {
    archive::read_members(what, bytes)?
        .into_iter()
        .map(|(name, data)| {
            let key = name.strip_suffix(".npy").ok_or_else(|| {
                Error::Io(format!(
                    "{what}: the member {name:?} is not a .npy array; an .npz holds only \
                     .npy members"
                ))
            })?;
            let array = read_npy(&format!("{what}: {name}"), &data)?;
            Ok((key.to_string(), array))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_of(shape: &str, descr: &str) -> Vec<u8> {
        let header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out
    }

    #[test]
    fn arrays_round_trip() {
        let arrays = vec![
            (
                "w".to_string(),
                NpyArray::f32(&[2, 3], vec![1.0, -2.0, 3.5, 0.0, 1e-30, 7.0]),
            ),
            ("b".to_string(), NpyArray::f32(&[1], vec![4.0])),
            ("iteration".to_string(), NpyArray::i64(&[], vec![1 << 40])),
            ("empty".to_string(), NpyArray::f32(&[0, 5], vec![])),
        ];
        let bytes = write_npz(&arrays).unwrap();
        assert_eq!(read_npz("t", &bytes).unwrap(), arrays);
    }

    #[test]
    fn the_header_is_numpy_s() {
        let bytes = write_npy(&NpyArray::f32(&[3], vec![0.0; 3])).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + len) % ALIGN, 0);
        let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
        assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"));
        assert!(header.ends_with('\n'));
    }

    #[test]
    fn version_2_headers_are_read() {
        let mut bytes = write_npy(&NpyArray::f32(&[2], vec![1.0, 2.0])).unwrap();
        let len = u16::from_le_bytes([bytes[8], bytes[9]]) as u32;
        bytes[6] = 2;
        bytes.splice(8..10, len.to_le_bytes());
        assert_eq!(
            read_npy("t", &bytes).unwrap(),
            NpyArray::f32(&[2], vec![1.0, 2.0])
        );
    }

    #[test]
    fn a_huge_declared_shape_is_refused_before_allocating() {
        // A few bytes declaring 2^40 floats: a bomb, refused by the byte count.
        let bytes = header_of("(1099511627776,)", "<f4");
        let err = read_npy("t", &bytes).unwrap_err();
        assert!(
            matches!(err, Error::Io(ref m) if m.contains("truncated")),
            "{err}"
        );
    }

    #[test]
    fn an_overflowing_shape_is_an_allocation_error() {
        let bytes = header_of("(4294967296, 4294967296, 16)", "<f4");
        let err = read_npy("t", &bytes).unwrap_err();
        assert!(matches!(err, Error::Allocation(_)), "{err}");
        let bytes = header_of("(99999999999999999999999,)", "<f4");
        assert!(matches!(read_npy("t", &bytes), Err(Error::Allocation(_))));
    }

    #[test]
    fn other_dtypes_and_orders_are_refused() {
        for descr in ["<f8", ">f4", "|O", "<f2", "<u1"] {
            let err = read_npy("t", &header_of("(1,)", descr)).unwrap_err();
            assert!(
                matches!(err, Error::DType(ref m) if m.contains(descr)),
                "{descr}: {err}"
            );
        }
        let header = "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }\n";
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[1, 0, header.len() as u8, 0]);
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&[0; 4]);
        assert!(matches!(read_npy("t", &bytes), Err(Error::Io(ref m)) if m.contains("Fortran")));
    }

    #[test]
    fn bad_headers_are_refused() {
        let good = write_npy(&NpyArray::f32(&[1], vec![1.0])).unwrap();
        // A header length past the end of the data.
        let mut long = good.clone();
        long[8..10].copy_from_slice(&5000u16.to_le_bytes());
        assert!(
            matches!(read_npy("t", &long), Err(Error::Io(ref m)) if m.contains("past the end"))
        );
        // Not UTF-8 / not ASCII.
        let mut binary = good.clone();
        binary[12] = 0xff;
        assert!(matches!(read_npy("t", &binary), Err(Error::Io(ref m)) if m.contains("ASCII")));
        // Not the dict literal.
        for header in [
            "[1, 2]\n",
            "{'descr': '<f4'}\n",
            "{'descr': __import__('os')}\n",
        ] {
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&[1, 0, header.len() as u8, 0]);
            bytes.extend_from_slice(header.as_bytes());
            assert!(
                matches!(read_npy("t", &bytes), Err(Error::Io(_))),
                "{header}"
            );
        }
        // An unknown version, and a truncated file.
        let mut v3 = good.clone();
        v3[6] = 3;
        assert!(matches!(read_npy("t", &v3), Err(Error::Io(ref m)) if m.contains("version")));
        for cut in 0..good.len() {
            assert!(read_npy("t", &good[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn an_npz_member_that_is_not_npy_is_refused() {
        let bytes = archive::zip_bytes(&[("a.pkl", b"x")]).unwrap();
        assert!(matches!(read_npz("t", &bytes), Err(Error::Io(ref m)) if m.contains("a.pkl")));
    }
}
