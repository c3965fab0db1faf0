#!/usr/bin/env bash
# Mutation testing of the test suite itself: applies, one at a time, bugs that a
# plausible edit could introduce, and checks that the model or test meant to guard
# against each one FAILS with it applied.
#
# Usage:
#   scripts/mutants.sh               run every mutation in scripts/mutants/
#   scripts/mutants.sh ID...         run only these (ID = file name without .mutant)
#   scripts/mutants.sh --list        list the mutations and the test each expects to fail
#   MUTANTS_NO_BASELINE=1 ...        skip the unmutated run of each test first
#   MUTANTS_TIMEOUT=900 ...          seconds a test may run before it counts as failing
#                                    (default 600; a hang is a failure, reported as such)
#
# Nothing in the working tree is touched: the tree as it is now (tracked and untracked
# files, uncommitted edits included, ignored ones excluded) is copied to
# target/mutants/tree, mutations are applied there one at a time, and the copy's file is
# restored after each. Builds go to target/mutants/{loom,debug} and are reused across
# runs (the copy is re-made each run and its files touched, so a build of a mutated file
# left by an interrupted run is never mistaken for a fresh one).
#
# Each mutation is one file, scripts/mutants/ID.mutant:
#
#   # why this is a plausible bug (comment lines start with #, before the fields)
#   file: src/path/to/file.rs
#   test: loom MODEL_FILE [TEST_NAME_FILTER]     a loom model in loom-tests/tests/
#   test: unit TEST_NAME_FILTER                  the library's unit tests
#   test: integration TEST_FILE [FILTER]         a file in tests/ of the library
#   --- original
#   exact text, one or more whole or partial lines, found exactly once in the file
#   --- replacement
#   the text put in its place (may be empty)
#
# Loom models run as CI runs them: RUSTFLAGS="--cfg loom -C debug-assertions=on",
# LOOM_MAX_PREEMPTIONS=3, release profile.
#
# Exit status: 0 only if every mutation was caught; non-zero if any was missed, any
# original text is not found exactly once, a mutated tree does not build (the entry is
# wrong), or a test fails without its mutation (the baseline).
#
# How long a full run takes (2 cores, shared with other builds): the copy's first builds
# (loom and debug profiles) take about 3 minutes each, then each mutation costs a rebuild
# of the library and its test (10-30 s) plus the run (a few seconds for these models).
# The 13 entries of the signal side, baselines included, took 6 minutes with the builds
# of an earlier run to reuse and about 9 from nothing; count about 30 s per entry added.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true

root=$(cd "$(dirname "$0")/.." && pwd)
table="$root/scripts/mutants"
work="$root/target/mutants"
tree="$work/tree"
logs="$work/logs"
timeout_s=${MUTANTS_TIMEOUT:-600}

die() {
    printf 'mutants: %s\n' "$*" >&2
    exit 2
}

# --- reading a mutation file -------------------------------------------------------------

