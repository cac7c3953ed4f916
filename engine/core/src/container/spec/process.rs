//! The spec's `process`: arguments (ENTRYPOINT/CMD rules of Podman's `makeCommand`),
//! environment (containers.conf defaults, image, `-e`, then HOME and HOSTNAME), working
//! directory, user, capabilities and rlimits (Podman's 1048576 defaults for nofile and
//! nproc, clamped to the caller's hard limits).

use super::{Capabilities, SpecError, SpecInput, INIT_PATH};
use berth_registry::manifest::ImageConfig;
use berth_types::container::ContainerCreateRequest;
use serde_json::{json, Map, Value};

/// containers.conf's default PATH.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Podman's default for RLIMIT_NOFILE and RLIMIT_NPROC (libpod/define RLimitDefaultValue).
pub const DEFAULT_RLIMIT: u64 = 1_048_576;
/// Podman's process umask (0022).
const UMASK: u32 = 0o022;

pub(super) fn process(
    input: &SpecInput,
    caps: &Capabilities,
) -> Result<Map<String, Value>, SpecError> {
    let req = input.req;
    let mut args = command(req, input.image)?;
    if req.init {
        args.splice(0..0, [INIT_PATH.to_string(), "--".to_string()]);
    }
    let mut user = Map::new();
    user.insert("uid".into(), json!(input.user.uid));
    user.insert("gid".into(), json!(input.user.gid));
    user.insert("umask".into(), json!(UMASK));
    if !input.user.additional_gids.is_empty() {
        user.insert("additionalGids".into(), json!(input.user.additional_gids));
    }
    let mut p = Map::new();
    p.insert("terminal".into(), json!(req.tty));
    p.insert("user".into(), Value::Object(user));
    p.insert("args".into(), json!(args));
    p.insert(
        "env".into(),
        json!(env(req, input.image, &input.hostname, &input.user.home)),
    );
    p.insert("cwd".into(), json!(cwd(req, input.image)?));
    p.insert("capabilities".into(), caps.to_json());
    p.insert(
        "rlimits".into(),
        Value::Array(rlimits(req, &input.host_rlimits)?),
    );
    Ok(p)
}

/// ENTRYPOINT + CMD: `--entrypoint` replaces the image's (an empty one clears it) and
/// then drops the image's CMD; arguments after the image replace CMD.
pub(super) fn command(
    req: &ContainerCreateRequest,
    image: &ImageConfig,
) -> Result<Vec<String>, SpecError> {
    let config = image.config.as_ref();
    let entrypoint = match &req.entrypoint {
        Some(ep) => ep.clone(),
        None => config
            .and_then(|c| c.entrypoint.clone())
            .unwrap_or_default(),
    };
    let mut out = Vec::new();
    if !(entrypoint.len() == 1 && entrypoint[0].is_empty()) {
        out.extend(entrypoint);
    }
    if !req.command.is_empty() {
        out.extend(req.command.iter().cloned());
    } else if req.entrypoint.is_none() {
        out.extend(config.and_then(|c| c.cmd.clone()).unwrap_or_default());
    }
    if out.is_empty() {
        return Err(SpecError::NoCommand);
    }
    Ok(out)
}

