//! What `kube play` plans for whole YAML texts, and the errors it gives.

use super::*;
use berth_types::container::{MountKind, MountSpec, RestartPolicy};
use berth_types::image::PullPolicy;

fn play(text: &str) -> Plan {
    plan(text, &PlanOptions::default()).expect("valid YAML")
}

fn play_err(text: &str) -> String {
    plan(text, &PlanOptions::default())
        .expect_err("invalid YAML")
        .to_string()
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

const FULL_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: shop, tier: front}
spec:
  hostname: shop1
  restartPolicy: OnFailure
  securityContext: {runAsUser: 1000, runAsGroup: 100}
  containers:
  - name: nginx
    image: docker.io/library/nginx:1.25
    command: [/docker-entrypoint.sh]
    args: [nginx, -g, daemon off;]
    workingDir: /srv
    env:
    - {name: MODE, value: prod}
    - {name: EMPTY}
    stdin: true
    tty: true
    imagePullPolicy: Never
    ports:
    - {containerPort: 80, hostPort: 8080}
    - {containerPort: 53, hostPort: 5353, protocol: UDP, hostIP: 127.0.0.1}
    - {containerPort: 9000}
    resources:
      limits: {memory: 128Mi, cpu: 500m}
    securityContext:
      runAsGroup: 200
      capabilities: {add: [net_admin, CAP_SYS_TIME], drop: [all]}
      readOnlyRootFilesystem: true
      privileged: true
    volumeMounts:
    - {name: site, mountPath: /usr/share/nginx/html, readOnly: true}
    - {name: data, mountPath: /data}
  volumes:
  - name: site
    hostPath: {path: ./site, type: Directory}
  - name: data
    persistentVolumeClaim: {claimName: web-data}
"#;

#[test]
fn pod_fields_become_pod_and_container_requests() {
    let plan = play(FULL_POD);
    assert_eq!(plan.pods.len(), 1);
    let pod = &plan.pods[0];
    let r = &pod.request;
    assert_eq!(r.name.as_deref(), Some("web"));
    assert!(r.infra);
    assert_eq!(r.share, strs(&["ipc", "net", "uts"]));
    assert_eq!(r.network, "bridge");
    assert!(r.networks.is_empty());
    assert_eq!(r.hostname.as_deref(), Some("shop1"));
    assert_eq!(r.labels["app"], "shop");
    assert_eq!(r.labels["tier"], "front");
    assert_eq!(
        r.ports,
        vec![
            PortMapping {
                host_ip: String::new(),
                container_port: 80,
                host_port: 8080,
                protocol: "tcp".into(),
                range: 1
            },
            PortMapping {
                host_ip: "127.0.0.1".into(),
                container_port: 53,
                host_port: 5353,
                protocol: "udp".into(),
                range: 1
            },
        ]
    );

    let c = &pod.containers[0];
    assert_eq!(c.name.as_deref(), Some("web-nginx"));
    assert_eq!(c.pod, "web");
    assert_eq!(c.image, "docker.io/library/nginx:1.25");
    assert_eq!(c.entrypoint, Some(strs(&["/docker-entrypoint.sh"])));
    assert_eq!(c.command, strs(&["nginx", "-g", "daemon off;"]));
    assert_eq!(c.workdir.as_deref(), Some("/srv"));
    assert_eq!(c.env, strs(&["MODE=prod", "EMPTY="]));
    assert!(c.interactive && c.tty);
    assert_eq!(c.pull, PullPolicy::Never);
    assert_eq!(c.resources.memory, Some(134_217_728));
    assert_eq!(c.resources.cpus, Some(0.5));
    assert_eq!(c.user.as_deref(), Some("1000:200"));
    assert_eq!(c.cap_add, strs(&["CAP_NET_ADMIN", "CAP_SYS_TIME"]));
    assert_eq!(c.cap_drop, strs(&["ALL"]));
    assert!(c.read_only && c.privileged);
    assert_eq!(
        c.restart,
        RestartPolicy {
            name: "on-failure".into(),
            max_retries: 0
        }
    );
    assert_eq!(c.network, "bridge");
    assert_eq!(c.log_driver, "k8s-file");
    assert!(c.ports.is_empty());
    assert_eq!(c.init_container, None);
    assert_eq!(
        c.mounts,
        vec![
            MountSpec {
                kind: MountKind::Bind,
                source: Some("./site".into()),
                destination: "/usr/share/nginx/html".into(),
                options: strs(&["ro"]),
            },
            MountSpec {
                kind: MountKind::Volume,
                source: Some("web-data".into()),
                destination: "/data".into(),
                options: Vec::new(),
            },
        ]
    );
    // No PersistentVolumeClaim document: the engine makes the volume on demand.
    assert!(plan.volumes.is_empty());
}

