//! A container's `volumeMounts` as engine mounts, and the volumes `kube play` must
//! create for them (claims, ConfigMap and Secret files, emptyDirs), each once.

use super::sources::{SourceKind, Sources};
use super::{PlannedFile, PlannedVolume, VolumeOrigin};
use crate::kube::model::{FileMode, KeyToPath, PodSpec, Volume, VolumeMount};
use crate::kube::{quantity, valid_name, KubeError};
use berth_types::container::{MountKind, MountSpec};
use std::collections::BTreeMap;

/// Files of ConfigMap and Secret volumes get this mode unless told otherwise (0644,
/// as Kubernetes).
const DEFAULT_FILE_MODE: u32 = 0o644;

/// The volumes planned so far, by name.
#[derive(Debug, Default)]
pub(super) struct VolumePlanner {
    pub(super) volumes: Vec<PlannedVolume>,
}

/// A source's files: what a ConfigMap or Secret volume holds.
struct FileSource<'a> {
    kind: SourceKind,
    name: &'a str,
    items: &'a [KeyToPath],
    default_mode: Option<FileMode>,
    optional: bool,
}

impl VolumePlanner {
    /// Adds `volume` unless one of its name is there; the same name with other
    /// contents is an error.
    pub(super) fn add(&mut self, volume: PlannedVolume) -> Result<(), KubeError> {
        match self.volumes.iter().find(|v| v.name == volume.name) {
            Some(v) if *v == volume => Ok(()),
            Some(_) => Err(KubeError::VolumeConflict { name: volume.name }),
            None => {
                if !valid_name(&volume.name) {
                    return Err(KubeError::InvalidName {
                        what: "volume",
                        name: volume.name,
                    });
                }
                self.volumes.push(volume);
                Ok(())
            }
        }
    }

    /// The engine mount for `mount` of a container (`place` names it) of `pod`.
    pub(super) fn mount(
        &mut self,
        sources: &Sources,
        pod: &str,
        spec: &PodSpec,
        place: &str,
        mount: &VolumeMount,
    ) -> Result<MountSpec, KubeError> {
        let Some(volume) = spec.volumes.iter().find(|v| v.name == mount.name) else {
            return Err(KubeError::UndeclaredVolume {
                place: place.to_string(),
                volume: mount.name.clone(),
            });
        };
        if !mount.sub_path.is_empty() {
            return Err(KubeError::SubPath {
                place: place.to_string(),
                volume: mount.name.clone(),
            });
        }
        if mount.mount_path.is_empty() {
            return Err(KubeError::MissingField {
                place: format!("the mount of volume \"{}\" in {place}", mount.name),
                field: "mountPath",
            });
        }
        let (kind, source, mut read_only) = self.source(sources, pod, volume)?;
        read_only |= mount.read_only;
        let mut options = Vec::new();
        if read_only {
            options.push("ro".to_string());
        }
        if let Some(size) = volume
            .empty_dir
            .as_ref()
            .and_then(|e| e.size_limit.as_ref())
            .filter(|_| kind == MountKind::Tmpfs)
        {
            let bytes = quantity::bytes(&size.0).ok_or_else(|| KubeError::InvalidValue {
                place: volume_place(pod, &volume.name),
                field: "emptyDir.sizeLimit",
                value: size.0.clone(),
                expected: "a quantity such as 64Mi",
            })?;
            options.push(format!("size={bytes}"));
        }
        Ok(MountSpec {
            kind,
            source,
            destination: mount.mount_path.clone(),
            options,
        })
    }

