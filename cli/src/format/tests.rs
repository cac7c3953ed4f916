//! Behaviour tests for `--format` classification, normalisation and table output.

use super::*;
use serde_json::json;

const IMAGE_HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE ID"),
    ("ReadOnly", "R/O"),
    ("CreatedSince", "CREATED"),
];
const DEFAULT_TABLE: &str = "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}";

fn images() -> Vec<Value> {
    vec![
        json!({"Repository": "docker.io/library/alpine", "Tag": "3.19", "ID": "8f2a1c3b4d5e", "Names": ["a", "b"],
               "ReadOnly": false, "Size": 7340032, "CreatedSince": "2 weeks ago", "Labels": {"version": "1"}}),
        json!({"Repository": "quay.io/podman/hello", "Tag": "latest", "ID": "0123456789ab", "Names": [],
               "ReadOnly": true, "Size": 812, "CreatedSince": "3 days ago", "Labels": null}),
    ]
}

fn out(format: &str) -> String {
    let rendered = OutputFormat::parse(format)
        .map_err(FormatError::from)
        .and_then(|f| render_items(&f, &images(), IMAGE_HEADERS, DEFAULT_TABLE));
    match rendered {
        Ok(s) => s,
        Err(e) => format!("ERR {e}"),
    }
}

#[test]
fn parse_classifies_json_table_and_templates() {
    assert!(matches!(
        OutputFormat::parse("json"),
        Ok(OutputFormat::Json)
    ));
    assert!(matches!(
        OutputFormat::parse(" {{ json }} "),
        Ok(OutputFormat::Json)
    ));
    assert!(matches!(
        OutputFormat::parse("{{json.}}"),
        Ok(OutputFormat::Json)
    ));
    assert!(matches!(
        OutputFormat::parse("{{json .}}"),
        Ok(OutputFormat::Plain(_))
    ));
    assert!(matches!(
        OutputFormat::parse("table"),
        Ok(OutputFormat::DefaultTable { header: true })
    ));
    assert!(matches!(
        OutputFormat::parse(""),
        Ok(OutputFormat::DefaultTable { header: true })
    ));
    assert!(matches!(
        OutputFormat::parse("table {{.ID}}"),
        Ok(OutputFormat::Table { header: true, .. })
    ));
    assert!(matches!(
        OutputFormat::parse("{{.ID}}"),
        Ok(OutputFormat::Plain(_))
    ));
}

#[test]
fn json_prints_an_indented_array_of_all_items() {
    let items = [json!({"Id": "a", "Tags": ["x"]}), json!({})];
    let f = OutputFormat::parse("json").map_err(FormatError::from);
    let got = f
        .and_then(|f| render_items(&f, &items, &[], ""))
        .map_err(|e| e.to_string());
    let expected = "[\n    {\n        \"Id\": \"a\",\n        \"Tags\": [\n            \"x\"\n        ]\n    },\n    {}\n]\n";
    assert_eq!(got, Ok(expected.to_string()));
    let empty = OutputFormat::parse("json").map_err(FormatError::from);
    assert_eq!(
        empty
            .and_then(|f| render_items(&f, &[], &[], ""))
            .map_err(|e| e.to_string()),
        Ok("[]\n".into())
    );
}

#[test]
fn plain_template_prints_one_line_per_item() {
    assert_eq!(out("{{.ID}}"), "8f2a1c3b4d5e\n0123456789ab\n");
    assert_eq!(out("{{.ID}}\\n"), "8f2a1c3b4d5e\n0123456789ab\n");
    assert_eq!(
        out("{{.Repository}}\\t{{.Tag}}"),
        "docker.io/library/alpine\t3.19\nquay.io/podman/hello\tlatest\n"
    );
    assert_eq!(out("{{.Labels.version}}"), "1\n<no value>\n");
    assert_eq!(out("{{json .Names}}"), "[\"a\",\"b\"]\n[]\n");
}

#[test]
fn plain_template_with_its_own_range_sees_the_whole_list() {
    assert_eq!(out("{{range .}}{{.Tag}},{{end}}"), "3.19,latest,\n");
    // The added newline follows `end -}}`, which trims it, exactly as in Podman.
    assert_eq!(out("{{ range . }}{{.Tag}} {{ end -}}"), "3.19 latest ");
}

