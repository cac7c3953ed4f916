//! `Engine` for `RemoteEngine`: each method one remote call of the same name, its
//! arguments by name (as `crate::server::rpc` reads them).

use super::{Hooks, RemoteEngine};
use berth_types::container::*;
use berth_types::event::{Event, EventsRequest};
use berth_types::image::*;
use berth_types::network::{Network, NetworkAttachment, NetworkCreateRequest};
use berth_types::pod::*;
use berth_types::progress::ProgressSink;
use berth_types::secret::{SecretCreateRequest, SecretInfo};
use berth_types::system::*;
use berth_types::volume::*;
use berth_types::{Engine, Result};
use serde_json::json;
use std::io::{Read, Write};

fn progress(p: &dyn ProgressSink) -> Hooks<'_> {
    Hooks {
        progress: Some(p),
        ..Default::default()
    }
}

/// The attach description sent, and the hooks that relay the session.
fn attached(a: AttachStreams<'_>) -> (serde_json::Value, Hooks<'_>) {
    // The terminal's size now travels with the call, so the process starts with it.
    let size = a.resize.as_ref().and_then(|rx| rx.try_recv().ok());
    let spec = json!({
        "stdin": a.stdin.is_some(),
        "detach_keys": a.detach_keys,
        "resize": a.resize.is_some(),
        "size": size,
    });
    let AttachStreams {
        stdin,
        stdout,
        stderr,
        resize,
        started,
        ..
    } = a;
    let hooks = Hooks {
        out: Some(stdout),
        err: Some(stderr),
        stdin,
        resize,
        started,
        ..Default::default()
    };
    (spec, hooks)
}

impl Engine for RemoteEngine {
    fn version(&self) -> Result<VersionInfo> {
        self.call("version", json!({}))
    }
    fn info(&self) -> Result<SystemInfo> {
        self.call("info", json!({}))
    }
    fn disk_usage(&self) -> Result<Vec<DiskUsageRow>> {
        self.call("disk_usage", json!({}))
    }
    fn reset(&self) -> Result<()> {
        self.call("reset", json!({}))
    }
    fn pull_image(&self, req: &PullRequest, p: &dyn ProgressSink) -> Result<PullReport> {
        self.call_with("pull_image", json!({ "req": req }), progress(p))
    }
    fn push_image(&self, req: &PushRequest, p: &dyn ProgressSink) -> Result<PushReport> {
        self.call_with("push_image", json!({ "req": req }), progress(p))
    }

