//! The README's code blocks are the code of examples CI compiles and runs
//! (`examples/quick_start.rs`, `signals.rs`, `keyed.rs`, `results.rs`, `priority.rs`);
//! this keeps them from drifting apart.

/// The part of `example` between `// --- {marker} ---` and `// --- end ---`.
fn quoted<'a>(example: &'a str, marker: &str) -> &'a str {
    let open = format!("// --- {marker} ---\n");
    let start = example.find(&open).expect("start marker") + open.len();
    let end = example.find("// --- end ---").expect("end marker");
    &example[start..end]
}

#[test]
fn readme_quick_start_is_the_compiled_example() {
    let code = quoted(include_str!("../examples/quick_start.rs"), "quick start");
    assert!(
        include_str!("../README.md").contains(code),
        "README.md must quote examples/quick_start.rs between its markers verbatim"
    );
}

#[test]
fn readme_signals_section_is_the_compiled_example() {
    let code = quoted(include_str!("../examples/signals.rs"), "signals");
    assert!(
        include_str!("../README.md").contains(code),
        "README.md must quote examples/signals.rs between its markers verbatim"
    );
}

#[test]
fn readme_coordinator_quick_starts_are_the_compiled_examples() {
    for (example, marker) in [
        (include_str!("../examples/keyed.rs"), "keyed"),
        (include_str!("../examples/results.rs"), "results"),
        (include_str!("../examples/priority.rs"), "priority"),
    ] {
        assert!(
            include_str!("../README.md").contains(quoted(example, marker)),
            "README.md must quote the {marker} example between its markers verbatim"
        );
    }
}
