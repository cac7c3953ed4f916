//! Containers: the create request turned into what the OCI runtime runs (runtime
//! spec, user, seccomp filter), the root filesystem and bundle, the per-container
//! monitor, the runtime driver, and the lifecycle operations on top of them.

pub mod attach;
pub mod cgroup;
pub mod changes;
pub mod copy;
pub mod exec;
pub mod exec_pty;
pub mod exit;
pub mod exit_codes;
pub mod health;
pub mod idmap;
pub mod logfile;
pub mod logs;
pub mod monitor;
pub mod names;
pub mod ops;
pub mod paths;
pub mod prepare;
pub mod reconcile;
pub mod rootfs;
pub mod runtime;
pub mod seccomp;
pub mod seccomp_bpf;
pub mod spec;
pub mod stats;
pub mod store;
pub mod top;
pub mod user;
pub mod view;