#[test]
fn escapes_inside_actions_are_left_to_the_template() {
    // A "\n" inside a string literal means the template writes its own newlines, so
    // none is added (Podman falls back to the raw text in that case).
    assert_eq!(out(r#"{{printf "%s\n" .Tag}}"#), "3.19\nlatest\n");
    assert_eq!(out(r#"{{join .Names "\t"}}|"#), "a\tb|\n|\n");
}

#[test]
fn table_prints_header_and_aligned_rows() {
    let expected = "REPOSITORY                TAG\n\
                    docker.io/library/alpine  3.19\n\
                    quay.io/podman/hello      latest\n";
    assert_eq!(out("table {{.Repository}}\\t{{.Tag}}"), expected);
    assert_eq!(out("table {{.Repository}}\t{{.Tag}}"), expected);
}

#[test]
fn table_spaces_between_actions_become_columns() {
    let expected = "IMAGE ID      SIZE\n\
                    8f2a1c3b4d5e  7340032\n\
                    0123456789ab  812\n";
    assert_eq!(out("table {{.ID}} {{.Size}}"), expected);
}

#[test]
fn table_headers_use_overrides_then_camel_case_words() {
    let got = out("table {{.ReadOnly}}\\t{{.CreatedSince}}\\t{{.Labels.version}}");
    let first = got.lines().next().unwrap_or_default();
    assert_eq!(first, "R/O         CREATED      LABELS");
    assert_eq!(header_name("RepoTags", &[]), "REPO TAGS");
    assert_eq!(header_name("SimpleXMLParser", &[]), "SIMPLE XML PARSER");
    assert_eq!(header_name("ID", &[]), "ID");
    assert_eq!(header_name("Ports", &[("Ports", "ports")]), "PORTS");
}

#[test]
fn table_header_passes_through_string_functions() {
    let expected = "IMAGE ID    NAMES\n\
                    8f2         a,b\n\
                    012         \n";
    assert_eq!(
        out("table {{truncate .ID 3}}\\t{{join .Names \",\"}}"),
        expected
    );
    let got = out(r#"table {{printf "%-14s" .Tag}}|"#);
    assert_eq!(got.lines().next(), Some("TAG           |"));
}

#[test]
fn table_header_falls_back_to_cells_when_template_needs_real_data() {
    let got = out("table {{range .Names}}{{.}}{{end}}\\t{{.ID}}");
    assert_eq!(got.lines().next(), Some("NAMES       IMAGE ID"));
}

#[test]
fn default_table_uses_command_default() {
    let expected = "REPOSITORY                TAG         IMAGE ID\n\
                    docker.io/library/alpine  3.19        8f2a1c3b4d5e\n\
                    quay.io/podman/hello      latest      0123456789ab\n";
    assert_eq!(out("table"), expected);
    assert_eq!(out(""), expected);
}

#[test]
fn table_with_no_items_prints_only_the_header() {
    let f = OutputFormat::parse("table {{.ID}}\\t{{.Tag}}").map_err(FormatError::from);
    let got = f
        .and_then(|f| render_items(&f, &[], IMAGE_HEADERS, ""))
        .map_err(|e| e.to_string());
    assert_eq!(got, Ok("IMAGE ID    TAG\n".into()));
}

#[test]
fn errors_point_into_the_format_as_typed() {
    assert_eq!(out("{{.ID"), "ERR template: 1:1: unclosed action");
    assert_eq!(
        out("table {{.ID}}\\t{{nosuch .}}"),
        "ERR template: 1:18: function \"nosuch\" not defined"
    );
    assert_eq!(out("{{end}}"), "ERR template: 1:1: unexpected {{end}}");
    assert_eq!(
        out("{{.ID}}\\t{{.Tag.X}}"),
        "ERR template: 1:12: executing at <.Tag.X>: can't evaluate field X in type string"
    );
}

#[test]
fn segments_ignore_braces_in_strings_and_comments() {
    let segs = segments(r#"a{{printf "}}" }}b{{/* }} */}}c{{"#);
    let texts: Vec<&str> = segs.iter().filter(|s| !s.0).map(|s| s.1).collect();
    assert_eq!(texts, vec!["a", "b", "c"]);
}

#[test]
fn default_table_without_prefix_keeps_spaces_and_may_range_itself() {
    let f = OutputFormat::DefaultTable { header: true };
    let plain = render_items(&f, &images(), IMAGE_HEADERS, "{{.Tag}} tag\t{{.ID}}")
        .map_err(|e| e.to_string());
    let expected = "TAG tag     IMAGE ID\n3.19 tag    8f2a1c3b4d5e\nlatest tag  0123456789ab\n";
    assert_eq!(plain, Ok(expected.to_string()));
    let ranged = "{{range .}}{{.Tag}}\t{{.ID}}\n{{end -}}";
    let got = render_items(&f, &images(), IMAGE_HEADERS, ranged).map_err(|e| e.to_string());
    let expected = "TAG         IMAGE ID\n3.19        8f2a1c3b4d5e\nlatest      0123456789ab\n";
    assert_eq!(got, Ok(expected.to_string()));
}

#[test]
fn without_header_drops_the_header_row_only() {
    let table = OutputFormat::parse("table {{.ID}}\\t{{.Tag}}").map(OutputFormat::without_header);
    let got = table
        .map_err(FormatError::from)
        .and_then(|f| render_items(&f, &images(), IMAGE_HEADERS, ""));
    let expected = "8f2a1c3b4d5e  3.19\n0123456789ab  latest\n";
    assert_eq!(got.map_err(|e| e.to_string()), Ok(expected.to_string()));
    let default = OutputFormat::DefaultTable { header: true }.without_header();
    let got = render_items(&default, &images()[..1], IMAGE_HEADERS, DEFAULT_TABLE)
        .map_err(|e| e.to_string());
    assert_eq!(
        got,
        Ok("docker.io/library/alpine  3.19        8f2a1c3b4d5e\n".to_string())
    );
}
