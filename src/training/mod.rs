//! Training the Keras way: `compile`, `fit`, `evaluate`, callbacks, history.

pub mod callbacks;
mod heads;
mod history;
mod label;
mod logs;
mod options;
mod pool;
mod progress;
mod step;
mod tracker;
mod trainer;

pub use heads::{Losses, Metrics};
pub use history::History;
pub use label::{Label, Part};
pub use logs::Logs;
pub use options::FitOptions;
pub use trainer::{Compile, Trainer};