    /// What `volume` mounts: the kind, the source, and whether it is always read-only.
    fn source(
        &mut self,
        sources: &Sources,
        pod: &str,
        volume: &Volume,
    ) -> Result<(MountKind, Option<String>, bool), KubeError> {
        let place = || volume_place(pod, &volume.name);
        let required = |value: &str, field| {
            if value.is_empty() {
                Err(KubeError::MissingField {
                    place: place(),
                    field,
                })
            } else {
                Ok(value.to_string())
            }
        };
        if let Some(host) = &volume.host_path {
            let path = required(&host.path, "hostPath.path")?;
            return Ok((MountKind::Bind, Some(path), false));
        }
        if let Some(claim) = &volume.persistent_volume_claim {
            let name = required(&claim.claim_name, "persistentVolumeClaim.claimName")?;
            if !valid_name(&name) {
                return Err(KubeError::InvalidName {
                    what: "volume",
                    name,
                });
            }
            return Ok((MountKind::Volume, Some(name), claim.read_only));
        }
        let files = if let Some(map) = &volume.config_map {
            FileSource {
                kind: SourceKind::ConfigMap,
                name: &map.name,
                items: &map.items,
                default_mode: map.default_mode,
                optional: map.optional,
            }
        } else if let Some(secret) = &volume.secret {
            FileSource {
                kind: SourceKind::Secret,
                name: &secret.secret_name,
                items: &secret.items,
                default_mode: secret.default_mode,
                optional: secret.optional,
            }
        } else if let Some(empty) = &volume.empty_dir {
            return match empty.medium.as_str() {
                "Memory" => Ok((MountKind::Tmpfs, None, false)),
                "" => {
                    let name = format!("{pod}-{}", volume.name);
                    self.add(PlannedVolume {
                        name: name.clone(),
                        origin: VolumeOrigin::EmptyDir,
                        labels: [("io.berth.kube.emptydir".to_string(), pod.to_string())].into(),
                        files: Vec::new(),
                    })?;
                    Ok((MountKind::Volume, Some(name), false))
                }
                other => Err(KubeError::InvalidValue {
                    place: place(),
                    field: "emptyDir.medium",
                    value: other.to_string(),
                    expected: "Memory or nothing",
                }),
            };
        } else {
            return Err(KubeError::VolumeWithoutSource {
                pod: pod.to_string(),
                volume: volume.name.clone(),
            });
        };
        let field = match files.kind {
            SourceKind::ConfigMap => "configMap.name",
            SourceKind::Secret => "secret.secretName",
        };
        let name = required(files.name, field)?;
        let label = match files.kind {
            SourceKind::ConfigMap => "io.berth.kube.configmap",
            SourceKind::Secret => "io.berth.kube.secret",
        };
        let planned = PlannedVolume {
            name: name.clone(),
            origin: match files.kind {
                SourceKind::ConfigMap => VolumeOrigin::ConfigMap,
                SourceKind::Secret => VolumeOrigin::Secret,
            },
            labels: [(label.to_string(), name.clone())].into(),
            files: planned_files(sources, &place(), &files)?,
        };
        self.add(planned)?;
        Ok((MountKind::Volume, Some(name), true))
    }
}

fn volume_place(pod: &str, volume: &str) -> String {
    format!("volume \"{volume}\" of pod \"{pod}\"")
}

/// The files of a ConfigMap or Secret volume: every key, or the `items` asked for.
fn planned_files(
    sources: &Sources,
    place: &str,
    src: &FileSource,
) -> Result<Vec<PlannedFile>, KubeError> {
    let mode = src.default_mode.map_or(DEFAULT_FILE_MODE, |m| m.0);
    let empty = BTreeMap::new();
    let keys = match sources.get(src.kind, src.name) {
        Some(keys) => keys,
        None if src.optional => &empty,
        None => {
            return Err(KubeError::MissingSource {
                place: place.to_string(),
                kind: src.kind.name(),
                name: src.name.to_string(),
            })
        }
    };
    let file = |path: &str, data: &[u8], mode: u32| {
        if !valid_path(path) {
            return Err(KubeError::InvalidFilePath {
                path: path.to_string(),
                volume: src.name.to_string(),
            });
        }
        Ok(PlannedFile {
            path: path.to_string(),
            data: data.to_vec(),
            mode,
        })
    };
    if src.items.is_empty() {
        return keys.iter().map(|(k, v)| file(k, v, mode)).collect();
    }
    let mut out = Vec::new();
    for item in src.items {
        match keys.get(&item.key) {
            Some(data) => out.push(file(&item.path, data, item.mode.map_or(mode, |m| m.0))?),
            None if src.optional => {}
            None => {
                return Err(KubeError::MissingKey {
                    place: place.to_string(),
                    kind: src.kind.name(),
                    name: src.name.to_string(),
                    key: item.key.clone(),
                })
            }
        }
    }
    Ok(out)
}

/// A path inside a volume: relative, no empty or `..` parts.
fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path.split('/').all(|part| !part.is_empty() && part != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_paths_stay_inside_the_volume() {
        for ok in ["a", "a/b.txt", "..a", "a..b/c"] {
            assert!(valid_path(ok), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a/", ".."] {
            assert!(!valid_path(bad), "{bad}");
        }
    }

    #[test]
    fn the_same_volume_twice_is_kept_once_and_a_different_one_refused() {
        let v = PlannedVolume {
            name: "data".into(),
            origin: VolumeOrigin::Claim,
            labels: BTreeMap::new(),
            files: Vec::new(),
        };
        let mut planner = VolumePlanner::default();
        planner.add(v.clone()).expect("first");
        planner.add(v.clone()).expect("same again");
        assert_eq!(planner.volumes.len(), 1);
        let other = PlannedVolume {
            origin: VolumeOrigin::ConfigMap,
            ..v
        };
        let err = planner.add(other).expect_err("conflict");
        assert!(
            err.to_string()
                .starts_with("volume \"data\" is wanted twice"),
            "{err}"
        );
    }
}
