//! Images: naming and local lookup, pulling, the views front ends print (list,
//! inspect, history), removal and garbage collection, push, and archives.

pub mod archive;
pub mod build;
pub mod gc;
pub mod login;
pub mod names;
pub mod pull;
pub mod push;
pub mod remove;
pub mod search;
pub mod view;
