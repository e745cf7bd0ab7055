//! signetd's layers point one way (docs/architecture.md): every `crate::…`
//! path in `src/` names a module of the same or a lower layer, and the
//! layer-2 modules (policy, store, audit, confirm) do not name each other.

use std::path::Path;

/// Each top-level module's layer.
const LAYERS: &[(&str, u8)] = &[
    ("config", 0),
    ("clock", 0),
    ("hardening", 0),
    ("sshkey", 0),
    ("access", 1),
    ("policy", 2),
    ("store", 2),
    ("audit", 2),
    ("confirm", 2),
    ("agent", 3),
    ("dispatch", 4),
    ("server", 5),
    ("startup", 6),
    // The binary's clap definitions (imports nothing).
    ("cli", 6),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// The top-level modules a file names with `crate::` (single paths and
/// `crate::{a, b::c}` groups).
fn named(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + 7..];
        let heads: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group[..group.find('}').unwrap_or(group.len())]
                .split(',')
                .map(str::trim)
                .collect(),
            None => vec![rest],
        };
        for h in heads {
            let end = h
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(h.len());
            out.push(h[..end].to_owned());
        }
    }
    out
}

#[test]
fn no_file_imports_upward_or_across_layer_two() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.clone()];
    let mut problems = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let rel = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let own = rel.split(['/', '.']).next().unwrap_or_default().to_owned();
        let Some(mine) = layer(&own) else {
            assert!(
                ["lib", "main"].contains(&own.as_str()),
                "{rel}: not in a layer"
            );
            continue;
        };
        for other in named(&std::fs::read_to_string(&path).unwrap()) {
            let theirs = layer(&other).unwrap_or_else(|| panic!("{rel}: crate::{other}?"));
            if theirs > mine || (mine == 2 && theirs == 2 && other != own) {
                problems.push(format!(
                    "{rel} (layer {mine}) uses crate::{other} (layer {theirs})"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "layering broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn paths_and_groups_are_found() {
    assert_eq!(
        named("use crate::{agent::Agent, config};\nlet x = crate::store::vault::blocking;"),
        ["agent", "config", "store"]
    );
    assert_eq!(layer("server"), Some(5));
    assert_eq!(layer("nonsense"), None);
}
