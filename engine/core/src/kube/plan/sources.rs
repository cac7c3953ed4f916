//! The ConfigMaps and Secrets of a YAML text, decoded to bytes, that containers take
//! environment variables and volume files from; and the engine secrets Secrets become.

use crate::kube::model::{ConfigMap, Secret};
use crate::kube::KubeError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use berth_types::secret::SecretCreateRequest;
use std::collections::BTreeMap;

/// Which of the two a reference names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SourceKind {
    ConfigMap,
    Secret,
}

impl SourceKind {
    pub(super) fn name(self) -> &'static str {
        match self {
            SourceKind::ConfigMap => "ConfigMap",
            SourceKind::Secret => "Secret",
        }
    }
}

/// Keys and their bytes, by name.
type Maps = BTreeMap<String, BTreeMap<String, Vec<u8>>>;

#[derive(Debug, Default)]
pub(super) struct Sources {
    config_maps: Maps,
    secrets: Maps,
}

fn decode(kind: SourceKind, name: &str, key: &str, text: &str) -> Result<Vec<u8>, KubeError> {
    let compact: String = text.split_ascii_whitespace().collect();
    STANDARD
        .decode(compact)
        .map_err(|_| KubeError::InvalidBase64 {
            kind: kind.name(),
            name: name.to_string(),
            key: key.to_string(),
        })
}

impl Sources {
    pub(super) fn add_config_map(&mut self, map: &ConfigMap) -> Result<(), KubeError> {
        let name = &map.metadata.name;
        let mut keys: BTreeMap<String, Vec<u8>> = map
            .data
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
            .collect();
        for (k, v) in &map.binary_data {
            keys.insert(k.clone(), decode(SourceKind::ConfigMap, name, k, v)?);
        }
        if self.config_maps.insert(name.clone(), keys).is_some() {
            return Err(KubeError::Duplicate {
                kind: "ConfigMap",
                name: name.clone(),
            });
        }
        Ok(())
    }

    /// Records the Secret and returns the engine secret it becomes: a JSON object of
    /// its keys and their text.
    pub(super) fn add_secret(&mut self, secret: &Secret) -> Result<SecretCreateRequest, KubeError> {
        let name = &secret.metadata.name;
        let mut keys = BTreeMap::new();
        for (k, v) in &secret.data {
            keys.insert(k.clone(), decode(SourceKind::Secret, name, k, v)?);
        }
        for (k, v) in &secret.string_data {
            keys.insert(k.clone(), v.clone().into_bytes());
        }
        let mut texts = serde_json::Map::new();
        for (k, v) in &keys {
            let text = text_of(SourceKind::Secret, name, k, v)?;
            texts.insert(k.clone(), serde_json::Value::String(text.to_string()));
        }
        let data = serde_json::to_vec(&texts).map_err(|source| KubeError::SecretJson {
            name: name.clone(),
            source,
        })?;
        if self.secrets.insert(name.clone(), keys).is_some() {
            return Err(KubeError::Duplicate {
                kind: "Secret",
                name: name.clone(),
            });
        }
        Ok(SecretCreateRequest {
            name: name.clone(),
            data,
            driver: "file".into(),
            labels: secret.metadata.labels.clone(),
        })
    }

    /// The keys of the map or secret `name`, if the YAML has it.
    pub(super) fn get(&self, kind: SourceKind, name: &str) -> Option<&BTreeMap<String, Vec<u8>>> {
        match kind {
            SourceKind::ConfigMap => self.config_maps.get(name),
            SourceKind::Secret => self.secrets.get(name),
        }
    }

    /// One key as text (for an environment variable); `None` when it is missing and
    /// `optional`.
    pub(super) fn value(
        &self,
        place: &str,
        kind: SourceKind,
        name: &str,
        key: &str,
        optional: bool,
    ) -> Result<Option<String>, KubeError> {
        let Some(keys) = self.get(kind, name) else {
            return missing(optional, || KubeError::MissingSource {
                place: place.to_string(),
                kind: kind.name(),
                name: name.to_string(),
            });
        };
        let Some(bytes) = keys.get(key) else {
            return missing(optional, || KubeError::MissingKey {
                place: place.to_string(),
                kind: kind.name(),
                name: name.to_string(),
                key: key.to_string(),
            });
        };
        Ok(Some(text_of(kind, name, key, bytes)?.to_string()))
    }