#[test]
fn defaults_apply_when_fields_are_absent() {
    let plan = play(
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: alpine}\n",
    );
    let c = &plan.pods[0].containers[0];
    assert_eq!(c.pull, PullPolicy::Missing);
    assert_eq!(c.restart.name, "always");
    assert_eq!(c.entrypoint, None);
    assert!(c.command.is_empty() && c.env.is_empty() && c.user.is_none());
    assert_eq!(plan.pods[0].request.hostname, None);
}

#[test]
fn pod_security_context_is_the_containers_default() {
    let plan = play(
        "kind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {runAsGroup: 5}\n  containers:\n  \
         - {name: a, image: alpine}\n  - {name: b, image: alpine, securityContext: {runAsUser: 7}}\n",
    );
    let users: Vec<_> = plan.pods[0]
        .containers
        .iter()
        .map(|c| c.user.clone())
        .collect();
    assert_eq!(users, [Some("0:5".to_string()), Some("7:5".to_string())]);
}

#[test]
fn deployment_replicas_become_numbered_pods() {
    let text = |replicas: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: api}}\nspec:\n{replicas}  \
             template:\n    metadata: {{labels: {{app: api}}}}\n    spec:\n      containers:\n      \
             - {{name: srv, image: busybox}}\n"
        )
    };
    let plan = play(&text("  replicas: 3\n"));
    let names: Vec<_> = plan
        .pods
        .iter()
        .map(|p| p.request.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(names, ["api-pod-0", "api-pod-1", "api-pod-2"]);
    assert_eq!(
        plan.pods[2].containers[0].name.as_deref(),
        Some("api-pod-2-srv")
    );
    assert_eq!(plan.pods[1].request.labels["app"], "api");
    assert_eq!(play(&text("")).pods.len(), 1);
    assert!(play(&text("  replicas: 0\n")).pods.is_empty());
    let err = super::plan(
        &text("  replicas: 4000000000\n"),
        &super::PlanOptions::default(),
    )
    .expect_err("too many replicas");
    assert!(err.to_string().contains("at most 1000 replicas"), "{err}");
}

#[test]
fn replicas_publishing_one_host_port_conflict() {
    let text = "kind: Deployment\nmetadata: {name: api}\nspec:\n  replicas: 2\n  template:\n    \
                spec:\n      containers:\n      - name: srv\n        image: busybox\n        \
                ports: [{containerPort: 80, hostPort: 8080}]\n";
    assert_eq!(
        play_err(text),
        "host port 8080/tcp is published twice (again by pod \"api-pod-1\")"
    );
}

const CONFIG: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data:
  LEVEL: debug
  COLOR: blue
  app.conf: "listen 80\n"
"#;

#[test]
fn config_maps_feed_environment_variables() {
    let text = format!(
        "{CONFIG}---\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: c\n    \
         image: alpine\n    envFrom:\n    - configMapRef: {{name: settings}}\n      prefix: CFG_\n    \
         - configMapRef: {{name: absent, optional: true}}\n    env:\n    - name: LOG\n      \
         valueFrom: {{configMapKeyRef: {{name: settings, key: LEVEL}}}}\n    - name: NOPE\n      \
         valueFrom: {{configMapKeyRef: {{name: settings, key: none, optional: true}}}}\n"
    );
    let plan = play(&text);
    assert_eq!(
        plan.pods[0].containers[0].env,
        strs(&[
            "CFG_COLOR=blue",
            "CFG_LEVEL=debug",
            "CFG_app.conf=listen 80\n",
            "LOG=debug"
        ])
    );
}

