//! Pull and push progress for people: bars (indicatif) when stderr is a terminal,
//! Podman-style lines when it is a pipe, nothing with `--quiet`.

use berth_types::progress::{BlobKind, ProgressEvent, ProgressSink};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

pub enum Reporter {
    Quiet,
    Lines {
        verb: &'static str,
    },
    Bars {
        multi: MultiProgress,
        bars: Mutex<HashMap<String, (ProgressBar, BlobKind)>>,
        verb: &'static str,
    },
}

impl Reporter {
    /// Chooses bars, lines or silence for this terminal. `verb` is "Copying" or "Pushing".
    pub fn new(quiet: bool, verb: &'static str) -> Reporter {
        if quiet {
            Reporter::Quiet
        } else if std::io::stderr().is_terminal() {
            Reporter::Bars {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(8)),
                bars: Mutex::new(HashMap::new()),
                verb,
            }
        } else {
            Reporter::Lines { verb }
        }
    }

    /// A line outside the bars (`Getting image source signatures`).
    pub fn line(&self, text: &str) {
        match self {
            Reporter::Quiet => {}
            Reporter::Lines { .. } => eprintln_flush(text),
            Reporter::Bars { multi, .. } => {
                let _ = multi.println(text);
            }
        }
    }
}

fn eprintln_flush(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
    let _ = err.flush();
}

fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(12)]
}

fn kind_word(kind: BlobKind) -> &'static str {
    match kind {
        BlobKind::Layer => "blob",
        BlobKind::Config => "config",
        BlobKind::Manifest => "manifest",
    }
}

impl ProgressSink for Reporter {
    fn event(&self, event: ProgressEvent) {
        match (self, event) {
            (Reporter::Quiet, _) => {}
            (_, ProgressEvent::Trying { reference }) => {
                self.line(&format!("Trying to pull {reference}..."));
                self.line("Getting image source signatures");
            }
            (Reporter::Lines { verb }, ProgressEvent::BlobStarted { kind, digest, .. }) => {
                eprintln_flush(&format!("{verb} {} {digest}", kind_word(kind)));
            }
            (Reporter::Lines { verb }, ProgressEvent::BlobSkipped { kind, digest }) => {
                eprintln_flush(&format!(
                    "{verb} {} {digest} skipped: already exists",
                    kind_word(kind)
                ));
            }
            (
                Reporter::Lines { .. },
                ProgressEvent::BlobProgress { .. } | ProgressEvent::BlobDone { .. },
            ) => {}
            (_, ProgressEvent::WritingManifest) => {
                self.line("Writing manifest to image destination")
            }
            (Reporter::Bars { multi, bars, verb }, event) => {
                let mut bars = bars.lock().unwrap_or_else(|p| p.into_inner());
                match event {
                    ProgressEvent::BlobStarted {
                        kind,
                        digest,
                        total,
                    } => {
                        let bar = multi.add(ProgressBar::new(total.unwrap_or(0)));
                        bar.set_style(
                            ProgressStyle::with_template(
                                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                            )
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                        );
                        bar.set_message(format!("{verb} {} {}", kind_word(kind), short(&digest)));
                        bars.insert(digest, (bar, kind));
                    }
                    ProgressEvent::BlobSkipped { kind, digest } => {
                        let _ = multi.println(format!(
                            "{verb} {} {} skipped: already exists",
                            kind_word(kind),
                            short(&digest)
                        ));
                    }
                    ProgressEvent::BlobProgress { digest, done } => {
                        if let Some((bar, _)) = bars.get(&digest) {
                            bar.set_position(done);
                        }
                    }
                    ProgressEvent::BlobDone { digest } => {
                        if let Some((bar, kind)) = bars.remove(&digest) {
                            bar.finish_with_message(format!(
                                "{verb} {} {} done",
                                kind_word(kind),
                                short(&digest)
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}
