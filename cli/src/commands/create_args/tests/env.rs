//! Environment, labels and annotations, with their files and the host.

use super::*;

#[test]
fn env_precedence_host_file_flag() {
    let host = FakeHost::new().file(
        "/cfg/app.env",
        "# settings\n  LANG=from-file\r\nLEVEL=debug\n\nTOKEN\nEMPTY=\n",
    );
    let (req, _) = convert_with(
        &host,
        &[
            "run",
            "--env-host",
            "--env-file",
            "/cfg/app.env",
            "-e",
            "LEVEL=info",
            "-e",
            "NEW=1",
            "busybox",
        ],
    )
    .expect("valid");
    assert_eq!(
        req.env,
        [
            "HOME=/home/me",
            "LANG=from-file",
            "TOKEN=from-host",
            "LEVEL=info",
            "EMPTY=",
            "NEW=1"
        ]
    );
}

#[test]
fn env_without_value_takes_the_host_value_or_is_dropped() {
    assert_eq!(
        request("run -e TOKEN -e UNSET -e X=a=b busybox").env,
        ["TOKEN=from-host", "X=a=b"]
    );
    assert_eq!(request("run -e HO* busybox").env, ["HOME=/home/me"]);
    assert!(error("run -e =x busybox").contains(r#"invalid variable: "=x""#));
    let missing = error("run --env-file /nope.env busybox");
    assert_eq!(missing, "cannot read --env-file /nope.env");
}

#[test]
fn labels_come_from_files_then_flags() {
    let host = FakeHost::new().file("/l", "a=file\nb=file\nbare\n");
    let (req, _) = convert_with(
        &host,
        &[
            "run",
            "--label-file",
            "/l",
            "-l",
            "b=flag",
            "-l",
            "c",
            "busybox",
        ],
    )
    .expect("valid");
    assert_eq!(
        req.labels,
        BTreeMap::from([
            ("a".to_string(), "file".to_string()),
            ("b".to_string(), "flag".to_string()),
            ("c".to_string(), String::new()),
        ])
    );
    let req = request("run --annotation a=1,b=2 busybox");
    assert_eq!(req.annotations.len(), 2);
    assert!(
        error("run --annotation nokey busybox").contains("annotations must be formatted KEY=VALUE")
    );
}
