//! The `Engine` trait: the one interface behind every front end. The local engine
//! (berth-engine) implements it on Linux; the API client implements it remotely.

use crate::container::*;
use crate::error::Result;
use crate::image::*;
use crate::network::*;
use crate::pod::*;
use crate::progress::ProgressSink;
use crate::system::*;
use crate::volume::*;
use std::io::{Read, Write};

/// Everything a front end can ask of Berth. Calls block; long ones report progress.
pub trait Engine: Send + Sync {
    fn version(&self) -> Result<VersionInfo>;
    fn info(&self) -> Result<SystemInfo>;
    fn disk_usage(&self) -> Result<Vec<DiskUsageRow>>;
    /// Removes every image, layer and piece of state in the store.
    fn reset(&self) -> Result<()>;

    fn pull_image(&self, req: &PullRequest, progress: &dyn ProgressSink) -> Result<PullReport>;
    fn push_image(&self, req: &PushRequest, progress: &dyn ProgressSink) -> Result<PushReport>;
    /// Looks for repositories (or, with `list_tags`, a repository's tags) in registries.
    fn search_images(&self, req: &SearchRequest) -> Result<Vec<SearchResult>>;
    fn list_images(&self, req: &ListImagesRequest) -> Result<Vec<ImageSummary>>;
    fn inspect_image(&self, name: &str) -> Result<ImageInspect>;
    fn image_exists(&self, name: &str) -> Result<bool>;
    fn image_history(&self, name: &str) -> Result<Vec<HistoryRow>>;
    /// Adds `new_names` to the image `name`.
    fn tag_image(&self, name: &str, new_names: &[String]) -> Result<()>;
    /// Removes `names` from the image (all of its names when `names` is empty).
    fn untag_image(&self, name: &str, names: &[String]) -> Result<Vec<String>>;
    fn remove_images(&self, req: &RemoveImagesRequest) -> Result<RemoveImagesReport>;
    /// Removes dangling (or, with `all`, all unused) images; returns the removed IDs.
    fn prune_images(&self, req: &PruneImagesRequest) -> Result<Vec<String>>;
    fn save_images(&self, req: &SaveRequest, out: &mut dyn Write) -> Result<()>;
    /// Loads images from an archive stream; returns the names (or IDs) loaded.
    fn load_images(&self, input: &mut dyn Read) -> Result<Vec<String>>;

    /// Checks the credentials against the registry and stores them.
    fn login(&self, req: &LoginRequest) -> Result<()>;
    /// Forgets stored credentials; `None` forgets all. Returns whether any were removed.
    fn logout(&self, registry: Option<&str>, authfile: Option<&std::path::Path>) -> Result<bool>;

    /// Stores a secret; returns its ID.
    fn create_secret(&self, req: &crate::secret::SecretCreateRequest) -> Result<String>;
    fn list_secrets(&self) -> Result<Vec<crate::secret::SecretInfo>>;
    fn inspect_secret(&self, name: &str) -> Result<crate::secret::SecretInfo>;
    fn secret_exists(&self, name: &str) -> Result<bool>;
    /// Removes secrets (by name or ID; `all`: every one); returns their IDs.
    fn remove_secrets(&self, names: &[String], all: bool) -> Result<Vec<String>>;

    fn create_volume(&self, req: &VolumeCreateRequest) -> Result<String>;
    fn list_volumes(&self, filters: &[String]) -> Result<Vec<VolumeInspect>>;
    fn inspect_volume(&self, name: &str) -> Result<VolumeInspect>;
    fn volume_exists(&self, name: &str) -> Result<bool>;
    /// Removes volumes; returns the names removed.
    fn remove_volumes(&self, req: &VolumeRemoveRequest) -> Result<Vec<String>>;
    /// Removes unused volumes; returns the names removed.
    fn prune_volumes(&self, filters: &[String]) -> Result<Vec<String>>;

