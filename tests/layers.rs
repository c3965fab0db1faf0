//! The crate's modules form layers that only point down (IMPLEMENTATION.md, "Layout"):
//! each top-level module may use only the modules listed before it here. This test reads
//! every source file and fails on a `crate::` path (outside comments) that reaches up.

use std::fs;
use std::path::Path;

/// Lowest first; `lib` re-exports everything and sits on top.
const LAYERS: &[&str] = &[
    "bits",
    "sync",
    "time",
    "wakeup",
    "runtime",
    "operation",
    "signal",
    "options",
    "window",
    "coordinator",
    "for_each",
    "lib",
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| *layer == module)
}

/// The top-level module a file under `src/` belongs to.
fn layer_of(relative: &Path) -> String {
    let first = relative.components().next().unwrap();
    let name = first.as_os_str().to_str().unwrap();
    name.trim_end_matches(".rs").to_owned()
}

/// Every `crate::module` a line of code names (lower-case paths only: upper-case ones
/// are the crate root's re-exports, which stand for no layer of their own).
fn uses(line: &str) -> impl Iterator<Item = &str> {
    line.match_indices("crate::").filter_map(move |(at, _)| {
        let rest = &line[at + "crate::".len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    })
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut upward = Vec::new();
    for path in &all {
        let relative = path.strip_prefix(&src).unwrap();
        let layer = layer_of(relative);
        let own = rank(&layer).unwrap_or_else(|| panic!("{layer} is in no layer"));
        let text = fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for used in uses(line) {
                let Some(theirs) = rank(used) else { continue };
                if theirs > own {
                    upward.push(format!(
                        "{}:{}: {layer} uses {used}",
                        relative.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports reaching up a layer:\n{}",
        upward.join("\n")
    );
}

#[test]
fn every_top_level_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in fs::read_dir(&src).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let module = name.trim_end_matches(".rs");
        assert!(rank(module).is_some(), "src/{name} is not in LAYERS");
    }
}
