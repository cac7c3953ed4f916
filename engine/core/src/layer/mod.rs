//! Layers: reading layer tars, unpacking them safely, recording their structure, and
//! the store that stages, verifies and commits them.

pub mod shifted;
pub mod staging;
pub mod store;
pub mod tar_reader;
pub mod tarsplit;
pub mod unpack;

#[cfg(test)]
mod tests;