#[test]
fn config_map_volumes_hold_the_maps_files() {
    let text = format!(
        "{CONFIG}---\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: c\n    \
         image: alpine\n    volumeMounts:\n    - {{name: all, mountPath: /etc/all}}\n    \
         - {{name: some, mountPath: /etc/some}}\n  - name: d\n    image: alpine\n    volumeMounts:\n    \
         - {{name: all, mountPath: /cfg}}\n  volumes:\n  - name: all\n    configMap: {{name: settings}}\n  \
         - name: some\n    configMap:\n      name: settings\n      defaultMode: 0600\n      \
         items: [{{key: app.conf, path: conf/app.conf}}, {{key: LEVEL, path: level, mode: 0400}}]\n"
    );
    let err = play_err(&text);
    // Two volumes of one ConfigMap with different files cannot share its name.
    assert!(
        err.starts_with("volume \"settings\" is wanted twice"),
        "{err}"
    );

    let text = text.replace("    - {name: some, mountPath: /etc/some}\n", "");
    let plan = play(&text);
    assert_eq!(plan.volumes.len(), 1, "one volume for both containers");
    let v = &plan.volumes[0];
    assert_eq!(v.name, "settings");
    assert_eq!(v.origin, VolumeOrigin::ConfigMap);
    assert_eq!(v.labels["io.berth.kube.configmap"], "settings");
    let files: Vec<_> = v
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.data.as_slice(), f.mode))
        .collect();
    assert_eq!(
        files,
        [
            ("COLOR", &b"blue"[..], 0o644),
            ("LEVEL", &b"debug"[..], 0o644),
            ("app.conf", &b"listen 80\n"[..], 0o644)
        ]
    );
    let m = &plan.pods[0].containers[0].mounts[0];
    assert_eq!(m.kind, MountKind::Volume);
    assert_eq!(m.source.as_deref(), Some("settings"));
    assert_eq!(m.options, strs(&["ro"]));
}

#[test]
fn config_map_items_choose_paths_and_modes() {
    let text = format!(
        "{CONFIG}---\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: c\n    \
         image: alpine\n    volumeMounts: [{{name: some, mountPath: /etc/some}}]\n  volumes:\n  \
         - name: some\n    configMap:\n      name: settings\n      defaultMode: 0600\n      \
         items: [{{key: app.conf, path: conf/app.conf}}, {{key: LEVEL, path: level, mode: 0400}}]\n"
    );
    let plan = play(&text);
    let files: Vec<_> = plan.volumes[0]
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.mode))
        .collect();
    assert_eq!(files, [("conf/app.conf", 0o600), ("level", 0o400)]);

    let bad = text.replace("path: level", "path: ../level");
    assert_eq!(
        play_err(&bad),
        "invalid file path \"../level\" in volume \"settings\": it must be relative, without \
         empty or \"..\" parts"
    );
    let missing = text.replace("key: LEVEL", "key: NOPE");
    assert_eq!(
        play_err(&missing),
        "ConfigMap \"settings\" has no key \"NOPE\" (used by volume \"some\" of pod \"p\")"
    );
}

const SECRET: &str = r#"
apiVersion: v1
kind: Secret
metadata:
  name: creds
  labels: {owner: ops}
type: Opaque
data:
  password: aHVudGVyMg==
stringData:
  user: admin
"#;

