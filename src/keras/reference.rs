//! Keras's own outputs for some inputs, to check an imported model against: a safetensors file
//! with float32 tensors `x` (the inputs, `[n, …]`) and `y` (Keras's outputs for them), made in
//! Python with
//!
//! ```python
//! from safetensors.numpy import save_file
//! x = ...                                   # a few inputs, float32, [n, *input_shape]
//! save_file({"x": x, "y": model.predict(x)}, "keras_io.safetensors")
//! ```
//!
//! For several inputs or outputs, `x` and `y` hold each sample's values one after the other,
//! flattened, in the order of the model's inputs and outputs: `np.concatenate([a.reshape(n, -1),
//! b.reshape(n, -1)], axis=1)`. `kiln import FILE --test keras_io.safetensors` writes a test
//! that runs [`Reference::check`].

use crate::core::bytemuck;
use crate::{Error, Model};
use std::path::Path;

/// Inputs and Keras's outputs for them.
pub struct Reference {
    /// The inputs' shape, samples first.
    pub x_shape: Vec<usize>,
    /// The inputs, row-major.
    pub x: Vec<f32>,
    /// The outputs' shape, samples first.
    pub y_shape: Vec<usize>,
    /// Keras's outputs, row-major.
    pub y: Vec<f32>,
}

impl Reference {
    /// Reads `x` and `y` from a safetensors file.
    ///
    /// # Errors
    /// [`Error::Io`], or [`Error::Corrupt`] naming what is missing or not float32.
    pub fn read(path: impl AsRef<Path>) -> Result<Reference, Error> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let corrupt = |reason: String| Error::Corrupt {
            path: shown.clone(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: shown.clone(),
            source,
        })?;
        kiln_core::weights::check_header(&bytes).map_err(corrupt)?;
        let file =
            safetensors::SafeTensors::deserialize(&bytes).map_err(|e| corrupt(e.to_string()))?;
        let get = |name: &str| -> Result<(Vec<usize>, Vec<f32>), Error> {
            let t = file
                .tensor(name)
                .map_err(|_| corrupt(format!("no tensor `{name}` (see kiln::keras::Reference)")))?;
            if t.dtype() != safetensors::Dtype::F32 {
                return Err(corrupt(format!("`{name}` is {}, not F32", t.dtype())));
            }
            let data = t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            Ok((t.shape().to_vec(), data))
        };
        let ((x_shape, x), (y_shape, y)) = (get("x")?, get("y")?);
        if x_shape.first() != y_shape.first() || x_shape.is_empty() {
            return Err(corrupt(format!(
                "`x` {x_shape:?} and `y` {y_shape:?} must hold the same number of samples"
            )));
        }
        Ok(Reference {
            x_shape,
            x,
            y_shape,
            y,
        })
    }

    /// Runs every input through `model` and compares each output element with Keras's:
    /// `|kiln − keras| <= atol + 1e-4 · |keras|`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the inputs or outputs are not the model's;
    /// [`Error::InvalidArgument`] listing the first elements out of tolerance.
    pub fn check<M: Model<Scalar = f32>>(&self, model: &M, atol: f32) -> Result<(), Error> {
        let n = self.x_shape[0];
        let (n_in, n_out) = (self.x.len() / n.max(1), self.y.len() / n.max(1));
        let per_sample = |t: &[usize]| t[1..].iter().product::<usize>();
        let wants = [
            (
                "x",
                n_in,
                size_of::<M::Input>() / 4,
                per_sample(&self.x_shape),
            ),
            (
                "y",
                n_out,
                size_of::<M::Output>() / 4,
                per_sample(&self.y_shape),
            ),
        ];
        for (name, got, want, _) in wants {
            if got != want {
                return Err(Error::ShapeMismatch {
                    path: "kiln::keras::Reference".into(),
                    name: name.into(),
                    expected: vec![n, want],
                    found: vec![n, got],
                });
            }
        }
        let mut bad = Vec::new();
        for s in 0..n {
            let input: M::Input =
                bytemuck::pod_read_unaligned(bytemuck::cast_slice(&self.x[s * n_in..][..n_in]));
            let out = model.forward(&input);
            let got: &[f32] = bytemuck::cast_slice(core::slice::from_ref(&out));
            for (i, (g, w)) in got.iter().zip(&self.y[s * n_out..][..n_out]).enumerate() {
                // NaN on either side is a mismatch too.
                let close = (g - w).abs() <= atol + 1e-4 * w.abs();
                if !close {
                    bad.push(format!("sample {s}, output {i}: kiln {g}, keras {w}"));
                }
            }
        }
        if bad.is_empty() {
            return Ok(());
        }
        Err(Error::InvalidArgument(format!(
            "{} of {} outputs differ from Keras's by more than {atol:e}: {}",
            bad.len(),
            self.y.len(),
            bad.iter().take(5).cloned().collect::<Vec<_>>().join("; ")
        )))
    }
}
