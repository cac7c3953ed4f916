//! The YAML `kube generate` writes, and that `kube play` reads it back the same.

use super::*;
use crate::kube::plan::{plan, PlanOptions};
use berth_types::container::{Resources, RestartPolicy};
use serde::Deserialize;

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn mount(kind: MountKind, source: Option<&str>, destination: &str, options: &[&str]) -> MountSpec {
    MountSpec {
        kind,
        source: source.map(str::to_string),
        destination: destination.into(),
        options: strs(options),
    }
}

fn sample() -> GenPod {
    let web = ContainerCreateRequest {
        image: "docker.io/library/nginx:1.25".into(),
        entrypoint: Some(strs(&["/docker-entrypoint.sh"])),
        command: strs(&["nginx", "-g", "daemon off;"]),
        env: strs(&["MODE=prod", "EMPTY", "EQ=a=b"]),
        workdir: Some("/srv".into()),
        user: Some("1000:100".into()),
        cap_add: strs(&["CAP_NET_ADMIN"]),
        cap_drop: strs(&["ALL"]),
        read_only: true,
        interactive: true,
        tty: true,
        resources: Resources {
            memory: Some(134_217_728),
            cpus: Some(1.5),
            ..Default::default()
        },
        restart: RestartPolicy {
            name: "on-failure".into(),
            max_retries: 0,
        },
        mounts: vec![
            mount(MountKind::Bind, Some("/srv/data"), "/data", &["ro"]),
            mount(MountKind::Volume, Some("cache"), "/cache", &[]),
            mount(MountKind::Volume, None, "/anon", &[]),
            mount(MountKind::Tmpfs, None, "/run/tmp", &[]),
        ],
        ..Default::default()
    };
    let sidecar = ContainerCreateRequest {
        image: "busybox".into(),
        command: strs(&["sleep", "inf"]),
        user: Some("nobody".into()),
        restart: web.restart.clone(),
        mounts: vec![mount(MountKind::Volume, Some("cache"), "/c", &["ro"])],
        ..Default::default()
    };
    let init = ContainerCreateRequest {
        image: "busybox".into(),
        command: strs(&["true"]),
        init_container: Some("always".into()),
        ..Default::default()
    };
    GenPod {
        name: "shop".into(),
        labels: [("tier".to_string(), "front".to_string())].into(),
        hostname: Some("shop1".into()),
        host_network: false,
        ports: vec![
            PortMapping {
                host_ip: String::new(),
                container_port: 80,
                host_port: 8080,
                protocol: "tcp".into(),
                range: 2,
            },
            PortMapping {
                host_ip: "127.0.0.1".into(),
                container_port: 53,
                host_port: 5353,
                protocol: "udp".into(),
                range: 1,
            },
        ],
        containers: vec![
            GenContainer {
                name: "shop-setup".into(),
                image: "busybox".into(),
                req: init,
                init: true,
            },
            GenContainer {
                name: "shop-web".into(),
                image: "docker.io/library/nginx:1.25".into(),
                req: web,
                init: false,
            },
            GenContainer {
                name: "sidecar".into(),
                image: "busybox".into(),
                req: sidecar,
                init: false,
            },
        ],
    }
}

#[test]
fn pod_document_has_podmans_shape() {
    let text = pod_yaml(&sample(), false).expect("generates");
    let pod: serde_yaml::Value = serde_yaml::from_str(&text).expect("YAML");
    assert_eq!(pod["apiVersion"], "v1");
    assert_eq!(pod["kind"], "Pod");
    assert_eq!(pod["metadata"]["name"], "shop");
    assert_eq!(pod["metadata"]["labels"]["app"], "shop");
    assert_eq!(pod["metadata"]["labels"]["tier"], "front");
    assert!(pod["metadata"].get("annotations").is_none());
    let spec = &pod["spec"];
    assert_eq!(spec["hostname"], "shop1");
    assert!(spec.get("hostNetwork").is_none());
    assert_eq!(spec["restartPolicy"], "OnFailure");
    assert_eq!(spec["initContainers"][0]["name"], "setup");
    let web = &spec["containers"][0];
    assert_eq!(web["name"], "web");
    assert_eq!(web["command"][0], "/docker-entrypoint.sh");
    assert_eq!(web["args"][2], "daemon off;");
    assert_eq!(web["workingDir"], "/srv");
    assert_eq!(web["env"][1]["name"], "EMPTY");
    assert_eq!(web["env"][1]["value"], "");
    assert_eq!(web["env"][2]["value"], "a=b");
    assert_eq!(web["stdin"], true);
    assert_eq!(web["resources"]["limits"]["memory"], "134217728");
    assert_eq!(web["resources"]["limits"]["cpu"], "1500m");
    let sc = &web["securityContext"];
    assert_eq!(sc["runAsUser"], 1000);
    assert_eq!(sc["runAsGroup"], 100);
    assert_eq!(sc["capabilities"]["add"][0], "NET_ADMIN");
    assert_eq!(sc["capabilities"]["drop"][0], "ALL");
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert!(sc.get("privileged").is_none());
    let ports = web["ports"].as_sequence().expect("ports");
    assert_eq!(ports.len(), 3, "the range of two is expanded");
    assert_eq!(ports[1]["containerPort"], 81);
    assert_eq!(ports[1]["hostPort"], 8081);
    assert_eq!(ports[1]["protocol"], "TCP");
    assert!(ports[0].get("hostIP").is_none());
    assert_eq!(ports[2]["hostIP"], "127.0.0.1");
    assert_eq!(ports[2]["protocol"], "UDP");

    let sidecar = &spec["containers"][1];
    assert_eq!(sidecar["name"], "sidecar");
    assert!(
        sidecar.get("ports").is_none(),
        "ports go on the first container only"
    );
    assert!(
        sidecar.get("securityContext").is_none(),
        "a named user has no Kubernetes form"
    );
    assert_eq!(sidecar["volumeMounts"][0]["name"], "cache-pvc");
    assert_eq!(sidecar["volumeMounts"][0]["readOnly"], true);

    let mounts = web["volumeMounts"].as_sequence().expect("mounts");
    assert_eq!(mounts.len(), 3, "the anonymous volume is left out");
    let volumes = spec["volumes"].as_sequence().expect("volumes");
    assert_eq!(volumes.len(), 3, "cache is declared once");
    assert_eq!(volumes[0]["name"], "srv-data-host-0");
    assert_eq!(volumes[0]["hostPath"]["path"], "/srv/data");
    assert!(volumes[0]["hostPath"].get("type").is_none());
    assert_eq!(volumes[1]["name"], "cache-pvc");
    assert_eq!(volumes[1]["persistentVolumeClaim"]["claimName"], "cache");
    assert_eq!(volumes[2]["name"], "run-tmp-tmpfs");
    assert_eq!(volumes[2]["emptyDir"]["medium"], "Memory");
}