#[test]
fn secrets_become_engine_secrets_env_and_files() {
    let text = format!(
        "{SECRET}---\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: c\n    \
         image: alpine\n    env:\n    - name: PW\n      valueFrom: {{secretKeyRef: {{name: creds, key: password}}}}\n    \
         envFrom: [{{secretRef: {{name: creds}}}}]\n    volumeMounts: [{{name: s, mountPath: /run/creds}}]\n  \
         volumes:\n  - name: s\n    secret: {{secretName: creds}}\n"
    );
    let plan = play(&text);
    assert_eq!(plan.secrets.len(), 1);
    let s = &plan.secrets[0];
    assert_eq!((s.name.as_str(), s.driver.as_str()), ("creds", "file"));
    assert_eq!(s.labels["owner"], "ops");
    let json: serde_json::Value = serde_json::from_slice(&s.data).expect("JSON");
    assert_eq!(
        json,
        serde_json::json!({"password": "hunter2", "user": "admin"})
    );
    let c = &plan.pods[0].containers[0];
    assert_eq!(
        c.env,
        strs(&["password=hunter2", "user=admin", "PW=hunter2"])
    );
    let v = &plan.volumes[0];
    assert_eq!((v.name.as_str(), v.origin), ("creds", VolumeOrigin::Secret));
    assert_eq!(v.labels["io.berth.kube.secret"], "creds");
    let files: Vec<_> = v
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.data.as_slice(), f.mode))
        .collect();
    assert_eq!(
        files,
        [
            ("password", &b"hunter2"[..], 0o644),
            ("user", &b"admin"[..], 0o644)
        ]
    );
    assert_eq!(c.mounts[0].options, strs(&["ro"]));
}

#[test]
fn several_documents_make_one_plan() {
    let text = format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: db-data\n  labels: {{keep: yes}}\n\
         spec:\n  accessModes: [ReadWriteOnce]\n  resources: {{requests: {{storage: 1Gi}}}}\n\
         ---\n{SECRET}---\n\n---\nkind: Service\nmetadata: {{name: db}}\nspec:\n  ports: [{{port: 5432, targetPort: pg}}]\n\
         ---\nkind: Pod\nmetadata: {{name: db}}\nspec:\n  containers:\n  - name: pg\n    image: postgres\n    \
         volumeMounts: [{{name: d, mountPath: /var/lib/postgresql/data}}]\n  volumes:\n  \
         - {{name: d, persistentVolumeClaim: {{claimName: db-data}}}}\n---\nkind: Pod\nmetadata: {{name: cache}}\n\
         spec:\n  containers: [{{name: redis, image: redis}}]\n"
    );
    let plan = play(&text);
    assert_eq!(plan.volumes.len(), 1);
    assert_eq!(plan.volumes[0].name, "db-data");
    assert_eq!(plan.volumes[0].origin, VolumeOrigin::Claim);
    assert_eq!(plan.volumes[0].labels["keep"], "yes");
    assert_eq!(plan.secrets[0].name, "creds");
    let names: Vec<_> = plan.pods.iter().map(|p| p.request.name.clone()).collect();
    assert_eq!(names, [Some("db".to_string()), Some("cache".to_string())]);
    assert_eq!(
        plan.pods[0].containers[0].mounts[0].source.as_deref(),
        Some("db-data")
    );
}

#[test]
fn empty_dirs_are_per_pod_volumes_or_tmpfs() {
    let text = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: alpine\n    \
                volumeMounts: [{name: scratch, mountPath: /scratch}, {name: mem, mountPath: /mem}]\n  \
                volumes:\n  - {name: scratch, emptyDir: {}}\n  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 64Mi}}\n";
    let plan = play(text);
    let v = &plan.volumes[0];
    assert_eq!(
        (v.name.as_str(), v.origin),
        ("p-scratch", VolumeOrigin::EmptyDir)
    );
    assert_eq!(v.labels["io.berth.kube.emptydir"], "p");
    assert!(v.files.is_empty());
    let mounts = &plan.pods[0].containers[0].mounts;
    assert_eq!(mounts[0].kind, MountKind::Volume);
    assert_eq!(mounts[0].source.as_deref(), Some("p-scratch"));
    assert_eq!(mounts[1].kind, MountKind::Tmpfs);
    assert_eq!(mounts[1].source, None);
    assert_eq!(mounts[1].options, strs(&["size=67108864"]));
}

