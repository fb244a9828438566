//! The few HDF5 reads Keras's files need, over `hdf5-pure` (pure Rust, no C library). Kept
//! behind this module so the reader can be swapped: nothing else in kiln names the crate.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use hdf5_pure::{AttrValue, DType, File, FileBuilder, Group, GroupBuilder};
use std::collections::BTreeMap;

/// An HDF5 file held in memory.
pub struct H5(File);

/// A float dataset: its shape and its values (widened to `f64`, which holds `f32` exactly).
pub struct Floats {
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub data: Vec<f64>,
}

fn words(e: hdf5_pure::Error) -> String {
    e.to_string()
}

impl H5 {
    /// Parses `bytes` as HDF5.
    pub fn parse(bytes: Vec<u8>) -> Result<H5, String> {
        let len = bytes.len() as u64;
        let file = File::from_bytes(bytes).map_err(words)?;
        // The superblock records where the file ends: a shorter file lost its tail.
        let eof = file.superblock().eof_address;
        if eof > len {
            return Err(format!(
                "truncated: the file says it is {eof} bytes long, but it has {len}"
            ));
        }
        Ok(H5(file))
    }

    /// Group `path`; `/` is the root.
    fn group(&self, path: &str) -> Result<Group, String> {
        match path {
            "/" | "" => Ok(self.0.root()),
            _ => self.0.group(path).map_err(words),
        }
    }

    /// Whether `path` is a group.
    pub fn is_group(&self, path: &str) -> bool {
        self.group(path).is_ok()
    }

    /// The names of the groups in group `path`, sorted.
    pub fn groups(&self, path: &str) -> Result<Vec<String>, String> {
        let mut g = self.group(path)?.groups().map_err(words)?;
        g.sort();
        Ok(g)
    }

    /// The names of the datasets in group `path`.
    pub fn datasets(&self, path: &str) -> Result<Vec<String>, String> {
        self.group(path)?.datasets().map_err(words)
    }

    /// Attribute `name` of group `path` as strings: one string, or a list of them. Keras splits
    /// a list longer than HDF5's 64 KB attribute limit into `name0`, `name1`, …, which are
    /// joined here. `None` when the group has no such attribute.
    pub fn strings(&self, path: &str, name: &str) -> Result<Option<Vec<String>>, String> {
        let attrs = self.group(path)?.attrs().map_err(words)?;
        let list = |v: &AttrValue| -> Result<Vec<String>, String> {
            Ok(match v {
                AttrValue::String(s) | AttrValue::AsciiString(s) => vec![s.clone()],
                AttrValue::VarLenString(s) | AttrValue::VarLenAsciiString(s) => vec![s.clone()],
                AttrValue::StringArray(v)
                | AttrValue::AsciiStringArray(v)
                | AttrValue::VarLenStringArray(v)
                | AttrValue::VarLenAsciiStringArray(v) => v.clone(),
                // h5py writes an empty list as an empty float array.
                AttrValue::F64Array(v) if v.is_empty() => Vec::new(),
                other => {
                    return Err(format!(
                        "attribute `{name}` of `{path}` is {other:?}, not text"
                    ))
                }
            })
        };
        if let Some(v) = attrs.get(name) {
            return list(v).map(Some);
        }
        let mut joined = Vec::new();
        for k in 0.. {
            match attrs.get(&format!("{name}{k}")) {
                Some(v) => joined.extend(list(v)?),
                None if k == 0 => return Ok(None),
                None => break,
            }
        }
        Ok(Some(joined))
    }

    /// Dataset `path` as floats; `Err` names its type when it holds something else, and refuses
    /// one of more than `max` values before reading it (a few compressed bytes can claim
    /// gigabytes).
    pub fn floats(&self, path: &str, max: usize) -> Result<Floats, String> {
        let ds = self.0.dataset(path).map_err(words)?;
        match ds.dtype().map_err(words)? {
            DType::F32 | DType::F64 => {}
            other => return Err(format!("holds {other:?} values, not floats")),
        }
        let shape = ds
            .shape()
            .map_err(words)?
            .into_iter()
            .map(|d| usize::try_from(d).map_err(|_| format!("has an axis of {d}")))
            .collect::<Result<Vec<_>, _>>()?;
        let want = shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .filter(|&n| n <= max)
            .ok_or_else(|| format!("has shape {shape:?}, more values than this model can take"))?;
        let data = ds.read_f64().map_err(words)?;
        if data.len() != want {
            return Err(format!(
                "holds {} values for a shape of {want} ({shape:?})",
                data.len()
            ));
        }
        Ok(Floats { shape, data })
    }
}

/// A group to write: its `name` attribute (as Keras 3 sets on every `vars` group), its float32
/// datasets and its subgroups.
#[derive(Default)]
pub struct Tree {
    /// The group's `name` attribute.
    pub name: Option<String>,
    /// Its datasets: name, shape, values.
    pub datasets: Vec<(String, Vec<usize>, Vec<f32>)>,
    /// Its subgroups, by name.
    pub groups: BTreeMap<String, Tree>,
}

impl Tree {
    /// The group at `path` (`layers/dense/vars`) below this one, made if absent.
    pub fn at(&mut self, path: &str) -> &mut Tree {
        path.split('/')
            .filter(|p| !p.is_empty())
            .fold(self, |t, part| {
                t.groups.entry(part.to_string()).or_default()
            })
    }

    fn build(&self, g: &mut GroupBuilder) {
        if let Some(n) = &self.name {
            g.set_attr("name", AttrValue::VarLenString(n.clone()));
        }
        for (name, shape, data) in &self.datasets {
            let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
            g.create_dataset(name)
                .with_f32_data(data)
                .with_shape(&shape);
        }
        for (name, sub) in &self.groups {
            let mut b = g.create_group(name);
            sub.build(&mut b);
            g.add_group(b.finish());
        }
    }
}

/// The bytes of an HDF5 file holding `root`.
pub fn write(root: &Tree) -> Result<Vec<u8>, String> {
    let mut f = FileBuilder::new();
    if let Some(n) = &root.name {
        f.set_attr("name", AttrValue::VarLenString(n.clone()));
    }
    for (name, shape, data) in &root.datasets {
        let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        f.create_dataset(name)
            .with_f32_data(data)
            .with_shape(&shape);
    }
    for (name, sub) in &root.groups {
        let mut b = f.create_group(name);
        sub.build(&mut b);
        f.add_group(b.finish());
    }
    f.finish().map_err(words)
}
