//! `-v`, `--mount`, `--tmpfs` and their conflicts.

use super::*;

#[test]
fn anonymous_named_and_bind_volumes_are_told_apart() {
    let req = request(
        "run -v /data -v cache:/cache:ro -v /srv/www:/www:ro,z -v ./conf:/etc/app:rw busybox",
    );
    assert_eq!(
        req.mounts,
        [
            MountSpec {
                kind: MountKind::Volume,
                source: None,
                destination: "/data".into(),
                options: vec![]
            },
            MountSpec {
                kind: MountKind::Volume,
                source: Some("cache".into()),
                destination: "/cache".into(),
                options: strings(&["ro"]),
            },
            MountSpec {
                kind: MountKind::Bind,
                source: Some("/srv/www".into()),
                destination: "/www".into(),
                options: strings(&["ro", "z"]),
            },
            MountSpec {
                kind: MountKind::Bind,
                source: Some("/work/project/conf".into()),
                destination: "/etc/app".into(),
                options: strings(&["rw"]),
            },
        ]
    );
}

#[test]
fn volume_mistakes_are_named() {
    assert!(error("run -v data busybox")
        .contains(r#"invalid container path "data", must be an absolute path"#));
    assert!(error("run -v my/dir:/x busybox").contains(r#"volume name "my/dir" is invalid"#));
    assert!(error("run -v /a:/b:ro,bogus busybox").contains(r#"invalid option type "bogus""#));
    assert!(error("run -v /a:/b:ro,rw busybox").contains("can only specify 1 'rw' or 'ro' option"));
    assert!(error("run -v /a:/b:c:d busybox").contains("incorrect volume format"));
    assert!(error("run -v :/b busybox").contains("host directory cannot be empty"));
}

#[test]
fn mount_flag_forms() {
    let req = request(
        "run --mount type=bind,src=/etc/hosts,dst=/h,ro --mount type=volume,source=v1,target=/v,relabel=private \
         --mount type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1777 --mount type=bind,target=/opt,readonly=false,U busybox",
    );
    assert_eq!(
        req.mounts,
        [
            MountSpec {
                kind: MountKind::Bind,
                source: Some("/etc/hosts".into()),
                destination: "/h".into(),
                options: strings(&["ro"])
            },
            MountSpec {
                kind: MountKind::Volume,
                source: Some("v1".into()),
                destination: "/v".into(),
                options: strings(&["Z"])
            },
            MountSpec {
                kind: MountKind::Tmpfs,
                source: None,
                destination: "/t".into(),
                options: strings(&["size=64m", "mode=1777"])
            },
            MountSpec {
                kind: MountKind::Bind,
                source: Some("/opt".into()),
                destination: "/opt".into(),
                options: strings(&["U"])
            },
        ]
    );
    let opts = |m: &str| {
        request(&format!("run --mount {m} busybox")).mounts[0]
            .options
            .clone()
    };
    assert_eq!(
        opts("type=bind,src=/a,dst=/b,rw=false,chown=false,relabel=shared"),
        ["ro", "z"]
    );
    assert_eq!(
        opts("type=bind,src=/a,dst=/b,bind-propagation=rslave,nosuid"),
        ["rslave", "nosuid"]
    );
    assert!(error("run --mount type=bind,src=/a,dst=/b,ro,rw busybox").contains("more than once"));
    assert!(
        error("run --mount type=bind,src=/a,dst=/b,bind-propagation=up busybox")
            .contains("invalid value")
    );
    assert!(error("run --mount type=volume,src=a,src=b,dst=/b busybox")
        .contains("cannot pass source more than once"));
    assert!(error("run --mount type=bind,src=/a busybox").contains("must set volume destination"));
    assert!(error("run --mount src=/a,dst=/b busybox").contains("incorrect mount format"));
    assert!(
        error("run --mount type=bind,src=/a,dst=rel busybox").contains("must be an absolute path")
    );
    assert!(
        error("run --mount type=tmpfs,src=/a,dst=/b busybox").contains("not supported for tmpfs")
    );
    assert!(
        error("run --mount type=bind,src=/a,dst=/b,tmpfs-size=1m busybox")
            .contains("not supported for bind")
    );
    assert!(
        error("run --mount type=volume,dst=/b,frob busybox").contains(r#"unknown option "frob""#)
    );
    assert!(
        error("run --mount type=nfs,dst=/b busybox").contains(r#"invalid filesystem type "nfs""#)
    );
}

#[test]
fn duplicate_mount_destination_is_an_error() {
    assert_eq!(
        error("run -v /a:/x -v /b:/x busybox"),
        "duplicate mount destination /x"
    );
    assert_eq!(
        error("run -v /a:/x --tmpfs /x/ busybox"),
        "duplicate mount destination /x"
    );
    assert_eq!(
        error("run -v v1:/x --mount type=volume,src=v2,dst=/x busybox"),
        "duplicate mount destination /x"
    );
    // The very same mount twice is dropped, as Podman does.
    assert_eq!(request("run -v /a:/x -v /a:/x busybox").mounts.len(), 1);
}

#[test]
fn tmpfs_takes_kernel_options() {
    let req = request("run --tmpfs /run:rw,size=64m,mode=1777 --tmpfs /tmp busybox");
    assert_eq!(req.mounts[0].options, ["rw", "size=64m", "mode=1777"]);
    assert_eq!(
        req.mounts[1],
        MountSpec {
            kind: MountKind::Tmpfs,
            source: None,
            destination: "/tmp".into(),
            options: vec![]
        }
    );
}