#[test]
fn init_containers_run_first_without_a_restart_policy() {
    let text = "kind: Pod\nmetadata: {name: p}\nspec:\n  initContainers: [{name: setup, image: alpine}]\n  \
                containers: [{name: main, image: alpine}]\n";
    let pod = &play(text).pods[0];
    assert_eq!(pod.init_containers.len(), 1);
    let init = &pod.init_containers[0];
    assert_eq!(init.name.as_deref(), Some("p-setup"));
    assert_eq!(init.init_container.as_deref(), Some("always"));
    assert_eq!(init.restart.name, "");
    assert_eq!(pod.containers[0].restart.name, "always");
}

#[test]
fn networks_option_and_host_network() {
    let text = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: alpine\n    \
                ports: [{containerPort: 80, hostPort: 8080}]\n";
    let opts = PlanOptions {
        networks: strs(&["front", "back"]),
    };
    let r = plan(text, &opts).expect("valid").pods.remove(0).request;
    let nets: Vec<_> = r.networks.iter().map(|n| n.network.as_str()).collect();
    assert_eq!(nets, ["front", "back"]);
    assert_eq!(r.network, "bridge");

    let host = text.replace("spec:\n", "spec:\n  hostNetwork: true\n");
    let r = plan(&host, &opts).expect("valid").pods.remove(0).request;
    assert_eq!(r.network, "host");
    assert!(r.networks.is_empty() && r.ports.is_empty());
}

const POD_HEAD: &str = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n";

#[test]
fn container_errors_name_the_pod_and_container() {
    let cases = [
        ("  - {name: c}\n", "container \"c\" of pod \"p\" has no image"),
        ("  - {image: alpine}\n", "a container of pod \"p\" has no name"),
        (
            "  - {name: -c, image: alpine}\n",
            "invalid container name \"-c\": names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*",
        ),
        (
            "  - {name: c, image: alpine}\n  - {name: c, image: alpine}\n",
            "container \"p-c\" is defined twice",
        ),
        (
            "  - {name: c, image: alpine, imagePullPolicy: Sometimes}\n",
            "invalid imagePullPolicy \"Sometimes\" in container \"c\" of pod \"p\": expected \
             Always, IfNotPresent or Never",
        ),
        (
            "  - {name: c, image: alpine, resources: {limits: {memory: lots}}}\n",
            "invalid resources.limits.memory \"lots\" in container \"c\" of pod \"p\": expected \
             a quantity such as 128Mi or 1G",
        ),
        (
            "  - {name: c, image: alpine, resources: {limits: {cpu: 1x}}}\n",
            "invalid resources.limits.cpu \"1x\" in container \"c\" of pod \"p\": expected a \
             quantity such as 500m or 1.5",
        ),
        (
            "  - {name: c, image: alpine, ports: [{containerPort: 1, hostPort: 2, protocol: ICMP}]}\n",
            "invalid protocol \"ICMP\" in container \"c\" of pod \"p\": expected TCP, UDP or SCTP",
        ),
        (
            "  - {name: c, image: alpine, ports: [{containerPort: 1, hostPort: 2}, {containerPort: 3, hostPort: 2}]}\n",
            "host port 2/tcp is published twice (again by pod \"p\")",
        ),
        (
            "  - {name: c, image: alpine, ports: [{hostPort: 2}]}\n",
            "port 2 of container \"c\" of pod \"p\" has no containerPort",
        ),
        (
            "  - {name: c, image: alpine, env: [{name: X, valueFrom: {configMapKeyRef: {name: m, key: k}}}]}\n",
            "container \"c\" of pod \"p\" uses ConfigMap \"m\", which is not in the YAML",
        ),
        (
            "  - {name: c, image: alpine, envFrom: [{secretRef: {name: s}}]}\n",
            "container \"c\" of pod \"p\" uses Secret \"s\", which is not in the YAML",
        ),
        (
            "  - {name: c, image: alpine, env: [{name: X, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]}\n",
            "environment variable \"X\" of container \"c\" of pod \"p\" takes its value from \
             something other than a configMapKeyRef or secretKeyRef, which is not supported",
        ),
        (
            "  - {name: c, image: alpine, volumeMounts: [{name: v, mountPath: /v}]}\n",
            "container \"c\" of pod \"p\" mounts volume \"v\", which the pod's spec.volumes does \
             not declare",
        ),
    ];
    for (containers, want) in cases {
        assert_eq!(
            play_err(&format!("{POD_HEAD}{containers}")),
            want,
            "{containers}"
        );
    }
}

