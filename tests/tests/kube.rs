//! Kubernetes YAML: `kube play` of a Deployment with replicas and a ConfigMap (as a
//! file and as environment), `kube down`, the round trip `kube generate` → `kube down`
//! → `kube play` that inspects the same, and bad YAML refused with nothing made.

use std::net::SocketAddr;
use std::time::Duration;

use berth_e2e::containers::{busybox, inspect, store_with_busybox, wait_for};
use berth_e2e::net::{free_port, http_get};
use berth_e2e::Store;
use serde_json::Value;

/// Writes `yaml` into the store's directory; its path.
fn yaml_file(store: &Store, name: &str, yaml: &str) -> String {
    let path = store.path().join(name);
    std::fs::write(&path, yaml).expect("writing the YAML");
    path.display().to_string()
}

/// Every pod, container and volume name in the store.
fn everything(store: &Store) -> (String, String, String) {
    (
        store
            .berth(["pod", "ps", "--format", "{{.Name}}"])
            .ok()
            .to_string(),
        store
            .berth(["ps", "-a", "--format", "{{.Names}}"])
            .ok()
            .to_string(),
        store.berth(["volume", "ls", "-q"]).ok().to_string(),
    )
}

fn deployment(image: &str, port: u16) -> String {
    format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: site
data:
  index.html: "hello from the config map"
  MODE: production
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: server
        image: {image}
        command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
        env:
        - name: MODE
          valueFrom:
            configMapKeyRef:
              name: site
              key: MODE
        ports:
        - containerPort: 8080
        volumeMounts:
        - name: content
          mountPath: /www
          readOnly: true
        resources:
          limits:
            memory: 64Mi
            cpu: 500m
      - name: sidecar
        image: {image}
        command: ["sleep", "1000"]
      volumes:
      - name: content
        configMap:
          name: site
---
apiVersion: v1
kind: Pod
metadata:
  name: front
spec:
  containers:
  - name: proxy
    image: {image}
    command: ["sh", "-c", "echo front > /tmp/i && exec httpd -f -p 8080 -h /tmp"]
    ports:
    - containerPort: 8080
      hostPort: {port}
      hostIP: 127.0.0.1
  - name: locked
    image: {image}
    command: ["sh", "-c", "echo $TOKEN; cat /creds/token; sleep 1000"]
    env:
    - name: TOKEN
      valueFrom:
        secretKeyRef:
          name: creds
          key: token
    volumeMounts:
    - name: creds
      mountPath: /creds
    securityContext:
      runAsUser: 1000
      runAsGroup: 1000
      readOnlyRootFilesystem: true
      capabilities:
        drop: ["ALL"]
  volumes:
  - name: creds
    secret:
      secretName: creds
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  token: s3cr3t-token
"#
    )
}