# Sets m_file, m_test, m_original, m_replacement from scripts/mutants/$1.mutant.
read_mutation() {
    local path="$table/$1.mutant" line section=fields
    [[ -f $path ]] || die "no mutation $1 ($path)"
    m_file='' m_test='' m_original='' m_replacement=''
    local -a original=() replacement=()
    while IFS= read -r line || [[ -n $line ]]; do
        case $section:$line in
            *:'--- original') section=original ;;
            *:'--- replacement') section=replacement ;;
            fields:'#'* | fields:'') ;;
            fields:file:*) m_file=$(sed 's/^file:[[:space:]]*//' <<<"$line") ;;
            fields:test:*) m_test=$(sed 's/^test:[[:space:]]*//' <<<"$line") ;;
            fields:*) die "$1: unexpected line before '--- original': $line" ;;
            original:*) original+=("$line") ;;
            replacement:*) replacement+=("$line") ;;
        esac
    done <"$path"
    [[ -n $m_file && -n $m_test ]] || die "$1: needs 'file:' and 'test:'"
    ((${#original[@]})) || die "$1: empty original text"
    local IFS=$'\n'
    m_original="${original[*]}"
    m_replacement="${replacement[*]}"
}

# --- running a test ----------------------------------------------------------------------

# Runs the test named by a `test:` field in the copy; returns its exit status. With
# `--no-run`, only builds it.
run_test() {
    local spec=$1 log=$2 no_run=${3:-}
    local -a words
    read -r -a words <<<"$spec"
    local kind=${words[0]} status=0
    local -a filter=()
    case $kind in
        loom)
            [[ ${#words[@]} -ge 2 ]] || die "loom test needs a model file: $spec"
            [[ -n ${words[2]:-} ]] && filter=("${words[2]}")
            (
                cd "$tree"
                export RUSTFLAGS="--cfg loom -C debug-assertions=on" LOOM_MAX_PREEMPTIONS=3
                export CARGO_TARGET_DIR="$work/loom"
                if [[ -n $no_run ]]; then
                    cargo test -p loom-tests --release --test "${words[1]}" --no-run
                else
                    timeout "$timeout_s" cargo test -p loom-tests --release --test "${words[1]}" \
                        -- "${filter[@]}"
                fi
            ) >"$log" 2>&1 || status=$?
            ;;
        unit | integration)
            local -a target=(--lib)
            if [[ $kind == integration ]]; then
                [[ ${#words[@]} -ge 2 ]] || die "integration test needs a file: $spec"
                target=(--test "${words[1]}")
                [[ -n ${words[2]:-} ]] && filter=("${words[2]}")
            else
                [[ -n ${words[1]:-} ]] && filter=("${words[1]}")
            fi
            (
                cd "$tree"
                export CARGO_TARGET_DIR="$work/debug"
                if [[ -n $no_run ]]; then
                    cargo test -p mostlylucid-ephemeral "${target[@]}" --no-run
                else
                    timeout "$timeout_s" cargo test -p mostlylucid-ephemeral "${target[@]}" \
                        -- "${filter[@]}"
                fi
            ) >"$log" 2>&1 || status=$?
            ;;
        *) die "unknown test kind '$kind' in: $spec" ;;
    esac
    return "$status"
}

# The line of a failed run that says why (a panic, loom's deadlock report, a timeout).
why_failed() {
    grep -m1 -E "panicked at|error: test failed" -A1 "$1" | tr '\n' ' ' |
        sed -E "s/^thread '[^']*' (\([0-9]+\) )?//; s#[^ ]*/registry/src/[^/]*/##" | cut -c1-160
}

# --- the copy of the tree ----------------------------------------------------------------

current_file=''
current_text=''

restore() {
    if [[ -n $current_file ]]; then
        printf '%s' "$current_text" >"$tree/$current_file"
        current_file=''
    fi
}
trap restore EXIT INT TERM

copy_tree() {
    rm -rf "$tree"
    mkdir -p "$tree" "$logs"
    (
        cd "$root"
        git ls-files -z -co --exclude-standard |
            while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
            tar --null -T - -cf -
    ) | tar -C "$tree" -xf -
    # Newer than any build of a mutated file an interrupted run may have left behind.
    find "$tree" -type f -exec touch {} +
}

# --- main --------------------------------------------------------------------------------

[[ -d $table ]] || die "no table at $table"
mapfile -t all < <(find "$table" -name '*.mutant' -printf '%f\n' | sed 's/\.mutant$//' | sort)

if [[ ${1:-} == --list ]]; then
    for id in "${all[@]}"; do
        read_mutation "$id"
        printf '%-40s %-32s %s\n' "$id" "$m_file" "$m_test"
    done
    exit 0
fi

ids=("$@")
((${#ids[@]})) || ids=("${all[@]}")
for id in "${ids[@]}"; do read_mutation "$id"; done # fail early on a malformed entry

start=$SECONDS
copy_tree
printf 'mutants: %d mutation(s); tree copied to %s\n' "${#ids[@]}" "$tree"

if [[ -z ${MUTANTS_NO_BASELINE:-} ]]; then
    declare -A seen=()
    for id in "${ids[@]}"; do
        read_mutation "$id"
        [[ -n ${seen[$m_test]:-} ]] && continue
        seen[$m_test]=1
        t0=$SECONDS
        if ! run_test "$m_test" "$logs/baseline.log"; then
            die "the suite fails WITHOUT mutations: '$m_test' ($(why_failed "$logs/baseline.log"); log: $logs/baseline.log)"
        fi
        printf 'baseline ok   %4ds  %s\n' $((SECONDS - t0)) "$m_test"
    done
fi

declare -a summary=()
bad=0
for id in "${ids[@]}"; do
    read_mutation "$id"
    path="$tree/$m_file"
    log="$logs/$id.log"
    t0=$SECONDS
    if [[ ! -f $path ]]; then
        summary+=("$(printf '%-8s %5s %4s  %-42s %s' NOFILE - - "$id" "$m_file does not exist")")
        bad=1
        continue
    fi
    text=$(cat "$path"; printf x)
    text=${text%x}
    rest=${text//"$m_original"/}
    found=$(((${#text} - ${#rest}) / ${#m_original}))
    if ((found != 1)); then
        summary+=("$(printf '%-8s %5s %4s  %-42s %s' NOTFOUND - - "$id" "original text found $found times in $m_file")")
        bad=1
        continue
    fi
    current_file=$m_file
    current_text=$text
    printf '%s' "${text/"$m_original"/"$m_replacement"}" >"$path"
    if ! run_test "$m_test" "$log" --no-run; then
        restore
        summary+=("$(printf '%-8s %4ds %4s  %-42s %s' BROKEN $((SECONDS - t0)) - "$id" "the mutated tree does not build (log: $log)")")
        bad=1
        continue
    fi
    t1=$SECONDS
    status=0
    run_test "$m_test" "$log" || status=$?
    restore
    times=$(printf '%4ds %3ds' $((t1 - t0)) $((SECONDS - t1)))
    if ((status == 0)); then
        summary+=("$(printf '%-8s %s  %-42s %s' MISSED "$times" "$id" "$m_test passed with the mutation")")
        bad=1
    elif ((status == 124)); then
        summary+=("$(printf '%-8s %s  %-42s %s' CAUGHT "$times" "$id" "timed out after ${timeout_s}s (a hang)")")
    else
        summary+=("$(printf '%-8s %s  %-42s %s' CAUGHT "$times" "$id" "$(why_failed "$log")")")
    fi
    printf '%s\n' "${summary[-1]}"
done

printf '\n%-8s %5s %4s  %-42s %s\n' result build run mutation 'detail (the first line saying why it failed)'
printf '%s\n' "${summary[@]}"
caught=$(printf '%s\n' "${summary[@]}" | grep -c '^CAUGHT' || true)
printf '\n%d of %d caught; the whole run took %ds\n' "$caught" "${#ids[@]}" $((SECONDS - start))
exit "$bad"
