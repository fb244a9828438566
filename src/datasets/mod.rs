//! Datasets and the preprocessing a Keras user writes around them (needs the `std` feature).
//!
//! | Keras | kiln |
//! | --- | --- |
//! | `(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()` | `let ((x_train, y_train), (x_test, y_test)) = mnist::load_data()?;` |
//! | `x = x_train.astype("float32") / 255` then `x[..., None]` | `let x = images_to_f32(&x_train);` (`Vec<[[[f32; 1]; 28]; 28]>`) |
//! | `x_train.reshape(-1, 784).astype("float32") / 255` | `let x: Vec<[f32; 784]> = images_to_flat_f32(&x_train);` |
//! | `keras.utils.to_categorical(y_train, 10)` | `let y = to_categorical::<10>(&y_train)?;` (`Vec<[f32; 10]>`) |
//! | `fit(..., batch_size=128, shuffle=True)` | `for idx in BatchOrder::shuffled(n, seed).batches(128) { .. }` |
//!
//! ```no_run
//! use kiln::datasets::{images_to_f32, mnist, to_categorical, BatchOrder};
//!
//! let ((x_train, y_train), _test) = mnist::load_data()?;
//! let x = images_to_f32(&x_train); // [60000, 28, 28, 1] in [0, 1]
//! let y = to_categorical::<10>(&y_train)?; // [60000, 10]
//! for epoch in 0..3 {
//!     for batch in BatchOrder::shuffled(x.len(), 42 + epoch).batches(128) {
//!         for &i in batch {
//!             let (_sample, _target) = (&x[i], &y[i]);
//!         }
//!     }
//! }
//! # Ok::<(), kiln::Error>(())
//! ```
//!
//! Where datasets are found, in order: `$KILN_DATA_DIR/<name>`, `~/.kiln/datasets/<name>`,
//! Keras's cache `~/.keras/datasets`, then a download checked against published SHA-256 hashes
//! into `~/.kiln/datasets/<name>` (see [`mnist::load`]). Within this repository, cargo sets
//! `KILN_DATA_DIR` to `../shared/data` (`.cargo/config.toml`).

mod batches;
mod categorical;
mod download;
pub mod idx;
mod images;
mod locations;
pub mod mnist;
mod npz;
#[cfg(test)]
mod test_server;

pub use batches::{batches, gather_into, BatchOrder};
pub use categorical::to_categorical;
pub use download::DatasetFile;
pub use images::{image_to_f32, image_to_flat_f32, images_to_f32, images_to_flat_f32};
pub use locations::DATA_DIR_VAR;
