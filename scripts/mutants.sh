#!/usr/bin/env bash
# Mutation testing of the loom suite: applies each mutation in scripts/mutants/ to the
# working tree, one at a time, runs the model meant to catch it, expects it to FAIL, and
# restores the file with `git checkout`. Prints caught/missed with times; exits non-zero
# if any mutation is missed, not found, or does not build.
#
# Usage:
#   scripts/mutants.sh            every mutation
#   scripts/mutants.sh ID...      only these (ID = file name without .mutant)
#
# A mutation is one file, scripts/mutants/ID.mutant (comment lines start with #):
#
#   file: src/path/to/file.rs
#   test: loom MODEL_FILE [TEST_NAME_FILTER]      a model in loom-tests/tests/MODEL_FILE.rs
#   --- original
#   exact text, found exactly once in the file
#   --- replacement
#   the text put in its place
#
# (`file=`, `test=` and `--- mutated` are read too.) A mutated file must have no
# uncommitted changes: it is restored from git. Models run as CI runs them: RUSTFLAGS
# "--cfg loom -C debug-assertions=on", LOOM_MAX_PREEMPTIONS=3, release, target/loom.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
table=scripts/mutants
logs=target/mutants-logs
mkdir -p "$logs"

die() {
    printf 'mutants: %s\n' "$*" >&2
    exit 2
}

# Sets m_file, m_model, m_filter, m_original, m_replacement from $table/$1.mutant.
read_mutation() {
    local path="$table/$1.mutant" line section=fields
    [[ -f $path ]] || die "no mutation $1"
    m_file='' m_model='' m_filter=''
    local test=''
    local -a original=() replacement=()
    while IFS= read -r line || [[ -n $line ]]; do
        case $section:$line in
            *:'--- original') section=original ;;
            *:'--- replacement' | *:'--- mutated') section=replacement ;;
            fields:'#'* | fields:'') ;;
            fields:file[:=]*) m_file=$(sed 's/^file[:=][[:space:]]*//' <<<"$line") ;;
            fields:test[:=]*) test=$(sed 's/^test[:=][[:space:]]*//' <<<"$line") ;;
            fields:*) die "$1: unexpected line: $line" ;;
            original:*) original+=("$line") ;;
            replacement:*) replacement+=("$line") ;;
        esac
    done <"$path"
    local -a words
    read -r -a words <<<"$test"
    [[ ${words[0]:-} == loom && -n ${words[1]:-} && -n $m_file ]] ||
        die "$1: needs 'file:' and 'test: loom MODEL [FILTER]'"
    m_model=${words[1]} m_filter=${words[2]:-}
    ((${#original[@]})) || die "$1: empty original text"
    local IFS=$'\n'
    m_original="${original[*]}"
    m_replacement="${replacement[*]}"
}

run_model() {
    RUSTFLAGS="--cfg loom -C debug-assertions=on" LOOM_MAX_PREEMPTIONS=3 \
        CARGO_TARGET_DIR=target/loom \
        cargo test -p loom-tests --release --test "$m_model" "$@" -- ${m_filter:+"$m_filter"}
}

restore() {
    [[ -n ${current:-} ]] && git checkout -- "$current"
    current=''
}
trap restore EXIT INT TERM

mapfile -t ids < <(if (($#)); then printf '%s\n' "$@"; else
    find "$table" -name '*.mutant' -printf '%f\n' | sed 's/\.mutant$//' | sort
fi)
for id in "${ids[@]}"; do read_mutation "$id"; done # fail early on a malformed entry

bad=0 caught=0 start=$SECONDS
for id in "${ids[@]}"; do
    read_mutation "$id"
    log="$logs/$id.log"
    if ! git diff --quiet -- "$m_file"; then
        printf 'DIRTY    %-44s %s has uncommitted changes\n' "$id" "$m_file"
        bad=1
        continue
    fi
    text=$(cat "$m_file"; printf x)
    text=${text%x}
    rest=${text//"$m_original"/}
    if (((${#text} - ${#rest}) != ${#m_original})); then
        printf 'NOTFOUND %-44s original text not found exactly once in %s\n' "$id" "$m_file"
        bad=1
        continue
    fi
    current=$m_file
    printf '%s' "${text/"$m_original"/"$m_replacement"}" >"$m_file"
    if ! run_model --no-run >"$log" 2>&1; then
        restore
        printf 'BROKEN   %-44s the mutated tree does not build (%s)\n' "$id" "$log"
        bad=1
        continue
    fi
    t0=$SECONDS
    status=0
    run_model >"$log" 2>&1 || status=$?
    restore
    if ((status == 0)); then
        printf 'MISSED   %-44s %4ds  %s passed\n' "$id" $((SECONDS - t0)) "$m_model"
        bad=1
    else
        caught=$((caught + 1))
        # The line after the first panic's location says why (a failed assertion, loom's
        # causality violation or deadlock report).
        why=$(grep -m1 -A1 'panicked at' "$log" | tail -n1 | cut -c1-160)
        printf 'CAUGHT   %-44s %4ds  %s\n' "$id" $((SECONDS - t0)) "$why"
    fi
done
printf '%d of %d caught in %ds (times: the mutated model run, build excluded)\n' \
    "$caught" "${#ids[@]}" $((SECONDS - start))
exit "$bad"