#[test]
fn missing_config_map_key_in_env_is_named() {
    let text = format!(
        "{CONFIG}---\n{POD_HEAD}  - name: c\n    image: alpine\n    env:\n    - name: X\n      \
         valueFrom: {{configMapKeyRef: {{name: settings, key: nope}}}}\n"
    );
    assert_eq!(
        play_err(&text),
        "ConfigMap \"settings\" has no key \"nope\" (used by container \"c\" of pod \"p\")"
    );
}

#[test]
fn volume_errors_are_explained() {
    let mounted = |volume: &str| {
        format!(
            "{POD_HEAD}  - name: c\n    image: alpine\n    volumeMounts: [{{name: v, mountPath: /v}}]\n  \
             volumes:\n  - {volume}\n"
        )
    };
    assert_eq!(
        play_err(&mounted("{name: v, configMap: {name: gone}}")),
        "volume \"v\" of pod \"p\" uses ConfigMap \"gone\", which is not in the YAML"
    );
    assert_eq!(
        play_err(&mounted("{name: v, secret: {secretName: gone}}")),
        "volume \"v\" of pod \"p\" uses Secret \"gone\", which is not in the YAML"
    );
    assert_eq!(
        play_err(&mounted("{name: v, nfs: {server: x}}")),
        "volume \"v\" of pod \"p\" has no supported source (hostPath, persistentVolumeClaim, \
         configMap, secret or emptyDir)"
    );
    assert_eq!(
        play_err(&mounted("{name: v, hostPath: {}}")),
        "volume \"v\" of pod \"p\" has no hostPath.path"
    );
    // An optional map that is missing gives an empty volume.
    let plan = play(&mounted(
        "{name: v, configMap: {name: gone, optional: true}}",
    ));
    assert!(plan.volumes[0].files.is_empty());

    let sub = format!(
        "{POD_HEAD}  - name: c\n    image: alpine\n    volumeMounts: [{{name: v, mountPath: /v, subPath: x}}]\n  \
         volumes: [{{name: v, hostPath: {{path: /tmp}}}}]\n"
    );
    assert_eq!(
        play_err(&sub),
        "container \"c\" of pod \"p\" mounts volume \"v\" with a subPath, which is not supported"
    );
}

#[test]
fn pod_errors_are_explained() {
    assert_eq!(
        play_err("kind: Pod\nmetadata: {name: _bad}\nspec:\n  containers: [{name: c, image: a}]\n"),
        "invalid pod name \"_bad\": names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"
    );
    assert_eq!(
        play_err("kind: Pod\nmetadata: {name: p}\nspec: {}\n"),
        "pod \"p\" has no containers"
    );
    assert_eq!(
        play_err(
            "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: a}]\n---\n\
             kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: a}]\n"
        ),
        "pod \"p\" is defined twice"
    );
    assert_eq!(
        play_err(
            "kind: ConfigMap\nmetadata: {name: m}\n---\nkind: ConfigMap\nmetadata: {name: m}\n"
        ),
        "ConfigMap \"m\" is defined twice"
    );
    assert!(
        play_err("kind: Secret\nmetadata: {name: s}\ndata: {k: \"%%\"}\n")
            .contains("Secret \"s\" key \"k\" is not valid base64")
    );
}