fn key(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

/// Sets `entry` (`KEY=VALUE`), replacing an earlier value of the same key in place.
fn set(env: &mut Vec<String>, entry: String) {
    match env.iter_mut().find(|e| key(e) == key(&entry)) {
        Some(slot) => *slot = entry,
        None => env.push(entry),
    }
}

/// containers.conf's PATH and TERM (set whether or not there is a TTY, as Podman
/// does) and `container=berth`, then the image's Env, then `-e`; HOME and HOSTNAME
/// are added when neither set them.
pub(super) fn env(
    req: &ContainerCreateRequest,
    image: &ImageConfig,
    hostname: &str,
    home: &str,
) -> Vec<String> {
    let mut env = Vec::new();
    set(&mut env, format!("PATH={DEFAULT_PATH}"));
    set(&mut env, "TERM=xterm".into());
    set(&mut env, "container=berth".into());
    let image_env = image.config.as_ref().and_then(|c| c.env.as_ref());
    for e in image_env.into_iter().flatten().chain(&req.env) {
        if !key(e).is_empty() {
            set(&mut env, e.clone());
        }
    }
    if !env.iter().any(|e| key(e) == "HOME") {
        env.push(format!("HOME={home}"));
    }
    if !env.iter().any(|e| key(e) == "HOSTNAME") {
        env.push(format!("HOSTNAME={hostname}"));
    }
    env
}

/// `--workdir`, else the image's WorkingDir, else `/`.
pub(super) fn cwd(req: &ContainerCreateRequest, image: &ImageConfig) -> Result<String, SpecError> {
    if let Some(w) = req.workdir.as_deref().filter(|w| !w.is_empty()) {
        if !w.starts_with('/') {
            return Err(SpecError::Workdir(w.to_string()));
        }
        return Ok(w.to_string());
    }
    let image_dir = image.config.as_ref().and_then(|c| c.working_dir.as_deref());
    Ok(match image_dir.filter(|w| !w.is_empty()) {
        Some(w) if w.starts_with('/') => w.to_string(),
        Some(w) => format!("/{w}"),
        None => "/".to_string(),
    })
}

/// `nofile` or `RLIMIT_NOFILE` → `RLIMIT_NOFILE`.
fn rlimit_type(name: &str) -> Result<String, SpecError> {
    let lower = name.to_ascii_lowercase();
    let short = lower.strip_prefix("rlimit_").unwrap_or(&lower);
    if !berth_types::container::RLIMIT_NAMES.contains(&short) {
        return Err(SpecError::UnknownUlimit(name.to_string()));
    }
    Ok(format!("RLIMIT_{}", short.to_ascii_uppercase()))
}

/// `--ulimit`s, then RLIMIT_NOFILE and RLIMIT_NPROC at Podman's default unless given,
/// clamped to the host's hard limit (a runtime asked for more fails every container).
pub(super) fn rlimits(
    req: &ContainerCreateRequest,
    host: &[(String, u64)],
) -> Result<Vec<Value>, SpecError> {
    let host_max = |t: &str| host.iter().find(|(n, _)| n == t).map(|(_, v)| *v);
    let mut out: Vec<(String, u64, u64)> = Vec::new();
    for u in &req.ulimits {
        let t = rlimit_type(&u.name)?;
        if u.soft > u.hard {
            return Err(SpecError::UlimitSoftAboveHard {
                name: u.name.clone(),
                soft: u.soft,
                hard: u.hard,
            });
        }
        if let Some(max) = host_max(&t).filter(|max| u.hard > *max) {
            return Err(SpecError::UlimitAboveHost {
                name: u.name.clone(),
                hard: u.hard,
                host_max: max,
            });
        }
        out.retain(|(existing, _, _)| *existing != t);
        out.push((t, u.hard, u.soft));
    }
    for t in ["RLIMIT_NOFILE", "RLIMIT_NPROC"] {
        if !out.iter().any(|(existing, _, _)| existing == t) {
            let v = host_max(t).map_or(DEFAULT_RLIMIT, |max| max.min(DEFAULT_RLIMIT));
            out.push((t.to_string(), v, v));
        }
    }
    Ok(out
        .into_iter()
        .map(|(t, hard, soft)| json!({"type": t, "hard": hard, "soft": soft}))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use berth_types::container::Ulimit;
    use std::path::PathBuf;

    fn req() -> ContainerCreateRequest {
        ContainerCreateRequest::default()
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn image_entrypoint_and_cmd_are_joined() {
        let img = image(Some(&["/entry.sh"]), Some(&["serve", "--port=80"]));
        assert_eq!(
            command(&req(), &img).expect("ok"),
            strs(&["/entry.sh", "serve", "--port=80"])
        );
    }

    #[test]
    fn command_arguments_replace_image_cmd_but_keep_entrypoint() {
        let img = image(Some(&["/entry.sh"]), Some(&["serve"]));
        let r = ContainerCreateRequest {
            command: strs(&["debug"]),
            ..req()
        };
        assert_eq!(
            command(&r, &img).expect("ok"),
            strs(&["/entry.sh", "debug"])
        );
    }

    #[test]
    fn entrypoint_override_drops_image_cmd() {
        let img = image(Some(&["/entry.sh"]), Some(&["/bin/sh"]));
        let r = ContainerCreateRequest {
            entrypoint: Some(strs(&["/bin/echo"])),
            ..req()
        };
        assert_eq!(command(&r, &img).expect("ok"), strs(&["/bin/echo"]));
        let r = ContainerCreateRequest {
            entrypoint: Some(strs(&["/bin/echo", "a"])),
            command: strs(&["b"]),
            ..req()
        };
        assert_eq!(
            command(&r, &img).expect("ok"),
            strs(&["/bin/echo", "a", "b"])
        );
    }

    #[test]
    fn empty_entrypoint_override_clears_it() {
        let img = image(Some(&["/entry.sh"]), Some(&["/bin/sh"]));
        for cleared in [vec![], strs(&[""])] {
            let r = ContainerCreateRequest {
                entrypoint: Some(cleared),
                command: strs(&["echo", "hi"]),
                ..req()
            };
            assert_eq!(command(&r, &img).expect("ok"), strs(&["echo", "hi"]));
        }
    }

    #[test]
    fn no_command_at_all_is_an_error() {
        let img = image(None, None);
        let err = command(&req(), &img).expect_err("empty");
        assert_eq!(
            err.to_string(),
            "no command or entrypoint provided, and no CMD or ENTRYPOINT from image"
        );
        let img = image(Some(&["/entry.sh"]), Some(&["/bin/sh"]));
        let r = ContainerCreateRequest {
            entrypoint: Some(vec![]),
            ..req()
        };
        assert!(matches!(command(&r, &img), Err(SpecError::NoCommand)));
    }

    #[test]
    fn init_runs_the_command_under_the_init_binary() {
        let r = ContainerCreateRequest {
            init: true,
            ..req()
        };
        let img = image(None, Some(&["/bin/sh"]));
        let mut inp = input(&r, &img);
        inp.init_binary = Some(PathBuf::from("/usr/bin/catatonit"));
        assert_eq!(
            spec_of(&inp)["process"]["args"],
            json!(["/run/berth-init", "--", "/bin/sh"])
        );
    }

    #[test]
    fn env_has_podman_defaults_image_env_home_and_hostname() {
        let img = image(None, Some(&["/bin/sh"]));
        assert_eq!(
            env(&req(), &img, "myhost", "/root"),
            strs(&[
                &format!("PATH={DEFAULT_PATH}"),
                "TERM=xterm",
                "container=berth",
                "FOO=bar",
                "HOME=/root",
                "HOSTNAME=myhost",
            ])
        );
    }

    #[test]
    fn request_env_overrides_image_env_and_defaults_by_key() {
        let img = image(None, Some(&["/bin/sh"]));
        let r = ContainerCreateRequest {
            env: strs(&[
                "FOO=override",
                "HOME=/x",
                "PATH=/bin",
                "HOSTNAME=h2",
                "NEW=1",
            ]),
            ..req()
        };
        assert_eq!(
            env(&r, &img, "myhost", "/root"),
            strs(&[
                "PATH=/bin",
                "TERM=xterm",
                "container=berth",
                "FOO=override",
                "HOME=/x",
                "HOSTNAME=h2",
                "NEW=1"
            ])
        );
    }

    #[test]
    fn cwd_is_workdir_then_image_working_dir_then_root() {
        let mut img = image(None, Some(&["/bin/sh"]));
        assert_eq!(cwd(&req(), &img).expect("ok"), "/");
        if let Some(c) = img.config.as_mut() {
            c.working_dir = Some("/app".into());
        }
        assert_eq!(cwd(&req(), &img).expect("ok"), "/app");
        let r = ContainerCreateRequest {
            workdir: Some("/tmp".into()),
            ..req()
        };
        assert_eq!(cwd(&r, &img).expect("ok"), "/tmp");
        let r = ContainerCreateRequest {
            workdir: Some("tmp".into()),
            ..req()
        };
        assert!(matches!(cwd(&r, &img), Err(SpecError::Workdir(w)) if w == "tmp"));
    }

    #[test]
    fn process_user_has_umask_and_additional_gids() {
        let img = image(None, Some(&["/bin/sh"]));
        let r = ContainerCreateRequest { tty: true, ..req() };
        let mut inp = input(&r, &img);
        inp.user = super::super::ResolvedUser {
            uid: 1000,
            gid: 1000,
            additional_gids: vec![1000, 50],
            home: "/home/alice".into(),
        };
        let spec = spec_of(&inp);
        assert_eq!(
            spec["process"]["user"],
            json!({"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [1000, 50]})
        );
        assert_eq!(spec["process"]["terminal"], true);
        assert_eq!(
            spec_of(&input(&req(), &img))["process"]["user"],
            json!({"uid": 0, "gid": 0, "umask": 18})
        );
    }

    #[test]
    fn nofile_rlimit_is_clamped_to_the_host_hard_limit() {
        let host = vec![
            ("RLIMIT_NOFILE".to_string(), 20000),
            ("RLIMIT_NPROC".to_string(), 96365),
        ];
        assert_eq!(
            rlimits(&req(), &host).expect("ok"),
            vec![
                json!({"type": "RLIMIT_NOFILE", "hard": 20000, "soft": 20000}),
                json!({"type": "RLIMIT_NPROC", "hard": 96365, "soft": 96365}),
            ]
        );
    }

    #[test]
    fn rlimits_default_to_podmans_value_when_the_host_allows_it() {
        let host = vec![("RLIMIT_NOFILE".to_string(), u64::MAX)];
        assert_eq!(
            rlimits(&req(), &host).expect("ok"),
            vec![
                json!({"type": "RLIMIT_NOFILE", "hard": 1048576, "soft": 1048576}),
                json!({"type": "RLIMIT_NPROC", "hard": 1048576, "soft": 1048576}),
            ]
        );
    }

    #[test]
    fn ulimit_overrides_the_default_and_adds_others() {
        let host = vec![("RLIMIT_NOFILE".to_string(), 20000)];
        let r = ContainerCreateRequest {
            ulimits: vec![
                Ulimit {
                    name: "nofile".into(),
                    soft: 1024,
                    hard: 2048,
                },
                Ulimit {
                    name: "core".into(),
                    soft: 0,
                    hard: 0,
                },
            ],
            ..req()
        };
        assert_eq!(
            rlimits(&r, &host).expect("ok"),
            vec![
                json!({"type": "RLIMIT_NOFILE", "hard": 2048, "soft": 1024}),
                json!({"type": "RLIMIT_CORE", "hard": 0, "soft": 0}),
                json!({"type": "RLIMIT_NPROC", "hard": 1048576, "soft": 1048576}),
            ]
        );
    }

    #[test]
    fn ulimit_above_the_host_hard_limit_is_an_error_naming_both() {
        let host = vec![("RLIMIT_NOFILE".to_string(), 20000)];
        let r = ContainerCreateRequest {
            ulimits: vec![Ulimit {
                name: "nofile".into(),
                soft: 30000,
                hard: 30000,
            }],
            ..req()
        };
        let err = rlimits(&r, &host).expect_err("too high");
        assert_eq!(
            err.to_string(),
            "ulimit nofile=30000 is above this host's hard limit 20000"
        );
    }

    #[test]
    fn unknown_or_inverted_ulimits_are_errors() {
        let r = ContainerCreateRequest {
            ulimits: vec![Ulimit {
                name: "bogus".into(),
                soft: 1,
                hard: 1,
            }],
            ..req()
        };
        assert!(matches!(rlimits(&r, &[]), Err(SpecError::UnknownUlimit(n)) if n == "bogus"));
        let r = ContainerCreateRequest {
            ulimits: vec![Ulimit {
                name: "nproc".into(),
                soft: 10,
                hard: 5,
            }],
            ..req()
        };
        assert!(matches!(
            rlimits(&r, &[]),
            Err(SpecError::UlimitSoftAboveHard { .. })
        ));
    }
}
