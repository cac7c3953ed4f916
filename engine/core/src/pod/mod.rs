//! Pods: containers that share namespaces held open by an infra container running
//! Berth's pause process. Rows live in the `pods` table; members name their pod.

pub mod ops;
pub mod pause_image;
pub mod store;
pub mod view;
