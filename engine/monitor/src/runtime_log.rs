//! The useful part of what an OCI runtime says when it fails: runc and crun write JSON
//! lines (`--log-format json`) or `level=error msg=…` text; the last message counts.

pub fn message(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    let mut last = None;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
            if let Some(m) = v.get("msg").and_then(|m| m.as_str()) {
                last = Some(m.to_string());
                continue;
            }
        }
        last = Some(match line.find("msg=") {
            Some(i) => line[i + 4..].trim_matches('"').to_string(),
            None => line.trim().to_string(),
        });
    }
    last.unwrap_or_else(|| "failed without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_error_line_is_the_message() {
        let runc = b"time=\"2024\" level=error msg=\"container_linux.go:380: starting container process caused: exec: \\\"nope\\\": executable file not found in $PATH\"\n";
        assert!(message(runc).contains("executable file not found"));
        let crun = br#"{"msg": "executable file `nope` not found in $PATH: No such file or directory", "level": "error"}"#;
        assert_eq!(
            message(crun),
            "executable file `nope` not found in $PATH: No such file or directory"
        );
        assert_eq!(message(b""), "failed without a message");
    }
}
