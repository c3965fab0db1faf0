//! Every contract item the repository cites resolves into IMPLEMENTATION.md: a tag such
//! as the letter C followed by a number, anywhere in the sources, tests, scripts and
//! docs, must have a `### C<n> ...` heading there, and nothing points at a design file
//! that is not in the repository or at lettered models that IMPLEMENTATION.md does not
//! list (loom models are named by file and test).

use std::fs;
use std::path::{Path, PathBuf};

/// Whether `c` can be part of a word (so it ends or starts no tag).
fn wordy(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The numbers of every contract tag in `text`: an upper-case C, then digits, standing
/// alone as a word.
fn tags(text: &str) -> Vec<u32> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    for (at, &b) in bytes.iter().enumerate() {
        if b != b'C' || (at > 0 && wordy(bytes[at - 1])) {
            continue;
        }
        let digits = bytes[at + 1..]
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .count();
        let end = at + 1 + digits;
        if digits == 0 || bytes.get(end).is_some_and(|&c| wordy(c)) {
            continue;
        }
        found.push(text[at + 1..end].parse().unwrap());
    }
    found
}

/// Whether `path` is a file this check reads.
fn checked(path: &Path) -> bool {
    let in_ci = path.components().any(|c| c.as_os_str() == ".ci");
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    in_ci || matches!(ext, "rs" | "md" | "sh" | "mutant" | "toml")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            // Build output and version control hold no sources; `.ci` does.
            if name != "target" && (!name.starts_with('.') || name == ".ci") {
                files(&path, out);
            }
        } else if checked(&path) {
            out.push(path);
        }
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every checked file with its text, paths relative to the repository root.
fn repository() -> Vec<(String, String)> {
    let mut all = Vec::new();
    files(root(), &mut all);
    all.sort();
    all.into_iter()
        .map(|path| {
            let relative = path.strip_prefix(root()).unwrap().display().to_string();
            (relative, fs::read_to_string(&path).unwrap_or_default())
        })
        .collect()
}

/// The numbers of the contract headings in IMPLEMENTATION.md.
fn headings() -> Vec<u32> {
    let text = fs::read_to_string(root().join("IMPLEMENTATION.md")).unwrap();
    let prefix = concat!("### ", "C");
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(prefix)?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let titled = rest[digits.len()..].starts_with(' ');
            (titled && !digits.is_empty()).then(|| digits.parse().unwrap())
        })
        .collect()
}

#[test]
fn every_contract_item_has_its_heading() {
    let headings = headings();
    for n in 1..=13 {
        assert!(
            headings.contains(&n),
            "IMPLEMENTATION.md has no `### C{n} ...` heading"
        );
    }
}

#[test]
fn every_cited_contract_item_resolves_into_implementation_md() {
    let headings = headings();
    let mut dangling = Vec::new();
    for (path, text) in repository() {
        for (line, content) in text.lines().enumerate() {
            for n in tags(content) {
                if !headings.contains(&n) {
                    dangling.push(format!("{path}:{}: C{n}", line + 1));
                }
            }
        }
    }
    assert!(
        dangling.is_empty(),
        "contract items without a heading in IMPLEMENTATION.md:\n{}",
        dangling.join("\n")
    );
}

#[test]
fn nothing_points_outside_the_repository_or_at_lettered_models() {
    let design = concat!("DESIGN", ".md");
    let mut stray = Vec::new();
    for (path, text) in repository() {
        for (line, content) in text.lines().enumerate() {
            let lower = content.to_ascii_lowercase();
            let lettered = ["model (", "models ("].iter().any(|label| {
                lower.match_indices(label).any(|(at, _)| {
                    let rest = &lower.as_bytes()[at + label.len()..];
                    rest.len() >= 2 && rest[0].is_ascii_lowercase() && rest[1] == b')'
                })
            });
            if content.contains(design) || lettered {
                stray.push(format!("{path}:{}: {}", line + 1, content.trim()));
            }
        }
    }
    assert!(
        stray.is_empty(),
        "references that do not resolve in the repository (cite IMPLEMENTATION.md, and \
         loom models by file and test name):\n{}",
        stray.join("\n")
    );
}

#[test]
fn the_tag_scanner_finds_tags_and_only_tags() {
    let c = 'C';
    let sample = format!("({c}6) {c}1, {c}13: x{c}2 {c}4a A{c}7 {c}x {c}");
    assert_eq!(tags(&sample), [6, 1, 13]);
}