    fn search_images(&self, req: &SearchRequest) -> Result<Vec<SearchResult>> {
        self.call("search_images", json!({ "req": req }))
    }
    fn list_images(&self, req: &ListImagesRequest) -> Result<Vec<ImageSummary>> {
        self.call("list_images", json!({ "req": req }))
    }
    fn inspect_image(&self, name: &str) -> Result<ImageInspect> {
        self.call("inspect_image", json!({ "name": name }))
    }
    fn image_exists(&self, name: &str) -> Result<bool> {
        self.call("image_exists", json!({ "name": name }))
    }
    fn image_history(&self, name: &str) -> Result<Vec<HistoryRow>> {
        self.call("image_history", json!({ "name": name }))
    }
    fn tag_image(&self, name: &str, new_names: &[String]) -> Result<()> {
        self.call("tag_image", json!({ "name": name, "new_names": new_names }))
    }
    fn untag_image(&self, name: &str, names: &[String]) -> Result<Vec<String>> {
        self.call("untag_image", json!({ "name": name, "names": names }))
    }
    fn remove_images(&self, req: &RemoveImagesRequest) -> Result<RemoveImagesReport> {
        self.call("remove_images", json!({ "req": req }))
    }
    fn prune_images(&self, req: &PruneImagesRequest) -> Result<Vec<String>> {
        self.call("prune_images", json!({ "req": req }))
    }
    fn save_images(&self, req: &SaveRequest, out: &mut dyn Write) -> Result<()> {
        let hooks = Hooks {
            out: Some(Box::new(out)),
            ..Default::default()
        };
        self.call_with("save_images", json!({ "req": req }), hooks)
    }
    fn load_images(&self, input: &mut dyn Read) -> Result<Vec<String>> {
        let hooks = Hooks {
            input: Some(input),
            ..Default::default()
        };
        self.call_with("load_images", json!({}), hooks)
    }
    fn login(&self, req: &LoginRequest) -> Result<()> {
        self.call("login", json!({ "req": req }))
    }
    fn logout(&self, registry: Option<&str>, authfile: Option<&std::path::Path>) -> Result<bool> {
        self.call(
            "logout",
            json!({ "registry": registry, "authfile": authfile }),
        )
    }
    fn create_secret(&self, req: &SecretCreateRequest) -> Result<String> {
        self.call("create_secret", json!({ "req": req }))
    }
    fn list_secrets(&self) -> Result<Vec<SecretInfo>> {
        self.call("list_secrets", json!({}))
    }
    fn inspect_secret(&self, name: &str) -> Result<SecretInfo> {
        self.call("inspect_secret", json!({ "name": name }))
    }
    fn secret_exists(&self, name: &str) -> Result<bool> {
        self.call("secret_exists", json!({ "name": name }))
    }
    fn remove_secrets(&self, names: &[String], all: bool) -> Result<Vec<String>> {
        self.call("remove_secrets", json!({ "names": names, "all": all }))
    }
    fn create_volume(&self, req: &VolumeCreateRequest) -> Result<String> {
        self.call("create_volume", json!({ "req": req }))
    }
    fn list_volumes(&self, filters: &[String]) -> Result<Vec<VolumeInspect>> {
        self.call("list_volumes", json!({ "filters": filters }))
    }
    fn inspect_volume(&self, name: &str) -> Result<VolumeInspect> {
        self.call("inspect_volume", json!({ "name": name }))
    }
    fn volume_exists(&self, name: &str) -> Result<bool> {
        self.call("volume_exists", json!({ "name": name }))
    }
    fn remove_volumes(&self, req: &VolumeRemoveRequest) -> Result<Vec<String>> {
        self.call("remove_volumes", json!({ "req": req }))
    }
    fn prune_volumes(&self, filters: &[String]) -> Result<Vec<String>> {
        self.call("prune_volumes", json!({ "filters": filters }))
    }
    fn create_container(
        &self,
        req: &ContainerCreateRequest,
        p: &dyn ProgressSink,
    ) -> Result<ContainerCreated> {
        self.call_with("create_container", json!({ "req": req }), progress(p))
    }
    fn start_container(
        &self,
        name: &str,
        attach: Option<AttachStreams<'_>>,
    ) -> Result<Option<AttachEnd>> {
        match attach {
            None => self.call("start_container", json!({ "name": name, "attach": null })),
            Some(a) => {
                let (spec, hooks) = attached(a);
                self.call_with(
                    "start_container",
                    json!({ "name": name, "attach": spec }),
                    hooks,
                )
            }
        }
    }
    fn attach_container(&self, name: &str, attach: AttachStreams<'_>) -> Result<AttachEnd> {
        let (spec, hooks) = attached(attach);
        self.call_with(
            "attach_container",
            json!({ "name": name, "attach": spec }),
            hooks,
        )
    }
    fn stop_container(&self, name: &str, timeout: Option<u32>) -> Result<String> {
        self.call(
            "stop_container",
            json!({ "name": name, "timeout": timeout }),
        )
    }
    fn kill_container(&self, name: &str, signal: &str) -> Result<String> {
        self.call("kill_container", json!({ "name": name, "signal": signal }))
    }
    fn remove_containers(&self, req: &RemoveContainersRequest) -> Result<Vec<Result<String>>> {
        self.call("remove_containers", json!({ "req": req }))
    }
    fn list_containers(&self, req: &ListContainersRequest) -> Result<Vec<ContainerSummary>> {
        self.call("list_containers", json!({ "req": req }))
    }
    fn inspect_container(&self, name: &str) -> Result<serde_json::Value> {
        self.call("inspect_container", json!({ "name": name }))
    }
    fn container_exists(&self, name: &str) -> Result<bool> {
        self.call("container_exists", json!({ "name": name }))
    }
    fn wait_container(&self, name: &str, condition: &str) -> Result<i32> {
        self.call(
            "wait_container",
            json!({ "name": name, "condition": condition }),
        )
    }
    fn container_logs(
        &self,
        req: &LogsRequest,
        sink: &mut dyn FnMut(&LogLine) -> bool,
    ) -> Result<()> {
        let mut items = |item: Option<&[u8]>| match item.map(serde_json::from_slice::<LogLine>) {
            Some(Ok(line)) => sink(&line),
            _ => true,
        };
        let hooks = Hooks {
            items: Some(&mut items),
            ..Default::default()
        };
        self.call_with("container_logs", json!({ "req": req }), hooks)
    }
    fn exec_container(&self, name: &str, req: &ExecRequest, io: AttachStreams<'_>) -> Result<i32> {
        let (spec, hooks) = attached(io);
        self.call_with(
            "exec_container",
            json!({ "name": name, "req": req, "attach": spec }),
            hooks,
        )
    }
    fn restart_container(&self, name: &str, timeout: Option<u32>) -> Result<String> {
        self.call(
            "restart_container",
            json!({ "name": name, "timeout": timeout }),
        )
    }
    fn pause_container(&self, name: &str) -> Result<String> {
        self.call("pause_container", json!({ "name": name }))
    }
    fn unpause_container(&self, name: &str) -> Result<String> {
        self.call("unpause_container", json!({ "name": name }))
    }
    fn rename_container(&self, name: &str, new_name: &str) -> Result<()> {
        self.call(
            "rename_container",
            json!({ "name": name, "new_name": new_name }),
        )
    }
    fn update_container(&self, name: &str, resources: &Resources) -> Result<String> {
        self.call(
            "update_container",
            json!({ "name": name, "resources": resources }),
        )
    }
    fn prune_containers(&self) -> Result<Vec<String>> {
        self.call("prune_containers", json!({}))
    }
    fn container_diff(&self, name: &str) -> Result<Vec<Change>> {
        self.call("container_diff", json!({ "name": name }))
    }
    fn export_container(&self, name: &str, out: &mut dyn Write) -> Result<()> {
        let hooks = Hooks {
            out: Some(Box::new(out)),
            ..Default::default()
        };
        self.call_with("export_container", json!({ "name": name }), hooks)
    }
    fn commit_container(&self, req: &CommitRequest) -> Result<String> {
        self.call("commit_container", json!({ "req": req }))
    }
    fn import_image(&self, req: &ImportRequest, input: &mut dyn Read) -> Result<String> {
        let hooks = Hooks {
            input: Some(input),
            ..Default::default()
        };
        self.call_with("import_image", json!({ "req": req }), hooks)
    }
    fn copy_from_container(&self, name: &str, path: &str, out: &mut dyn Write) -> Result<()> {
        let hooks = Hooks {
            out: Some(Box::new(out)),
            ..Default::default()
        };
        self.call_with(
            "copy_from_container",
            json!({ "name": name, "path": path }),
            hooks,
        )
    }
    fn copy_to_container(&self, name: &str, path: &str, input: &mut dyn Read) -> Result<()> {
        let hooks = Hooks {
            input: Some(input),
            ..Default::default()
        };
        self.call_with(
            "copy_to_container",
            json!({ "name": name, "path": path }),
            hooks,
        )
    }
    fn container_path_kind(&self, name: &str, path: &str) -> Result<Option<bool>> {
        self.call("container_path_kind", json!({ "name": name, "path": path }))
    }
    fn container_path_stat(&self, name: &str, path: &str) -> Result<Option<PathStat>> {
        self.call("container_path_stat", json!({ "name": name, "path": path }))
    }
    fn top_container(&self, name: &str, descriptors: &[String]) -> Result<Vec<Vec<String>>> {
        self.call(
            "top_container",
            json!({ "name": name, "descriptors": descriptors }),
        )
    }
    fn container_stats(&self, names: &[String]) -> Result<Vec<ContainerStats>> {
        self.call("container_stats", json!({ "names": names }))
    }
    fn healthcheck_run(&self, name: &str) -> Result<String> {
        self.call("healthcheck_run", json!({ "name": name }))
    }
    fn create_network(&self, req: &NetworkCreateRequest) -> Result<Network> {
        self.call("create_network", json!({ "req": req }))
    }
    fn list_networks(&self, filters: &[String]) -> Result<Vec<Network>> {
        self.call("list_networks", json!({ "filters": filters }))
    }
    fn inspect_network(&self, name: &str) -> Result<Network> {
        self.call("inspect_network", json!({ "name": name }))
    }
    fn network_exists(&self, name: &str) -> Result<bool> {
        self.call("network_exists", json!({ "name": name }))
    }
    fn remove_network(&self, name: &str, force: bool) -> Result<String> {
        self.call("remove_network", json!({ "name": name, "force": force }))
    }
    fn prune_networks(&self, filters: &[String]) -> Result<Vec<String>> {
        self.call("prune_networks", json!({ "filters": filters }))
    }
    fn connect_network(&self, container: &str, attachment: &NetworkAttachment) -> Result<()> {
        self.call(
            "connect_network",
            json!({ "container": container, "attachment": attachment }),
        )
    }
    fn disconnect_network(&self, container: &str, network: &str, force: bool) -> Result<()> {
        self.call(
            "disconnect_network",
            json!({ "container": container, "network": network, "force": force }),
        )
    }
    fn create_pod(&self, req: &PodCreateRequest, p: &dyn ProgressSink) -> Result<ContainerCreated> {
        self.call_with("create_pod", json!({ "req": req }), progress(p))
    }
    fn start_pod(&self, name: &str) -> Result<String> {
        self.call("start_pod", json!({ "name": name }))
    }
    fn stop_pod(&self, name: &str, timeout: Option<u32>) -> Result<String> {
        self.call("stop_pod", json!({ "name": name, "timeout": timeout }))
    }
    fn restart_pod(&self, name: &str) -> Result<String> {
        self.call("restart_pod", json!({ "name": name }))
    }
    fn kill_pod(&self, name: &str, signal: &str) -> Result<String> {
        self.call("kill_pod", json!({ "name": name, "signal": signal }))
    }
    fn pause_pod(&self, name: &str, resume: bool) -> Result<String> {
        self.call("pause_pod", json!({ "name": name, "resume": resume }))
    }
    fn remove_pods(&self, req: &RemovePodsRequest) -> Result<Vec<Result<String>>> {
        self.call("remove_pods", json!({ "req": req }))
    }
    fn list_pods(&self, filters: &[String]) -> Result<Vec<PodSummary>> {
        self.call("list_pods", json!({ "filters": filters }))
    }
    fn inspect_pod(&self, name: &str) -> Result<serde_json::Value> {
        self.call("inspect_pod", json!({ "name": name }))
    }
    fn pod_exists(&self, name: &str) -> Result<bool> {
        self.call("pod_exists", json!({ "name": name }))
    }
    fn prune_pods(&self) -> Result<Vec<String>> {
        self.call("prune_pods", json!({}))
    }
    fn play_kube(&self, req: &KubePlayRequest, p: &dyn ProgressSink) -> Result<KubePlayReport> {
        self.call_with("play_kube", json!({ "req": req }), progress(p))
    }
    fn down_kube(&self, yaml: &str) -> Result<KubeDownReport> {
        self.call("down_kube", json!({ "yaml": yaml }))
    }
    fn generate_kube(&self, names: &[String], service: bool) -> Result<String> {
        self.call(
            "generate_kube",
            json!({ "names": names, "service": service }),
        )
    }
    fn reload_networks(&self, containers: &[String], all: bool) -> Result<Vec<String>> {
        self.call(
            "reload_networks",
            json!({ "containers": containers, "all": all }),
        )
    }
    fn events(
        &self,
        req: &EventsRequest,
        sink: &mut dyn FnMut(Option<&Event>) -> bool,
    ) -> Result<()> {
        let mut items = |item: Option<&[u8]>| match item {
            None => sink(None),
            Some(bytes) => match serde_json::from_slice::<Event>(bytes) {
                Ok(e) => sink(Some(&e)),
                Err(_) => true,
            },
        };
        let hooks = Hooks {
            items: Some(&mut items),
            ..Default::default()
        };
        self.call_with("events", json!({ "req": req }), hooks)
    }
}
