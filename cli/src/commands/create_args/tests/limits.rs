//! Resource limits, ulimits and sysctls.

use super::*;

#[test]
fn memory_accepts_podman_units_and_rejects_garbage() {
    let memory = |v: &str| request(&format!("run -m {v} busybox")).resources.memory;
    assert_eq!(memory("512m"), Some(512 * 1024 * 1024));
    assert_eq!(memory("1g"), Some(1 << 30));
    assert_eq!(memory("1G"), Some(1 << 30));
    assert_eq!(memory("1.5g"), Some(1_610_612_736));
    assert_eq!(memory("1024"), Some(1024));
    assert_eq!(memory("64k"), Some(65536));
    assert_eq!(
        error("run --memory 12x busybox"),
        r#"invalid argument "12x" for "-m, --memory" flag: invalid size: '12x'"#
    );
}

#[test]
fn memory_swap_and_cpu_limits() {
    let r = request(
        "run -m 1g --memory-swap -1 --cpus 1.5 -c 512 --cpuset-cpus 0-1 --pids-limit -1 busybox",
    )
    .resources;
    assert_eq!(
        r,
        Resources {
            memory: Some(1 << 30),
            memory_swap: Some(-1),
            cpus: Some(1.5),
            cpu_shares: Some(512),
            cpuset_cpus: Some("0-1".into()),
            pids_limit: Some(-1),
        }
    );
    assert_eq!(
        request("run -m 1g --memory-swap 2g busybox")
            .resources
            .memory_swap,
        Some(2 << 30)
    );
    assert!(error("run -m 1g --memory-swap 512m busybox").contains("larger than memory limit"));
    assert!(error("run --memory-swap 1g busybox").contains("--memory-swap needs --memory"));
    assert_eq!(
        request("run --shm-size 64m busybox").shm_size,
        Some(64 << 20)
    );
}

#[test]
fn ulimits_and_sysctls() {
    let req = request("run --ulimit nofile=1024:2048 --ulimit nproc=512 --sysctl net.core.somaxconn=1024 --network none busybox");
    assert_eq!(
        req.ulimits,
        [
            Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 2048
            },
            Ulimit {
                name: "nproc".into(),
                soft: 512,
                hard: 512
            },
        ]
    );
    assert_eq!(req.sysctls["net.core.somaxconn"], "1024");
    assert!(
        error("run --network host --sysctl net.core.somaxconn=1 busybox")
            .contains("--network host")
    );
}
