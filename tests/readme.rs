//! The README's quick start is the code of `examples/quick_start.rs`, which CI compiles
//! and runs; this keeps the two from drifting apart.

#[test]
fn readme_quick_start_is_the_compiled_example() {
    let example = include_str!("../examples/quick_start.rs");
    let readme = include_str!("../README.md");
    let start = example
        .find("// --- quick start ---\n")
        .expect("start marker")
        + "// --- quick start ---\n".len();
    let end = example.find("// --- end ---").expect("end marker");
    let code = &example[start..end];
    assert!(
        readme.contains(code),
        "README.md must quote examples/quick_start.rs between its markers verbatim"
    );
}
