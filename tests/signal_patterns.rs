//! Property tests of signal patterns through the public API: random patterns and names
//! against a reference matcher, the glob rules written as a plain recursive definition
//! (`*` any run of characters, dots included and the empty run; `?` exactly one
//! character; anything else itself, case-sensitively; surrounding whitespace trimmed;
//! a comma list matches when any of its non-empty entries does).
#![cfg(not(loom))]

use ephemeral::signal::{Pattern, PatternSet};
use proptest::prelude::*;

/// Whether `name` matches `pattern` under the glob rules, by their definition:
/// exponential, but plainly right on short inputs.
fn reference(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some(('*', rest)) => (0..=name.len()).any(|i| reference(rest, &name[i..])),
        Some(('?', rest)) => !name.is_empty() && reference(rest, &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && reference(rest, &name[1..]),
    }
}

/// [`reference`] on a pattern's text as [`Pattern::new`] takes it (trimmed).
fn reference_matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.trim().chars().collect();
    let name: Vec<char> = name.chars().collect();
    reference(&pattern, &name)
}

/// Characters names are made of: both cases of a letter, dots, multibyte characters,
/// a space, and the wildcard characters themselves (a name's `*` is just a character).
/// `a`, `b` and `.` come up most, so pieces of a pattern recur in a name and a matcher
/// must pick the right occurrence.
const NAME_CHARS: &[char] = &[
    'a', 'a', 'a', 'a', 'b', 'b', '.', '.', 'A', '-', 'é', 'ß', '€', ' ', '*', '?',
];

fn name_char() -> impl Strategy<Value = char> {
    prop::sample::select(NAME_CHARS)
}

/// Pattern characters: wildcards often, else what names are made of (no comma, which
/// separates a set's entries).
fn pattern_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => Just('*'),
        2 => Just('?'),
        8 => name_char(),
    ]
}

/// Patterns, half of them without `?` (the matcher has a separate path for those:
/// prefix, suffix and the pieces between stars in order).
fn patterns() -> impl Strategy<Value = String> {
    let any = prop::collection::vec(pattern_char(), 0..=7);
    let stars_only =
        prop::collection::vec(pattern_char().prop_filter("no ?", |&c| c != '?'), 0..=7);
    prop_oneof![any, stars_only].prop_map(|chars| chars.into_iter().collect())
}

fn names() -> impl Strategy<Value = String> {
    prop::collection::vec(name_char(), 0..=10).prop_map(|chars| chars.into_iter().collect())
}

/// A name the pattern matches by construction: each `*` replaced by a run of 0-3
/// characters, each `?` by one character, everything else kept (the pattern trimmed
/// first, as `Pattern::new` does).
fn instance_of(pattern: &str) -> impl Strategy<Value = String> + use<> {
    let pattern: Vec<char> = pattern.trim().chars().collect();
    let fillers = prop::collection::vec(prop::collection::vec(name_char(), 0..=3), pattern.len());
    let singles = prop::collection::vec(name_char(), pattern.len());
    (fillers, singles).prop_map(move |(fillers, singles)| {
        let mut name = String::new();
        for (i, &c) in pattern.iter().enumerate() {
            match c {
                '*' => name.extend(&fillers[i]),
                '?' => name.push(singles[i]),
                c => name.push(c),
            }
        }
        name
    })
}

/// `name` with one edit at `at`: a character replaced by `c`, its case flipped, or
/// dropped, or `c` added.
fn edited(name: &str, at: prop::sample::Index, c: char, edit: u8) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    let i = at.index(chars.len() + 1);
    match edit {
        0 if i < chars.len() => chars[i] = c,
        1 if i < chars.len() => {
            let flipped = if chars[i].is_lowercase() {
                chars[i].to_uppercase().next()
            } else {
                chars[i].to_lowercase().next()
            };
            chars[i] = flipped.unwrap_or(c);
        }
        2 if i < chars.len() => {
            chars.remove(i);
        }
        _ => chars.insert(i, c),
    }
    chars.into_iter().collect()
}

/// A pattern and a name: random, one the pattern matches by construction, or such a
/// one edited once (names near a match).
fn pattern_and_name() -> impl Strategy<Value = (String, String)> {
    patterns().prop_flat_map(|pattern| {
        let near = (
            instance_of(&pattern),
            any::<prop::sample::Index>(),
            name_char(),
            0..4u8,
        )
            .prop_map(|(name, at, c, edit)| edited(&name, at, c, edit));
        let name = prop_oneof![names(), instance_of(&pattern), near];
        (Just(pattern), name)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_pattern_matches_a_name_exactly_when_the_recursive_definition_does(
        (pattern, name) in pattern_and_name()
    ) {
        prop_assert_eq!(
            Pattern::new(&pattern).matches(&name),
            reference_matches(&pattern, &name),
            "{:?} against {:?}", pattern, name
        );
    }

    #[test]
    fn a_name_made_by_filling_in_the_wildcards_matches(
        (pattern, name) in patterns().prop_flat_map(|p| (Just(p.clone()), instance_of(&p)))
    ) {
        prop_assert!(Pattern::new(&pattern).matches(&name), "{:?} against {:?}", pattern, name);
    }

    #[test]
    fn a_pattern_without_wildcards_is_literal_and_matches_only_its_own_text(
        (pattern, name) in pattern_and_name()
    ) {
        let compiled = Pattern::new(&pattern);
        let text = pattern.trim();
        prop_assert_eq!(compiled.as_str(), text);
        prop_assert_eq!(compiled.is_literal(), !text.contains(['*', '?']));
        if compiled.is_literal() {
            prop_assert_eq!(compiled.matches(&name), name == text, "{:?} against {:?}", pattern, name);
        }
    }

    #[test]
    fn a_set_matches_a_name_exactly_when_one_of_its_non_empty_entries_does(
        entries in prop::collection::vec(
            (patterns(), prop::sample::select(&["", " ", "  ", "\t"][..]), prop::sample::select(&["", " ", "\t "][..])),
            0..=4,
        ),
        name in names(),
    ) {
        let padded: Vec<String> = entries
            .iter()
            .map(|(pattern, before, after)| format!("{before}{pattern}{after}"))
            .collect();
        let set = PatternSet::parse(&padded.join(","));
        let kept: Vec<&str> = entries
            .iter()
            .map(|(pattern, _, _)| pattern.trim())
            .filter(|p| !p.is_empty())
            .collect();
        prop_assert_eq!(set.patterns().len(), kept.len());
        prop_assert_eq!(set.is_empty(), kept.is_empty());
        prop_assert_eq!(set.to_string(), kept.join(","));
        prop_assert_eq!(
            set.matches(&name),
            kept.iter().any(|p| reference_matches(p, &name)),
            "{:?} against {:?}", padded, name
        );
    }
}
