//! `berth update`: changes a container's resource limits (`--memory`,
//! `--memory-swap`, `--cpus`, `--cpu-shares`, `--cpuset-cpus`, `--pids-limit`), at
//! once if it runs and for its next runs; prints its ID, as Podman does.

use crate::commands::create_args::resources::is_cpu_list;
use crate::commands::create_args::units::ram_in_bytes;
use crate::exit;
use berth_types::container::Resources;
use berth_types::Engine;
use clap::Args;

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// Memory limit (format: <number>[<unit>], where unit = b, k, m or g)
    #[arg(short, long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "SIZE", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Number of CPUs
    #[arg(long, value_name = "CPUS", allow_negative_numbers = true)]
    pub cpus: Option<f64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "SHARES")]
    pub cpu_shares: Option<u64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "CPUS")]
    pub cpuset_cpus: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", value_name = "N", allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
    /// The container
    pub container: String,
}

fn size(flag: &str, v: &str) -> anyhow::Result<i64> {
    ram_in_bytes(v).ok_or_else(|| {
        exit::with_code(
            exit::ENGINE,
            format!("invalid argument {v:?} for {flag}: expected a size such as 512m or 1g"),
        )
    })
}

/// The limits the flags change (`None`: unchanged).
fn changes(a: &UpdateArgs) -> anyhow::Result<Resources> {
    if let Some(c) = a.cpus.filter(|c| !c.is_finite() || *c < 0.0) {
        anyhow::bail!("invalid argument \"{c}\" for --cpus: must be a positive number");
    }
    if let Some(set) = a.cpuset_cpus.as_deref().filter(|s| !is_cpu_list(s)) {
        anyhow::bail!("invalid argument {set:?} for --cpuset-cpus: expected a list of CPUs such as 0-3 or 0,1");
    }
    Ok(Resources {
        memory: a
            .memory
            .as_deref()
            .map(|m| size("--memory", m))
            .transpose()?,
        memory_swap: match a.memory_swap.as_deref() {
            Some("-1") => Some(-1),
            Some(s) => Some(size("--memory-swap", s)?),
            None => None,
        },
        cpus: a.cpus,
        cpu_shares: a.cpu_shares,
        cpuset_cpus: a.cpuset_cpus.clone(),
        pids_limit: a.pids_limit,
    })
}

pub fn run(engine: &dyn Engine, a: UpdateArgs) -> anyhow::Result<i32> {
    let resources = changes(&a)?;
    if resources == Resources::default() {
        anyhow::bail!("no limit to change: give --memory, --cpus, --pids-limit or another");
    }
    let id = engine
        .update_container(&a.container, &resources)
        .map_err(exit::engine)?;
    println!("{id}");
    Ok(0)
}