#[test]
fn service_publishes_the_pods_ports() {
    let text = pod_yaml(&sample(), true).expect("generates");
    let mut docs = serde_yaml::Deserializer::from_str(&text);
    let _pod = docs.next().expect("pod");
    let svc = serde_yaml::Value::deserialize(docs.next().expect("service")).expect("YAML");
    assert_eq!(svc["kind"], "Service");
    assert_eq!(svc["metadata"]["name"], "shop");
    assert_eq!(svc["spec"]["type"], "NodePort");
    assert_eq!(svc["spec"]["selector"]["app"], "shop");
    let ports = svc["spec"]["ports"].as_sequence().expect("ports");
    assert_eq!(ports.len(), 3);
    assert_eq!(ports[0]["name"], "80-tcp");
    assert_eq!(ports[0]["port"], 80);
    assert_eq!(ports[0]["targetPort"], 80);
    assert_eq!(ports[0]["protocol"], "TCP");
    assert_eq!(ports[0]["nodePort"], 8080);
    assert_eq!(ports[2]["name"], "53-udp");
}

#[test]
fn restart_policy_follows_the_first_container() {
    let mut pod = sample();
    for (engine, kube) in [("always", "Always"), ("no", "Never"), ("", "Never")] {
        pod.containers[1].req.restart.name = engine.into();
        let text = pod_yaml(&pod, false).expect("generates");
        let v: serde_yaml::Value = serde_yaml::from_str(&text).expect("YAML");
        assert_eq!(v["spec"]["restartPolicy"], kube, "{engine:?}");
    }
}

#[test]
fn volume_names_are_dns_labels() {
    assert_eq!(dns_label("/srv/data"), "srv-data");
    assert_eq!(dns_label("My_Vol.1"), "my-vol-1");
    assert_eq!(dns_label("/"), "root");
    assert_eq!(dns_label(&"a/".repeat(40)).len(), 49);
}

#[test]
fn generated_yaml_plays_back_to_the_same_requests() {
    let pod = sample();
    let text = pod_yaml(&pod, true).expect("generates");
    let plan = plan(&text, &PlanOptions::default()).expect("plays");
    assert_eq!(plan.pods.len(), 1);
    let played = &plan.pods[0];
    assert_eq!(played.request.name.as_deref(), Some("shop"));
    assert_eq!(played.request.hostname.as_deref(), Some("shop1"));
    let mut want_ports = pod.ports.clone();
    want_ports[0].range = 1;
    want_ports.insert(
        1,
        PortMapping {
            container_port: 81,
            host_port: 8081,
            ..want_ports[0].clone()
        },
    );
    assert_eq!(played.request.ports, want_ports);

    let originals = pod.containers.iter().filter(|c| !c.init).map(|c| &c.req);
    for (orig, back) in originals.zip(&played.containers) {
        assert_eq!(back.image, orig.image);
        assert_eq!(back.entrypoint, orig.entrypoint);
        assert_eq!(back.command, orig.command);
        let env: Vec<String> = orig
            .env
            .iter()
            .map(|e| {
                if e.contains('=') {
                    e.clone()
                } else {
                    format!("{e}=")
                }
            })
            .collect();
        assert_eq!(back.env, env);
        assert_eq!(back.workdir, orig.workdir);
        assert_eq!(back.resources, orig.resources);
        assert_eq!(back.cap_add, orig.cap_add);
        assert_eq!(back.cap_drop, orig.cap_drop);
        assert_eq!(back.read_only, orig.read_only);
        assert_eq!(back.interactive, orig.interactive);
        assert_eq!(back.tty, orig.tty);
        assert_eq!(back.restart.name, orig.restart.name);
        let mounts: Vec<MountSpec> = orig
            .mounts
            .iter()
            .filter(|m| m.kind == MountKind::Tmpfs || m.source.is_some())
            .cloned()
            .collect();
        assert_eq!(back.mounts, mounts);
    }
    assert_eq!(played.containers[0].user.as_deref(), Some("1000:100"));
    assert_eq!(
        played.containers[1].user, None,
        "a named user is not written"
    );
    assert_eq!(played.init_containers.len(), 1);
    assert_eq!(played.init_containers[0].command, strs(&["true"]));
    assert_eq!(
        played.init_containers[0].name.as_deref(),
        Some("shop-setup")
    );
}
