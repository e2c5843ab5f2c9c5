//! Weights on disk: plain safetensors, f32, PyTorch state_dict names.
//!
//! `model.safetensors` holds `layers.{i}.weight` [out, in] and
//! `layers.{i}.bias` [out]. In PyTorch, an `nn.Sequential` of Linear/ReLU
//! pairs names the same tensors `{2i}.weight`, so loading is a rename:
//! `{f"{2*int(k.split('.')[1])}.{k.split('.')[2]}": v for k, v in sd.items()}`.
//! A checkpoint adds the same tensors under `best.` (the best epoch so far)
//! and Adam's moments under `optimizer.m.` and `optimizer.v.`.

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};

use super::net::Mlp;
use crate::artifact::write_atomic;
use crate::error::{Error, IoContext, Result};

/// Named f32 tensors to write: name -> (shape, values).
pub type Tensors = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// The network's tensors under `prefix` (e.g. "" or "best.").
pub fn tensors_of(mlp: &Mlp, flat: &[f32], prefix: &str, into: &mut Tensors) {
    for (name, shape, range) in mlp.named_ranges() {
        let values = flat.get(range).map(<[f32]>::to_vec).unwrap_or_default();
        into.insert(format!("{prefix}{name}"), (shape, values));
    }
}

/// Write tensors as one safetensors file, atomically.
/// `metadata` is at most one key: safetensors stores it as a hash map, and
/// one key keeps the file byte-identical run to run.
pub fn save(path: &Path, tensors: &Tensors, metadata: Option<(&str, &str)>) -> Result<()> {
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(name, (shape, values))| {
            let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            (name.clone(), raw, shape.clone())
        })
        .collect();
    let mut views = Vec::with_capacity(bytes.len());
    for (name, raw, shape) in &bytes {
        let view = TensorView::new(Dtype::F32, shape.clone(), raw)
            .map_err(|e| Error::failure(format!("{}: tensor {name}: {e}", path.display())))?;
        views.push((name.clone(), view));
    }
    let meta = metadata.map(|(k, v)| std::iter::once((k.to_string(), v.to_string())).collect());
    let out = safetensors::serialize(views, meta)
        .map_err(|e| Error::failure(format!("{}: {e}", path.display())))?;
    write_atomic(path, &out)
}

/// Read every tensor of a safetensors file (f32 only), with its metadata.
pub fn load(path: &Path) -> Result<(Tensors, BTreeMap<String, String>)> {
    let bytes = std::fs::read(path).at(path)?;
    let bad = |found: String| {
        Error::bad_input(
            path.display(),
            None,
            "a safetensors file of f32 tensors",
            found,
        )
    };
    let (_, header) =
        safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| bad(e.to_string()))?;
    let metadata = header
        .metadata()
        .clone()
        .map(|m| m.into_iter().collect())
        .unwrap_or_default();
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
    let mut tensors = Tensors::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!("tensor {name} of type {:?}", view.dtype())));
        }
        let values = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        tensors.insert(name, (view.shape().to_vec(), values));
    }
    Ok((tensors, metadata))
}

/// Fill a flat vector shaped like `mlp` from the tensors under `prefix`,
/// checking every name and shape.
pub fn flat_from(mlp: &Mlp, tensors: &Tensors, prefix: &str, source: &Path) -> Result<Vec<f32>> {
    let mut flat = vec![0.0f32; mlp.params.len()];
    for (name, shape, range) in mlp.named_ranges() {
        let key = format!("{prefix}{name}");
        let (found_shape, values) = tensors.get(&key).ok_or_else(|| {
            Error::bad_input(
                source.display(),
                Some(key.clone()),
                "this tensor",
                "nothing",
            )
        })?;
        if *found_shape != shape || values.len() != range.len() {
            return Err(Error::bad_input(
                source.display(),
                Some(key),
                format!("shape {shape:?}"),
                format!("shape {found_shape:?}"),
            ));
        }
        flat[range].copy_from_slice(values);
    }
    Ok(flat)
}
