#!/usr/bin/env bash
# Every public item of the crate has its own example: lists (and fails on) the public
# functions, methods, types, traits and constants whose docs hold no code block.
# Reads rustdoc's JSON output (nightly) for the all-features build, so methods expanded
# from shared macros are checked on every coordinator they reach.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}/doc-json"
CARGO_TARGET_DIR="$target" cargo +nightly rustdoc -q -p mostlylucid-ephemeral --lib --all-features \
    -- -Z unstable-options --output-format json
missing=$(jq -r '.index[]
    | select(.crate_id == 0 and .visibility == "public")
    | select((.inner | keys[0]) | IN("function", "struct", "enum", "trait", "constant", "type_alias", "macro"))
    | select((.docs // "") | contains("```") | not)
    | "\(.span.filename):\(.span.begin[0]) \(.name)"' "$target/doc/ephemeral.json" | sort)
if [ -n "$missing" ]; then
    echo "public items without an example ($(wc -l <<< "$missing")):"
    echo "$missing"
    exit 1
fi
echo "every public item has an example"
