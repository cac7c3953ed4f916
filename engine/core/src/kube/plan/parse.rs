//! YAML text → Kubernetes objects: documents split on `---`, empty ones skipped, each
//! read by its `kind`, errors numbered by document and placed by line and column.

use crate::kube::model::{Document, SUPPORTED_KINDS};
use crate::kube::KubeError;
use serde::Deserialize;
use serde_yaml::Value;

fn yaml_error(document: usize, err: &serde_yaml::Error) -> KubeError {
    let location = err.location().map(|l| (l.line(), l.column()));
    let mut reason = err.to_string();
    if let Some((line, column)) = location {
        // serde_yaml's text ends with the place we already give.
        reason = reason.replacen(&format!(" at line {line} column {column}"), "", 1);
    }
    KubeError::Yaml {
        document,
        location,
        reason,
    }
}

/// What a document is, read before its fields.
enum Head {
    Empty,
    Kind(&'static str),
}

fn head(document: usize, value: &Value) -> Result<Head, KubeError> {
    let map = match value {
        Value::Null => return Ok(Head::Empty),
        Value::Mapping(map) => map,
        _ => return Err(KubeError::NotAnObject { document }),
    };
    let kind = match map.get("kind") {
        Some(Value::String(kind)) => kind,
        None | Some(Value::Null) => return Err(KubeError::MissingKind { document }),
        Some(_) => return Err(KubeError::NotAnObject { document }),
    };
    match SUPPORTED_KINDS.iter().find(|k| **k == kind.as_str()) {
        Some(k) => Ok(Head::Kind(k)),
        None => Err(KubeError::UnsupportedKind {
            kind: kind.clone(),
            document,
        }),
    }
}

/// Every non-empty document of `text`, in order.
pub fn parse(text: &str) -> Result<Vec<Document>, KubeError> {
    // First pass: syntax and kinds. Second pass: each document read as its kind, so
    // that a wrong field type is reported at its place in the text.
    let mut heads = Vec::new();
    for (i, de) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(de).map_err(|e| yaml_error(i + 1, &e))?;
        heads.push(head(i + 1, &value)?);
    }
    let mut docs = Vec::new();
    for (i, (de, head)) in serde_yaml::Deserializer::from_str(text)
        .zip(heads)
        .enumerate()
    {
        let document = i + 1;
        let Head::Kind(kind) = head else { continue };
        let doc = match kind {
            "Pod" => Deserialize::deserialize(de).map(Document::Pod),
            "Deployment" => Deserialize::deserialize(de).map(Document::Deployment),
            "PersistentVolumeClaim" => {
                Deserialize::deserialize(de).map(Document::PersistentVolumeClaim)
            }
            "ConfigMap" => Deserialize::deserialize(de).map(Document::ConfigMap),
            "Secret" => Deserialize::deserialize(de).map(Document::Secret),
            _ => Deserialize::deserialize(de).map(Document::Service),
        }
        .map_err(|e| yaml_error(document, &e))?;
        if doc.metadata().name.is_empty() {
            return Err(KubeError::MissingName { kind, document });
        }
        docs.push(doc);
    }
    if docs.is_empty() {
        return Err(KubeError::NoObjects);
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text).expect_err("invalid").to_string()
    }

    #[test]
    fn documents_are_read_by_kind_and_empty_ones_skipped() {
        let docs = parse(
            "---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: b}\n\
             ---\nkind: Service\nmetadata: {name: svc}\n---\n",
        )
        .expect("valid");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].kind(), "ConfigMap");
        assert_eq!(docs[0].metadata().name, "cfg");
        assert_eq!(docs[1].kind(), "Service");
    }

    #[test]
    fn syntax_errors_give_document_line_and_column() {
        let msg = err("kind: Pod\nmetadata: {name: a}\n---\nkind: Pod\nmetadata:\n  name: [b\n");
        assert!(
            msg.starts_with("invalid YAML in document 2 at line "),
            "{msg}"
        );
        assert!(msg.contains("column "), "{msg}");
        assert!(!msg.contains(" column 1 column"), "{msg}");
    }

    #[test]
    fn type_errors_give_their_place() {
        let msg = err("kind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: many\n");
        assert!(
            msg.starts_with("invalid YAML in document 1 at line 4, column 13: "),
            "{msg}"
        );
        assert!(msg.contains("invalid type"), "{msg}");
    }

    #[test]
    fn unsupported_kind_is_named_with_its_document() {
        assert_eq!(
            err("kind: Pod\nmetadata: {name: a}\n---\nkind: Job\nmetadata: {name: j}\n"),
            "unsupported kind \"Job\" in document 2: supported kinds are Pod, Deployment, \
             PersistentVolumeClaim, ConfigMap, Secret, Service"
        );
    }

    #[test]
    fn kind_and_name_are_required() {
        assert_eq!(err("metadata: {name: a}\n"), "document 1 has no kind");
        assert_eq!(
            err("kind: ConfigMap\nmetadata: {name: a}\n---\nkind: Pod\nspec: {}\n"),
            "the Pod in document 2 has no metadata.name"
        );
        assert_eq!(
            err("just text\n"),
            "document 1 is not a Kubernetes object (a mapping with kind and metadata)"
        );
        assert_eq!(err(""), "the YAML holds no Kubernetes objects");
        assert_eq!(err("---\n---\n"), "the YAML holds no Kubernetes objects");
    }
}