    fn create_container(
        &self,
        req: &ContainerCreateRequest,
        progress: &dyn ProgressSink,
    ) -> Result<ContainerCreated>;
    /// Starts a container; with `attach`, relays its stdio until it exits or the user detaches.
    fn start_container(
        &self,
        name: &str,
        attach: Option<AttachStreams<'_>>,
    ) -> Result<Option<AttachEnd>>;
    /// Attaches to a running container.
    fn attach_container(&self, name: &str, attach: AttachStreams<'_>) -> Result<AttachEnd>;
    /// Stops a container (stop signal, then SIGKILL after `timeout` seconds); returns its ID.
    fn stop_container(&self, name: &str, timeout: Option<u32>) -> Result<String>;
    fn kill_container(&self, name: &str, signal: &str) -> Result<String>;
    /// Removes containers; each name gets its ID or its error.
    fn remove_containers(&self, req: &RemoveContainersRequest) -> Result<Vec<Result<String>>>;
    fn list_containers(&self, req: &ListContainersRequest) -> Result<Vec<ContainerSummary>>;
    /// Podman's inspect document.
    fn inspect_container(&self, name: &str) -> Result<serde_json::Value>;
    fn container_exists(&self, name: &str) -> Result<bool>;
    /// Waits until the container reaches `condition` (`stopped`, `exited`, `running`…); returns its exit code.
    fn wait_container(&self, name: &str, condition: &str) -> Result<i32>;
    /// Calls `sink` for each log line; follows the log while `follow` and the container runs.
    fn container_logs(
        &self,
        req: &LogsRequest,
        sink: &mut dyn FnMut(&LogLine) -> bool,
    ) -> Result<()>;
    /// `container_logs`, a follower also ending once `wanted` says its reader has gone
    /// (a service's client that hung up), even while the container is quiet.
    fn container_logs_while(
        &self,
        req: &LogsRequest,
        sink: &mut dyn FnMut(&LogLine) -> bool,
        wanted: &(dyn Fn() -> bool + Sync),
    ) -> Result<()> {
        let _ = wanted;
        self.container_logs(req, sink)
    }
    /// Runs a command in a running container; returns its exit code (0 when detached).
    fn exec_container(&self, name: &str, req: &ExecRequest, io: AttachStreams<'_>) -> Result<i32>;
    /// Stops (if running) and starts again; returns the ID.
    fn restart_container(&self, name: &str, timeout: Option<u32>) -> Result<String>;
    fn pause_container(&self, name: &str) -> Result<String>;
    fn unpause_container(&self, name: &str) -> Result<String>;
    fn rename_container(&self, name: &str, new_name: &str) -> Result<()>;
    /// Changes resource limits (the `Some` ones), at once if it runs; returns its ID.
    fn update_container(&self, name: &str, resources: &Resources) -> Result<String>;
    /// Removes every stopped container; returns their IDs.
    fn prune_containers(&self) -> Result<Vec<String>>;
    fn container_diff(&self, name: &str) -> Result<Vec<Change>>;
    fn export_container(&self, name: &str, out: &mut dyn Write) -> Result<()>;
    /// Returns the new image's ID.
    fn commit_container(&self, req: &CommitRequest) -> Result<String>;
    /// Returns the new image's ID.
    fn import_image(&self, req: &ImportRequest, input: &mut dyn Read) -> Result<String>;
    /// Writes `path` of the container (file or tree) to `out` as a tar stream.
    fn copy_from_container(&self, name: &str, path: &str, out: &mut dyn Write) -> Result<()>;
    /// Unpacks the tar stream `input` into directory `path` of the container.
    fn copy_to_container(&self, name: &str, path: &str, input: &mut dyn Read) -> Result<()>;
    /// Whether `path` exists in the container, and whether it is a directory.
    fn container_path_kind(&self, name: &str, path: &str) -> Result<Option<bool>>;
    /// What `path` is in the container (resolved inside its root), or `None` if absent.
    fn container_path_stat(
        &self,
        name: &str,
        path: &str,
    ) -> Result<Option<crate::container::PathStat>>;
    /// `top`: a header row, then one row per process, for the ps-style descriptors.
    fn top_container(&self, name: &str, descriptors: &[String]) -> Result<Vec<Vec<String>>>;
    /// Resource use of the named running containers (all running ones when `names` is empty).
    fn container_stats(&self, names: &[String]) -> Result<Vec<ContainerStats>>;
    /// Runs the container's health check once; returns `healthy`, `unhealthy` or `starting`.
    fn healthcheck_run(&self, name: &str) -> Result<String>;

    /// Returns the network as created.
    fn create_network(&self, req: &NetworkCreateRequest) -> Result<Network>;
    /// Every network, the default one included, filtered (`name=`, `id=`, `driver=`, `label=`…).
    fn list_networks(&self, filters: &[String]) -> Result<Vec<Network>>;
    fn inspect_network(&self, name: &str) -> Result<Network>;
    fn network_exists(&self, name: &str) -> Result<bool>;
    /// Removes a network (with `force`, its containers first); returns the name.
    fn remove_network(&self, name: &str, force: bool) -> Result<String>;
    /// Removes the networks no container uses; returns their names.
    fn prune_networks(&self, filters: &[String]) -> Result<Vec<String>>;
    fn connect_network(&self, container: &str, attachment: &NetworkAttachment) -> Result<()>;
    fn disconnect_network(&self, container: &str, network: &str, force: bool) -> Result<()>;
    /// Creates a pod (and its infra container); returns its ID and warnings.
    fn create_pod(
        &self,
        req: &PodCreateRequest,
        progress: &dyn ProgressSink,
    ) -> Result<ContainerCreated>;
    /// Starts the pod's containers (the infra container and init containers first).
    fn start_pod(&self, name: &str) -> Result<String>;
    /// Stops the pod's containers (the infra container last).
    fn stop_pod(&self, name: &str, timeout: Option<u32>) -> Result<String>;
    fn restart_pod(&self, name: &str) -> Result<String>;
    fn kill_pod(&self, name: &str, signal: &str) -> Result<String>;
    /// Pauses (or, with `resume`, unpauses) the pod's running containers.
    fn pause_pod(&self, name: &str, resume: bool) -> Result<String>;
    /// Removes pods with their containers; each name gets its ID or its error.
    fn remove_pods(&self, req: &RemovePodsRequest) -> Result<Vec<Result<String>>>;
    /// Every pod, filtered (`name=`, `id=`, `label=`, `status=`, `ctr-names=`…).
    fn list_pods(&self, filters: &[String]) -> Result<Vec<PodSummary>>;
    /// Podman's pod inspect document.
    fn inspect_pod(&self, name: &str) -> Result<serde_json::Value>;
    fn pod_exists(&self, name: &str) -> Result<bool>;
    /// Removes every pod with no running container; returns their IDs.
    fn prune_pods(&self) -> Result<Vec<String>>;

    /// Creates (and starts) what a Kubernetes YAML describes.
    fn play_kube(
        &self,
        req: &KubePlayRequest,
        progress: &dyn ProgressSink,
    ) -> Result<KubePlayReport>;
    /// Removes what `play_kube` created from the same YAML.
    fn down_kube(&self, yaml: &str) -> Result<KubeDownReport>;
    /// Kubernetes YAML for pods or containers (with `service`, a Service for each pod).
    fn generate_kube(&self, names: &[String], service: bool) -> Result<String>;

    /// Sets the containers' network up again (firewall rules lost to a reload); returns their IDs.
    fn reload_networks(&self, containers: &[String], all: bool) -> Result<Vec<String>>;

    /// Calls `sink` with each event that passes the request's filters, oldest first;
    /// following, also with `None` now and then while none comes. Ends when `sink`
    /// returns false, or when the events are read (not following) or `until` passed.
    fn events(
        &self,
        req: &crate::event::EventsRequest,
        sink: &mut dyn FnMut(Option<&crate::event::Event>) -> bool,
    ) -> Result<()>;
}
