//! `berth stats`: CPU, memory, block I/O and PIDs of running containers, once
//! (`--no-stream`) or refreshed every `--interval` seconds.

use crate::container_cli::StatsArgs;
use crate::exit;
use crate::human;
use crate::output::print_list;
use berth_types::container::ContainerStats;
use berth_types::Engine;
use serde_json::{json, Value};

const HEADERS: &[(&str, &str)] = &[
    ("ID", "ID"),
    ("Name", "NAME"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET IO"),
    ("BlockIO", "BLOCK IO"),
    ("PIDs", "PIDS"),
    ("CPU", "CPU TIME"),
    ("AVGCPU", "AVG CPU %"),
];

fn item(s: &ContainerStats, no_trunc: bool) -> Value {
    let id = if no_trunc {
        s.container_id.clone()
    } else {
        s.container_id[..s.container_id.len().min(12)].to_string()
    };
    let cpu_time = std::time::Duration::from_nanos(s.cpu_nano);
    json!({
        "ID": id,
        "Name": s.name,
        "CPUPerc": format!("{:.2}%", s.avg_cpu),
        "MemUsage": format!("{} / {}", human::size(s.mem_usage), human::size(s.mem_limit)),
        "MemPerc": format!("{:.2}%", s.mem_perc),
        "NetIO": "0B / 0B",
        "BlockIO": format!("{} / {}", human::size(s.block_input), human::size(s.block_output)),
        "PIDs": s.pids,
        "CPU": format!("{:.6}s", cpu_time.as_secs_f64()),
        "AVGCPU": format!("{:.2}%", s.avg_cpu),
        "UpTime": format!("{:.3}s", s.up_time),
    })
}

pub fn run(engine: &dyn Engine, a: StatsArgs) -> anyhow::Result<i32> {
    let default = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}\t{{.CPU}}\t{{.AVGCPU}}";
    loop {
        let stats = engine.container_stats(&a.names).map_err(exit::engine)?;
        let items: Vec<Value> = stats.iter().map(|s| item(s, a.no_trunc)).collect();
        if !a.no_stream {
            print!("\x1b[2J\x1b[H");
        }
        print_list(
            a.format.as_deref(),
            default,
            HEADERS,
            &items,
            &|| Ok(serde_json::to_value(&stats)?),
            false,
        )?;
        if a.no_stream {
            return Ok(0);
        }
        std::thread::sleep(std::time::Duration::from_secs(a.interval.max(1)));
    }
}
