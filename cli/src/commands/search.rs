//! `berth search`: repositories matching a term in registries' catalogs, or with
//! `--list-tags` a repository's tags, in Podman's table (or Docker's with `--compatible`).

use crate::cli::RegistryArgs;
use crate::exit;
use crate::output::print_list;
use berth_types::image::{RegistryOptions, SearchRequest, SearchResult};
use berth_types::Engine;
use clap::Args;
use serde_json::{json, Value};

#[derive(Args, Debug)]
pub struct SearchArgs {
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Use `USERNAME[:PASSWORD]` for accessing the registry
    #[arg(long, value_name = "USERNAME[:PASSWORD]")]
    pub creds: Option<String>,
    /// Filter output based on conditions provided (stars=N, is-official, is-automated)
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Change the output format to JSON or a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Limit the number of results per registry (default 25)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub limit: usize,
    /// List the tags of the repository TERM names
    #[arg(long = "list-tags")]
    pub list_tags: bool,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Print Docker's columns (NAME DESCRIPTION STARS OFFICIAL AUTOMATED)
    #[arg(long)]
    pub compatible: bool,
    /// What to look for: TERM, or REGISTRY/TERM for one registry (REGISTRY/ for all of it)
    #[arg(value_name = "TERM")]
    pub term: String,
}

const HEADERS: &[(&str, &str)] = &[
    ("Index", "INDEX"),
    ("Name", "NAME"),
    ("Description", "DESCRIPTION"),
    ("Stars", "STARS"),
    ("Official", "OFFICIAL"),
    ("Automated", "AUTOMATED"),
    ("Tag", "TAG"),
];

/// Descriptions longer than this are cut (with `...`) unless `--no-trunc`.
const DESCRIPTION_WIDTH: usize = 44;

fn ok(flag: bool) -> &'static str {
    if flag {
        "[OK]"
    } else {
        ""
    }
}

fn row(r: &SearchResult, no_trunc: bool) -> Value {
    let mut description = r.description.replace('\n', " ");
    if !no_trunc && description.chars().count() > DESCRIPTION_WIDTH {
        description = description
            .chars()
            .take(DESCRIPTION_WIDTH - 3)
            .collect::<String>()
            + "...";
    }
    json!({
        "Index": r.index,
        "Name": r.name,
        "Description": description,
        "Stars": r.stars,
        "Official": ok(r.official),
        "Automated": ok(r.automated),
        "Tag": r.tag,
    })
}

pub fn run(engine: &dyn Engine, a: SearchArgs) -> anyhow::Result<i32> {
    if a.list_tags && !a.filter.is_empty() {
        return Err(exit::with_code(
            exit::ENGINE,
            "--filter cannot be used with --list-tags",
        ));
    }
    let req = SearchRequest {
        term: a.term.clone(),
        limit: a.limit,
        filters: a.filter.clone(),
        list_tags: a.list_tags,
        registry: RegistryOptions {
            tls_verify: a.registry.tls_verify,
            cert_dir: a.registry.cert_dir.clone(),
            credentials: super::parse_creds(a.creds.as_deref())?,
            authfile: a.registry.authfile.clone(),
        },
    };
    let results = engine.search_images(&req).map_err(exit::engine)?;
    let items: Vec<Value> = results.iter().map(|r| row(r, a.no_trunc)).collect();
    let default = if a.list_tags {
        "table {{.Name}}\t{{.Tag}}"
    } else if a.compatible {
        "table {{.Name}}\t{{.Description}}\t{{.Stars}}\t{{.Official}}\t{{.Automated}}"
    } else {
        "table {{.Name}}\t{{.Description}}"
    };
    let json_rows = || Ok(Value::Array(items.clone()));
    print_list(
        a.format.as_deref(),
        default,
        HEADERS,
        &items,
        &json_rows,
        false,
    )?;
    Ok(0)
}