#[test]
fn a_deployment_plays_its_replicas_with_a_config_map_and_goes_down() {
    let store = store_with_busybox();
    let port = free_port();
    let file = yaml_file(&store, "app.yaml", &deployment(&busybox(), port));
    let out = store.berth(["kube", "play", &file]).ok().to_string();
    assert_eq!(out.matches("Pod:\n").count(), 3, "{out}");
    assert!(
        out.starts_with("Secrets:\ncreds\nVolumes:\nsite\ncreds\n"),
        "{out}"
    );

    let pods = store
        .berth([
            "pod",
            "ps",
            "--sort",
            "name",
            "--format",
            "{{.Name}} {{.Status}} {{.NumberOfContainers}}",
        ])
        .ok()
        .to_string();
    assert_eq!(
        pods,
        "front Running 3\nweb-pod-0 Running 3\nweb-pod-1 Running 3\n"
    );
    // A Secret as an environment variable and as a file; the security context holds.
    wait_for(
        "the locked container's log",
        Duration::from_secs(10),
        || {
            let out = store.berth(["logs", "front-locked"]);
            (out.stdout == "s3cr3t-token\ns3cr3t-token").then_some(())
        },
    );
    let locked = inspect(&store, "front-locked");
    assert_eq!(locked["Config"]["User"], "1000:1000");
    assert_eq!(locked["HostConfig"]["ReadonlyRootfs"], true);
    assert_eq!(locked["HostConfig"]["CapDrop"], serde_json::json!(["ALL"]));
    let id = store
        .berth([
            "exec",
            "front-locked",
            "sh",
            "-c",
            "id -u; touch /x 2>&1 || echo refused",
        ])
        .ok()
        .to_string();
    assert!(id.starts_with("1000\n") && id.contains("refused"), "{id}");
    for replica in ["web-pod-0", "web-pod-1"] {
        // The ConfigMap's key is a file the server serves, and an environment variable.
        let sidecar = format!("{replica}-sidecar");
        let page = store
            .berth([
                "exec",
                &sidecar,
                "wget",
                "-qO-",
                "http://localhost:8080/index.html",
            ])
            .ok()
            .to_string();
        assert_eq!(page, "hello from the config map");
        let server = inspect(&store, &format!("{replica}-server"));
        let env: Vec<&str> = server["Config"]["Env"]
            .as_array()
            .expect("env")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(env.contains(&"MODE=production"), "{env:?}");
        assert_eq!(server["HostConfig"]["Memory"], 64 * 1024 * 1024);
        assert_eq!(server["HostConfig"]["NanoCpus"], 500_000_000i64);
        let err = store
            .berth(["exec", &format!("{replica}-server"), "touch", "/www/x"])
            .fails()
            .to_string();
        assert!(
            err.contains("Read-only"),
            "the config map is mounted read-only: {err}"
        );
    }
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_for("the front pod's hostPort", Duration::from_secs(15), || {
        http_get(addr, "/i").filter(|r| r.contains("front"))
    });

    // Playing it again is refused; --replace takes the names over.
    let err = store
        .berth(["kube", "play", &file])
        .fails_with(125)
        .to_string();
    assert!(
        err.contains("\"web-pod-0\" already exists") && err.contains("--replace"),
        "{err}"
    );
    store.berth(["kube", "play", "--replace", &file]).ok();
    assert_eq!(store.berth(["pod", "ps", "-q"]).ok().lines().count(), 3);

    // kube generate of a container puts it in a pod of its own.
    let one = store
        .berth(["kube", "generate", "front-proxy"])
        .ok()
        .to_string();
    assert!(
        one.contains("name: front-proxy-pod") && one.contains("hostPort: "),
        "{one}"
    );

    let down = store
        .berth(["kube", "play", "--down", &file])
        .ok()
        .to_string();
    assert!(
        down.contains("Pods removed:")
            && down.contains("Secrets removed:\ncreds")
            && down.contains("Volumes removed:\n"),
        "{down}"
    );
    assert_eq!(
        everything(&store),
        (String::new(), String::new(), String::new())
    );
    assert!(store.berth(["secret", "ls", "-q"]).ok().is_empty());
    berth_e2e::containers::assert_no_containers_left(&store, "kube down");

    // --start=false leaves the pods created.
    store.berth(["kube", "play", "--start=false", &file]).ok();
    let states = store
        .berth(["pod", "ps", "--format", "{{.Status}}"])
        .ok()
        .to_string();
    assert_eq!(states, "Created\nCreated\nCreated\n");
}

