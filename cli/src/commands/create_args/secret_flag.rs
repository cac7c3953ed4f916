//! `--secret NAME[,type=mount|env][,target=T][,uid=N][,gid=N][,mode=OCTAL]`, as Podman
//! reads it: a file at /run/secrets/NAME (mode 0444, root's) unless `type=env`, which
//! sets the variable NAME (or `target`).

use super::{invalid, ArgError};
use berth_types::secret::SecretUse;

const FLAG: &str = "--secret";

pub fn secrets(values: &[String]) -> Result<Vec<SecretUse>, ArgError> {
    values.iter().map(|v| secret(v)).collect()
}

fn secret(value: &str) -> Result<SecretUse, ArgError> {
    let mut parts = value.split(',');
    let name = parts.next().unwrap_or_default();
    if name.is_empty() || name.contains('=') {
        return Err(invalid(FLAG, value, "the secret's name comes first"));
    }
    let mut s = SecretUse {
        name: name.to_string(),
        env: false,
        target: String::new(),
        uid: 0,
        gid: 0,
        mode: 0o444,
    };
    let (mut uid_set, mut mode_set) = (false, false);
    for part in parts {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| invalid(FLAG, value, format!("option {part:?} needs a value")))?;
        let number = |radix: u32| {
            u32::from_str_radix(v, radix)
                .map_err(|_| invalid(FLAG, value, format!("{k}={v} is not a number")))
        };
        match k {
            "type" => match v {
                "mount" => s.env = false,
                "env" => s.env = true,
                _ => return Err(invalid(FLAG, value, "type must be mount or env")),
            },
            "target" => s.target = v.to_string(),
            "uid" => {
                s.uid = number(10)?;
                uid_set = true;
            }
            "gid" => {
                s.gid = number(10)?;
                uid_set = true;
            }
            "mode" => {
                s.mode = number(8)?;
                mode_set = true;
            }
            _ => return Err(invalid(FLAG, value, format!("unknown option {k:?}"))),
        }
    }
    if s.env && (uid_set || mode_set) {
        return Err(invalid(FLAG, value, "uid, gid and mode are for type=mount"));
    }
    if s.target.is_empty() {
        s.target = s.name.clone();
    }
    if !s.env && s.target.split('/').any(|c| c == "..") {
        return Err(invalid(FLAG, value, "the target must not contain '..'"));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_read_as_podman_writes_them() {
        let s = secret("db").expect("plain");
        assert_eq!(
            (s.env, s.target.as_str(), s.mode, s.uid),
            (false, "db", 0o444, 0)
        );
        let s = secret("db,type=env,target=DB_PASS").expect("env");
        assert!(s.env);
        assert_eq!(s.target, "DB_PASS");
        let s = secret("db,target=/etc/db.conf,uid=1000,gid=100,mode=0400").expect("mount");
        assert_eq!((s.uid, s.gid, s.mode), (1000, 100, 0o400));
        assert_eq!(s.target, "/etc/db.conf");
        for bad in [
            "",
            "type=env",
            "db,type=file",
            "db,mode=9",
            "db,uid",
            "db,type=env,uid=1",
            "db,target=../x",
            "db,what=1",
        ] {
            assert!(secret(bad).is_err(), "{bad}");
        }
    }
}
