//! Behaviour tests for parsing and rendering, with exact expected output.

use super::*;
use serde_json::json;

fn data() -> Value {
    json!({
        "ID": "8f2a1c3b4d5e6f7a8b9c",
        "Name": "web",
        "Names": ["web", "frontend"],
        "RepoTags": ["alpine:3.19", "alpine:latest"],
        "Labels": {"maintainer": "ops", "version": "1.2"},
        "NoLabels": null,
        "Dangling": false,
        "Size": 7340032,
        "Ratio": 0.25,
        "Ports": [],
        "Nested": {"Inner": {"Deep": "yes"}}
    })
}

fn render(src: &str) -> String {
    match Template::parse(src).and_then(|t| t.render(&data())) {
        Ok(s) => s,
        Err(e) => format!("ERR {e}"),
    }
}

#[test]
fn field_prints_string_raw() {
    assert_eq!(render("{{.ID}}"), "8f2a1c3b4d5e6f7a8b9c");
    assert_eq!(render("id={{ .ID }}!"), "id=8f2a1c3b4d5e6f7a8b9c!");
}

#[test]
fn json_of_dot_is_compact() {
    let t =
        Template::parse("{{json .}}").and_then(|t| t.render(&json!({"a": [1, "x"], "b": null})));
    assert_eq!(t, Ok(r#"{"a":[1,"x"],"b":null}"#.to_string()));
    assert_eq!(render("{{json .Names}}"), r#"["web","frontend"]"#);
    assert_eq!(
        render("{{.Labels | json}}"),
        r#"{"maintainer":"ops","version":"1.2"}"#
    );
}

#[test]
fn nested_fields_and_missing_keys() {
    assert_eq!(render("{{.Labels.version}}"), "1.2");
    assert_eq!(render("{{.Labels.nope}}"), "<no value>");
    assert_eq!(render("{{.NoLabels.version}}"), "<no value>");
    assert_eq!(render("{{.Missing}}"), "<no value>");
    assert_eq!(render("{{.Nested.Inner.Deep}}"), "yes");
    assert_eq!(render("{{$.Name}}"), "web");
}

#[test]
fn values_print_like_go() {
    assert_eq!(render("{{.Names}}"), "[web frontend]");
    assert_eq!(render("{{.Labels}}"), "map[maintainer:ops version:1.2]");
    assert_eq!(
        render("{{.Size}} {{.Ratio}} {{.Dangling}} {{.Ports}}"),
        "7340032 0.25 false []"
    );
    assert_eq!(
        render("{{1.0}} {{-2}} {{0x10}} {{'a'}} {{true}}"),
        "1 -2 16 97 true"
    );
}

#[test]
fn range_over_array_prints_each_element() {
    assert_eq!(
        render("{{range .RepoTags}}{{.}} {{end}}"),
        "alpine:3.19 alpine:latest "
    );
    assert_eq!(
        render("{{range $i, $t := .RepoTags}}{{$i}}={{$t}};{{end}}"),
        "0=alpine:3.19;1=alpine:latest;"
    );
    assert_eq!(
        render("{{range $t := .Names}}{{$t}}@{{$.Name}} {{end}}"),
        "web@web frontend@web "
    );
}

#[test]
fn range_over_object_uses_sorted_keys() {
    assert_eq!(
        render("{{range $k, $v := .Labels}}{{$k}}={{$v}},{{end}}"),
        "maintainer=ops,version=1.2,"
    );
}

#[test]
fn range_else_break_continue_and_integers() {
    assert_eq!(render("{{range .Ports}}x{{else}}none{{end}}"), "none");
    assert_eq!(render("{{range .Missing}}x{{else}}none{{end}}"), "none");
    let src = "{{range $i, $n := .Names}}{{if eq $i 1}}{{break}}{{end}}{{$n}}{{end}}";
    assert_eq!(render(src), "web");
    let src = "{{range .Names}}{{if eq . \"web\"}}{{continue}}{{end}}{{.}}{{end}}";
    assert_eq!(render(src), "frontend");
    assert_eq!(render("{{range 3}}{{.}}{{end}}"), "012");
}

#[test]
fn if_else_chooses_branch_by_truthiness() {
    assert_eq!(render("{{if .Dangling}}x{{else}}y{{end}}"), "y");
    assert_eq!(render("{{if .Names}}x{{else}}y{{end}}"), "x");
    assert_eq!(
        render("{{if .Ports}}a{{else if .Size}}b{{else}}c{{end}}"),
        "b"
    );
    assert_eq!(render("{{if not .Missing}}empty{{end}}"), "empty");
    assert_eq!(
        render("{{if and .Name .Size}}both{{end}}|{{or .Missing \"dflt\"}}"),
        "both|dflt"
    );
}

#[test]
fn with_rebinds_dot_and_has_else() {
    assert_eq!(render("{{with .Labels}}{{.version}}{{end}}"), "1.2");
    assert_eq!(
        render("{{with .NoLabels}}x{{else}}no labels{{end}}"),
        "no labels"
    );
    assert_eq!(
        render("{{with .Ports}}x{{else with .Name}}{{.}}{{end}}"),
        "web"
    );
}

#[test]
fn variables_declare_and_assign() {
    assert_eq!(render("{{$n := .Name}}{{$n = upper $n}}{{$n}}"), "WEB");
    assert_eq!(render("{{if $x := .Size}}{{$x}}{{end}}"), "7340032");
}

#[test]
fn printf_pads_and_formats() {
    assert_eq!(render(r#"{{printf "%-10s|" .Name}}"#), "web       |");
    assert_eq!(
        render(r#"{{printf "%5d|%q|%v" .Size .Name .Names}}"#),
        "7340032|\"web\"|[web frontend]"
    );
    assert_eq!(render(r#"{{.Name | printf "%s!"}}"#), "web!");
    assert_eq!(
        render(r#"{{print "a" "b" 1 2}}|{{println .Name 3}}"#),
        "ab1 2|web 3\n"
    );
}

#[test]
fn string_functions() {
    assert_eq!(render(r#"{{join .Names ","}}"#), "web,frontend");
    assert_eq!(render("{{truncate .ID 12}}"), "8f2a1c3b4d5e");
    assert_eq!(
        render("{{.Name | upper}} {{lower \"AbC\"}} {{title \"hello world\"}}"),
        "WEB abc Hello World"
    );
    assert_eq!(
        render(r#"{{split "a:b:c" ":"}} {{len .Names}} {{index .Names 1}}"#),
        "[a b c] 2 frontend"
    );
    assert_eq!(
        render(r#"{{replace .Name "w" "W"}} {{contains .Name "eb"}} [{{pad .Name 1 2}}]"#),
        "Web true [ web  ]"
    );
    assert_eq!(
        render(r#"{{index .Labels "version"}} {{len .ID}}"#),
        "1.2 20"
    );
}

#[test]
fn comparisons_and_parenthesised_pipelines() {
    assert_eq!(render("{{if gt .Size 1000}}big{{end}}"), "big");
    assert_eq!(
        render("{{if eq .Name \"db\" \"web\"}}match{{end}}"),
        "match"
    );
    assert_eq!(render("{{if lt (len .Names) 3}}few{{end}}"), "few");
    assert_eq!(render("{{(index .Names 0) | upper}}"), "WEB");
    assert_eq!(render("{{(.Nested.Inner).Deep}}"), "yes");
}

#[test]
fn trim_markers_and_comments() {
    assert_eq!(render("a  {{- .Name -}}  b"), "awebb");
    assert_eq!(render("a {{/* note */}} b"), "a  b");
    assert_eq!(render("a {{- /* note */ -}} b"), "ab");
    assert_eq!(render("{{.Name}}\n{{- \"x\"}}"), "webx");
}

#[test]
fn parse_errors_carry_position_and_reason() {
    assert_eq!(render("{{.ID"), "ERR template: 1:1: unclosed action");
    assert_eq!(
        render("{{.ID}"),
        "ERR template: 1:6: unexpected \"}\" in operand"
    );
    assert_eq!(
        render("x\n{{end}}"),
        "ERR template: 2:1: unexpected {{end}}"
    );
    assert_eq!(
        render("{{nosuchfunc .}}"),
        "ERR template: 1:3: function \"nosuchfunc\" not defined"
    );
    assert_eq!(render("{{if .X}}a"), "ERR template: 1:11: unexpected EOF");
    assert_eq!(render("{{else}}"), "ERR template: 1:1: unexpected {{else}}");
    assert_eq!(
        render("{{}}"),
        "ERR template: 1:3: missing value for command"
    );
    assert_eq!(
        render("{{$x}}"),
        "ERR template: 1:3: undefined variable \"$x\""
    );
    assert_eq!(
        render("{{\"abc}}"),
        "ERR template: 1:3: unterminated quoted string"
    );
    assert_eq!(render("{{(.X}}"), "ERR template: 1:3: unclosed left paren");
    assert_eq!(
        render("{{.X)}}"),
        "ERR template: 1:5: unexpected right paren"
    );
    assert_eq!(
        render("{{1x}}"),
        "ERR template: 1:3: bad number syntax: \"1x\""
    );
    assert_eq!(
        render("{{break}}"),
        "ERR template: 1:1: {{break}} outside {{range}}"
    );
    assert_eq!(
        render("{{.A | \"x\"}}"),
        "ERR template: 1:8: non executable command in pipeline stage 2"
    );
    assert_eq!(
        render("{{template \"x\"}}"),
        "ERR template: 1:1: {{template}} is not supported in --format"
    );
}

#[test]
fn execution_errors_name_the_failing_command() {
    assert_eq!(
        render("{{.Name.First}}"),
        "ERR template: 1:3: executing at <.Name.First>: can't evaluate field First in type string"
    );
    assert_eq!(
        render("{{index .Names 5}}"),
        "ERR template: 1:3: executing at <index .Names 5>: error calling index: index out of range: 5"
    );
    assert_eq!(render("{{join .Names}}"), "ERR template: 1:3: executing at <join .Names>: wrong number of args for join: want 2 got 1");
    assert_eq!(
        render("{{range .Name}}{{end}}"),
        "ERR template: 1:9: executing at <.Name>: range can't iterate over web"
    );
    assert_eq!(
        render("{{.Name 1}}"),
        "ERR template: 1:3: executing at <.Name 1>: Name is not a method but has arguments"
    );
}

#[test]
fn nesting_is_limited_instead_of_overflowing() {
    let deep_parens = format!("{{{{{}.ID{}}}}}", "(".repeat(5000), ")".repeat(5000));
    assert!(render(&deep_parens).contains("nesting deeper than 100 levels"));
    let deep_ifs = format!("{}x{}", "{{if 1}}".repeat(5000), "{{end}}".repeat(5000));
    assert!(render(&deep_ifs).contains("nesting deeper than 100 levels"));
    let ok = format!("{}x{}", "{{if 1}}".repeat(50), "{{end}}".repeat(50));
    assert_eq!(render(&ok), "x");
}

#[test]
fn runaway_templates_stop_with_an_error() {
    let src = "{{range 100000}}{{range 100000}}{{end}}{{end}}";
    assert!(render(src).contains("execution stopped after"));
    assert!(render(r#"{{pad "x" 99999999999 0}}"#).contains("out of range"));
    let wide = format!(
        "{{{{printf \"{}\"{}}}}}",
        "%999999d".repeat(100),
        " 1".repeat(100)
    );
    assert!(render(&wide).contains("result larger than 64 MiB"));
}

#[test]
fn odd_inputs_never_panic() {
    let odd = [
        "",
        "{{",
        "}}",
        "{{{{",
        "{{-",
        "{{- ",
        "{{ -}}",
        "{{/*",
        "{{/* */",
        "{{/**/x}}",
        "{{.}",
        "{{..}}",
        "{{.A.}}",
        "{{$}}",
        "{{$x := }}",
        "{{$x, $y := 1}}",
        "{{range $a, $b, $c := .}}{{end}}",
        "{{|}}",
        "{{.A||.B}}",
        "{{(}}",
        "{{)}}",
        "{{((((}}",
        "{{end}}{{end}}",
        "{{else}}",
        "{{if}}{{end}}",
        "{{with}}",
        "{{range}}",
        "{{'}}",
        "{{'ab'}}",
        "{{`x}}",
        "{{\"\\q\"}}",
        "{{\"\\x\"}}",
        "{{\"\\u12\"}}",
        "{{0x}}",
        "{{1e}}",
        "{{+}}",
        "{{-}}",
        "{{1.2.3}}",
        "{{:}}",
        "{{:=}}",
        "{{=}}",
        "{{,}}",
        "{{@}}",
        "{{é}}",
        "{{\u{0}}}",
        "{{index}}",
        "{{index . -1}}",
        "{{slice .}}",
        "{{printf}}",
        "{{printf 1}}",
        "{{printf \"%[1]d\" 1}}",
        "{{printf \"%*d\" \"x\" 1}}",
        "{{printf \"%.*f\" -1 2.5}}",
        "{{len 3}}",
        "{{lt nil nil}}",
        "{{nil}}",
        "{{.Names.x}}",
        "{{truncate .Name -1}}",
        "{{range .Labels}}{{break}}{{end}}",
        "{{if 1}}{{else if}}{{end}}",
        "{{with 1}}{{else with 0}}{{else}}{{end}}",
        "{{define \"x\"}}{{end}}",
        "{{block \"x\" .}}{{end}}",
        "\u{feff}{{.Name}}\u{1F600}{{- \u{3000}}}",
        "{{.Size | printf \"%08.3f|%x|%X|%o|%b|%c|%U|%e\"}}",
    ];
    for src in odd {
        let _ = render(src);
    }
}

#[test]
fn random_fragment_soup_never_panics() {
    const PARTS: [&str; 32] = [
        "{{", "}}", "{{-", " -}}", ".", ".Name", "$", "$x", ":=", "=", "|", "(", ")", "\"s\"",
        "'c'", "`r`", "1", "-2.5", "if", "else", "end", "range", "with", "break", " ", "printf",
        "index", ",", "/*", "*/", "x", "\n",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..3000 {
        let mut src = String::new();
        for _ in 0..(seed % 24) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            src.push_str(PARTS[(seed % PARTS.len() as u64) as usize]);
        }
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let _ = render(&src);
    }
}
