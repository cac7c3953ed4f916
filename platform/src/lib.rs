//! Host side of Berth machines: the VM providers (QEMU, Apple HV, WSL2, Hyper-V),
//! machine configuration and state, and forwarding to the guest agent.
//! Nothing is implemented yet; the crate is the place it will live.
