//! Keras-style names derived from Rust names (kiln-core's, which `kiln import` uses too).

pub use kiln_core::naming::snake_case;