#[test]
fn generate_then_down_then_play_gives_the_same_pod() {
    let store = store_with_busybox();
    let port = free_port();
    let host_dir = store.path().join("shared");
    std::fs::create_dir_all(&host_dir).expect("mkdir");
    std::fs::write(host_dir.join("note"), "from the host").expect("write");
    store
        .berth([
            "pod",
            "create",
            "--name",
            "trip",
            "-p",
            &format!("127.0.0.1:{port}:8080"),
        ])
        .ok();
    store.berth(["volume", "create", "tripdata"]).ok();
    let image = busybox();
    let bind = format!("{}:/host:ro", host_dir.display());
    store
        .berth([
            "run",
            "-d",
            "--pull",
            "never",
            "--pod",
            "trip",
            "--name",
            "trip-app",
            "-e",
            "GREETING=hi there",
            "-v",
            "tripdata:/data",
            "-v",
            &bind,
            "--memory",
            "48m",
            "--cpus",
            "0.25",
            &image,
            "httpd",
            "-f",
            "-p",
            "8080",
            "-h",
            "/host",
        ])
        .ok();
    let fields = |store: &Store| -> Value {
        let c = inspect(store, "trip-app");
        let pod: Vec<Value> = serde_json::from_str(store.berth(["pod", "inspect", "trip"]).ok())
            .expect("pod inspect JSON");
        serde_json::json!({
            "image": c["ImageName"],
            "cmd": c["Config"]["Cmd"],
            "env": c["Config"]["Env"],
            "binds": c["HostConfig"]["Binds"],
            "memory": c["HostConfig"]["Memory"],
            "cpus": c["HostConfig"]["NanoCpus"],
            "ports": pod[0]["InfraConfig"]["PortBindings"],
            "state": pod[0]["State"],
        })
    };
    let before = fields(&store);
    assert_eq!(before["state"], "Running");

    let yaml = store
        .berth(["kube", "generate", "--service", "trip"])
        .ok()
        .to_string();
    assert!(
        yaml.contains("kind: Pod") && yaml.contains("kind: Service"),
        "{yaml}"
    );
    assert!(
        yaml.contains("claimName: tripdata") && yaml.contains("hostPort: "),
        "{yaml}"
    );
    let file = yaml_file(&store, "trip.yaml", &yaml);
    // -f writes it to a file, and never over one.
    let second = store.path().join("again.yaml");
    store
        .berth([
            "generate",
            "kube",
            "-f",
            second.to_str().expect("utf-8"),
            "trip",
        ])
        .ok();
    let plain = store.berth(["kube", "generate", "trip"]).ok().to_string();
    assert!(!plain.contains("kind: Service"), "{plain}");
    assert_eq!(std::fs::read_to_string(&second).expect("read"), plain);
    store
        .berth([
            "kube",
            "generate",
            "-f",
            second.to_str().expect("utf-8"),
            "trip",
        ])
        .fails_with(125);

    store.berth(["kube", "down", &file]).ok();
    assert_eq!(store.berth(["pod", "exists", "trip"]).code, Some(1));
    assert_eq!(
        store.berth(["volume", "exists", "tripdata"]).code,
        Some(0),
        "claims keep their data"
    );
    store.berth(["play", "kube", &file]).ok();
    assert_eq!(fields(&store), before);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_for("the replayed pod's port", Duration::from_secs(15), || {
        http_get(addr, "/note").filter(|r| r.contains("from the host"))
    });
}

#[test]
fn bad_yaml_is_refused_with_nothing_made() {
    let store = store_with_busybox();
    let image = busybox();
    let play = |yaml: &str| -> String {
        let file = yaml_file(&store, "bad.yaml", yaml);
        let err = store
            .berth(["kube", "play", &file])
            .fails_with(125)
            .to_string();
        assert_eq!(
            everything(&store),
            (String::new(), String::new(), String::new()),
            "nothing is left after: {err}"
        );
        err
    };
    let err = play("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers: [\n");
    assert!(
        err.contains("invalid YAML") && err.contains("line ") && err.contains("column "),
        "{err}"
    );
    let err = play("apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: x\n");
    assert!(
        err.contains("unsupported kind \"CronJob\"")
            && err.contains("Pod, Deployment, PersistentVolumeClaim, ConfigMap, Secret, Service"),
        "{err}"
    );
    // The second container's image is missing: the first one's volume and pod are not
    // made either.
    let missing = format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: keep\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n\
         \x20 - name: a\n    image: {image}\n    command: [sleep, '100']\n\
         \x20 - name: b\n    image: {}/berth-test/no-such-image:latest\n",
        berth_e2e::TestEnv::get().registry
    );
    let err = play(&missing);
    assert!(err.contains("no-such-image"), "{err}");
    let err = play(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n\
         \x20 - name: a\n    image: {image}\n    volumeMounts:\n    - name: nope\n      mountPath: /x\n"
    ));
    assert!(err.contains("nope"), "{err}");
    let err = play(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n\
         \x20 - name: a\n    image: {image}\n    env:\n    - name: X\n      valueFrom:\n\
         \x20       configMapKeyRef: {{name: absent, key: k}}\n"
    ));
    assert!(err.contains("absent"), "{err}");

    // A name taken by a pod that is not the YAML's: refused, and the pod is untouched.
    store.berth(["pod", "create", "--name", "p"]).ok();
    let file = yaml_file(
        &store,
        "taken.yaml",
        &format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: {image}\n"),
    );
    let err = store
        .berth(["kube", "play", &file])
        .fails_with(125)
        .to_string();
    assert!(err.contains("\"p\" already exists"), "{err}");
    assert_eq!(
        store
            .berth(["pod", "ps", "--format", "{{.NumberOfContainers}}"])
            .ok(),
        "1\n"
    );
    let err = store
        .berth(["kube", "play", "/nonexistent/x.yaml"])
        .fails_with(125)
        .to_string();
    assert!(err.contains("/nonexistent/x.yaml"), "{err}");
}