    /// Every key as text, in key order (for `envFrom`); empty when the source is
    /// missing and `optional`.
    pub(super) fn values(
        &self,
        place: &str,
        kind: SourceKind,
        name: &str,
        optional: bool,
    ) -> Result<Vec<(String, String)>, KubeError> {
        let Some(keys) = self.get(kind, name) else {
            return match optional {
                true => Ok(Vec::new()),
                false => Err(KubeError::MissingSource {
                    place: place.to_string(),
                    kind: kind.name(),
                    name: name.to_string(),
                }),
            };
        };
        keys.iter()
            .map(|(k, v)| Ok((k.clone(), text_of(kind, name, k, v)?.to_string())))
            .collect()
    }
}

fn missing<T>(optional: bool, err: impl FnOnce() -> KubeError) -> Result<Option<T>, KubeError> {
    if optional {
        Ok(None)
    } else {
        Err(err())
    }
}

fn text_of<'a>(
    kind: SourceKind,
    name: &str,
    key: &str,
    bytes: &'a [u8],
) -> Result<&'a str, KubeError> {
    std::str::from_utf8(bytes).map_err(|_| KubeError::NotText {
        kind: kind.name(),
        name: name.to_string(),
        key: key.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::model::ObjectMeta;

    fn secret(data: &[(&str, &str)], string_data: &[(&str, &str)]) -> Secret {
        let map = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        Secret {
            metadata: ObjectMeta {
                name: "creds".into(),
                labels: [("app".to_string(), "web".to_string())].into(),
                ..Default::default()
            },
            data: map(data),
            string_data: map(string_data),
            ..Default::default()
        }
    }

    #[test]
    fn secret_becomes_a_json_engine_secret() {
        let mut sources = Sources::default();
        let req = sources
            .add_secret(&secret(
                &[("user", "YWRtaW4="), ("pw", "eA==")],
                &[("pw", "hunter2")],
            ))
            .expect("valid");
        assert_eq!(req.name, "creds");
        assert_eq!(req.driver, "file");
        assert_eq!(req.labels["app"], "web");
        let json: serde_json::Value = serde_json::from_slice(&req.data).expect("json");
        assert_eq!(json, serde_json::json!({"pw": "hunter2", "user": "admin"}));
        let v = sources.value("pod \"p\"", SourceKind::Secret, "creds", "user", false);
        assert_eq!(v.expect("present"), Some("admin".to_string()));
    }

    #[test]
    fn bad_base64_and_binary_secrets_are_refused() {
        let err = Sources::default()
            .add_secret(&secret(&[("k", "not base64!")], &[]))
            .expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "Secret \"creds\" key \"k\" is not valid base64"
        );
        let err = Sources::default()
            .add_secret(&secret(&[("k", "/w==")], &[]))
            .expect_err("binary");
        assert_eq!(
            err.to_string(),
            "Secret \"creds\" key \"k\" is not UTF-8 text"
        );
    }

    #[test]
    fn missing_sources_and_keys_are_errors_unless_optional() {
        let sources = Sources::default();
        let place = "container \"c\" of pod \"p\"";
        let err = sources
            .value(place, SourceKind::ConfigMap, "cfg", "k", false)
            .expect_err("missing");
        assert_eq!(
            err.to_string(),
            "container \"c\" of pod \"p\" uses ConfigMap \"cfg\", which is not in the YAML"
        );
        let v = sources.value(place, SourceKind::ConfigMap, "cfg", "k", true);
        assert_eq!(v.expect("optional"), None);
        let v = sources.values(place, SourceKind::Secret, "s", true);
        assert_eq!(v.expect("optional"), Vec::new());
    }
}
