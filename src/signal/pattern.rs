//! Glob patterns over signal names: `*` matches any run of characters (dots included,
//! and the empty run), `?` matches exactly one character; everything else matches
//! itself, case-sensitively. A comma-separated list matches when any of its patterns does.
//!
//! A pattern without `?` is compiled to its literal pieces between stars and matched by
//! prefix, suffix and leftmost search of the middle pieces in order (greedy leftmost is
//! exact when only `*` is involved); `error.*` is then one `starts_with`. A pattern with
//! `?` uses the single-backtrack-point wildcard algorithm (as popularised by Kirk
//! Krauss, "Matching Wildcards: An Algorithm", Dr. Dobb's, 2008): remember the last `*`
//! and the text position it was tried at, and on a mismatch let that star swallow one
//! more character. Neither allocates.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

/// One compiled glob pattern.
///
/// ```
/// use ephemeral::signal::Pattern;
///
/// let p = Pattern::new("error.*");
/// assert!(p.matches("error.timeout.db"));
/// assert!(p.matches("error."));
/// assert!(!p.matches("Error.timeout"));
/// assert!(Pattern::new("db.?").matches("db.1"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    text: Box<str>,
    /// For a pattern without `?`: the pieces between its stars (one piece: no star).
    pieces: Option<Box<[Box<str>]>>,
}

impl Pattern {
    /// Compiles `pattern` (surrounding whitespace is trimmed). Every text is a valid
    /// pattern: compiling never fails. An empty pattern matches only the empty name, so
    /// it matches no signal.
    ///
    /// ```
    /// use ephemeral::signal::Pattern;
    ///
    /// let p = Pattern::new("  backpressure.*\n");
    /// assert_eq!(p.as_str(), "backpressure.*");
    /// assert!(p.matches("backpressure.db"));
    /// assert!(!Pattern::new("").matches("backpressure.db"));
    /// ```
    pub fn new(pattern: &str) -> Self {
        let text: Box<str> = pattern.trim().into();
        let pieces = (!text.contains('?')).then(|| text.split('*').map(Box::from).collect());
        Self { text, pieces }
    }

    /// The pattern's text.
    ///
    /// ```
    /// assert_eq!(ephemeral::signal::Pattern::new(" a.* ").as_str(), "a.*");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern contains no wildcard (so it names exactly one signal).
    ///
    /// ```
    /// use ephemeral::signal::Pattern;
    /// assert!(Pattern::new("circuit-open").is_literal());
    /// assert!(!Pattern::new("error.*").is_literal());
    /// ```
    pub fn is_literal(&self) -> bool {
        !self.text.contains(['*', '?'])
    }

    /// Whether `name` matches the whole pattern: `*` matches any run of characters
    /// (dots included, and none), `?` exactly one character; the rest matches itself,
    /// case-sensitively. Allocates nothing.
    ///
    /// ```
    /// use ephemeral::signal::Pattern;
    ///
    /// let timeouts = Pattern::new("error.*.timeout");
    /// assert!(timeouts.matches("error.db.timeout"));
    /// assert!(timeouts.matches("error.db.primary.timeout"), "`*` crosses dots");
    /// assert!(!timeouts.matches("error.db.timeout.retry"), "the whole name must match");
    /// assert!(!timeouts.matches("ERROR.db.timeout"), "case-sensitive");
    ///
    /// let shard = Pattern::new("shard-?");
    /// assert!(shard.matches("shard-7") && shard.matches("shard-é"));
    /// assert!(!shard.matches("shard-") && !shard.matches("shard-12"));
    /// ```
    #[inline]
    pub fn matches(&self, name: &str) -> bool {
        match &self.pieces {
            Some(pieces) => stars(pieces, name),
            None => glob(self.text.as_bytes(), name.as_bytes()),
        }
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.as_str())
    }
}

/// Matches `name` against `pieces` joined by `*`.
#[inline]
fn stars(pieces: &[Box<str>], name: &str) -> bool {
    let [first, middle @ .., last] = pieces else {
        // One piece: a literal.
        return pieces.first().is_some_and(|only| **only == *name);
    };
    // Empty pieces (a leading or trailing `*`) are skipped rather than compared: an
    // empty-slice comparison still calls into `bcmp`, which measured ~100 ns here.
    let bytes = name.as_bytes();
    if bytes.len() < first.len() + last.len()
        || !(first.is_empty() || bytes.starts_with(first.as_bytes()))
        || !(last.is_empty() || bytes.ends_with(last.as_bytes()))
    {
        return false;
    }
    // Both bounds are character boundaries: they end a matched prefix and start a suffix.
    let mut rest = &name[first.len()..name.len() - last.len()];
    for piece in middle.iter().filter(|piece| !piece.is_empty()) {
        match rest.find(&**piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// The length in bytes of the UTF-8 character that starts with `lead`.
fn char_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // The last `*` seen (pattern index after it) and the text index it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                p += 1;
                star = Some((p, t));
                continue;
            }
            Some(b'?') => {
                p += 1;
                t += char_len(text[t]);
                continue;
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        // Mismatch: let the last star swallow one more character, or fail.
        match star {
            Some((after_star, tried)) => {
                let next = tried + char_len(text[tried]);
                star = Some((after_star, next));
                p = after_star;
                t = next;
            }
            None => return false,
        }
    }
    // Text consumed (a `?` may have stepped past a truncated character: then no match).
    t == text.len() && pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// A comma-separated list of patterns, as the option sets (`cancel_on`, `defer_on`, ...)
/// take them. Empty entries are ignored.
///
/// ```
/// use ephemeral::signal::PatternSet;
///
/// let set = PatternSet::parse("circuit-open, backpressure.*");
/// assert!(set.matches("backpressure.downstream"));
/// assert!(set.matches("circuit-open"));
/// assert!(!set.matches("circuit-closed"));
/// assert_eq!(set.to_string(), "circuit-open,backpressure.*");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PatternSet {
    patterns: Vec<Pattern>,
}

impl PatternSet {
    /// Parses a comma-separated list: each entry is trimmed and compiled as a
    /// [`Pattern`]; empty entries are dropped. Never fails.
    ///
    /// ```
    /// use ephemeral::signal::PatternSet;
    ///
    /// let set = PatternSet::parse(" circuit-open ,, backpressure.* ,");
    /// let texts: Vec<_> = set.patterns().iter().map(|p| p.as_str()).collect();
    /// assert_eq!(texts, ["circuit-open", "backpressure.*"]);
    /// assert!(PatternSet::parse("").is_empty());
    /// ```
    pub fn parse(list: &str) -> Self {
        Self {
            patterns: list
                .split(',')
                .map(Pattern::new)
                .filter(|p| !p.as_str().is_empty())
                .collect(),
        }
    }

    /// The patterns in the set.
    ///
    /// ```
    /// assert_eq!(ephemeral::signal::PatternSet::parse("a,b").patterns().len(), 2);
    /// ```
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether the set has no pattern (it then matches nothing).
    ///
    /// ```
    /// assert!(ephemeral::signal::PatternSet::parse(" , ").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether any pattern matches `name`; an empty set matches nothing.
    ///
    /// ```
    /// use ephemeral::signal::PatternSet;
    ///
    /// let stop = PatternSet::parse("circuit-open, shutting-down");
    /// assert!(stop.matches("shutting-down"));
    /// assert!(!stop.matches("circuit-open.db"), "each pattern matches whole names");
    /// assert!(!PatternSet::parse("").matches(""));
    /// ```
    pub fn matches(&self, name: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(name))
    }
}

impl fmt::Display for PatternSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.patterns.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(p.as_str())?;
        }
        Ok(())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use alloc::string::String;

    fn m(pattern: &str, name: &str) -> bool {
        Pattern::new(pattern).matches(name)
    }

    #[test]
    fn star_matches_any_run_including_dots_and_nothing() {
        assert!(m("error.*", "error.timeout.db"));
        assert!(m("error.*", "error."));
        assert!(m("*", ""));
        assert!(m("*", "a.b.c"));
        assert!(m("a*b*c", "abc"));
        assert!(m("a*b*c", "a.x.b.y.c"));
        assert!(!m("a*b*c", "a.x.b.y.d"));
        assert!(m("*.db", "error.timeout.db"));
        assert!(!m("*.db", "error.timeout.dbx"));
    }

    #[test]
    fn question_mark_matches_exactly_one_character_even_multibyte() {
        assert!(m("db.?", "db.1"));
        assert!(!m("db.?", "db."));
        assert!(!m("db.?", "db.12"));
        assert!(m("caf?", "café"));
        assert!(m("?", "é"));
        assert!(!m("??", "é"));
    }

    #[test]
    fn matching_is_case_sensitive_and_whole_name() {
        assert!(!m("error", "Error"));
        assert!(!m("error", "error.timeout"));
        assert!(!m("timeout", "error.timeout"));
        assert!(m("error", "error"));
    }

    #[test]
    fn backtracking_finds_a_late_match() {
        assert!(m("*aab", "aaaaaaab"));
        assert!(m("*a*a*a*b", "aaaaaaab"));
        assert!(!m("*a*a*a*c", "aaaaaaab"));
    }

    /// The obvious recursive definition, exponential but clearly right on short inputs.
    fn reference(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => (0..=t.len()).any(|i| reference(rest, &t[i..])),
            Some(('?', rest)) => !t.is_empty() && reference(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && reference(rest, &t[1..]),
        }
    }

    #[test]
    fn agrees_with_the_recursive_definition_on_many_generated_cases() {
        let alphabet = ['a', 'b', '.', 'é'];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..if cfg!(miri) { 200 } else { 20_000 } {
            let pattern: String = (0..next(7))
                .map(|_| match next(6) {
                    0 => '*',
                    1 => '?',
                    _ => alphabet[next(alphabet.len())],
                })
                .collect();
            let text: String = (0..next(8))
                .map(|_| alphabet[next(alphabet.len())])
                .collect();
            let p: Vec<char> = pattern.chars().collect();
            let t: Vec<char> = text.chars().collect();
            assert_eq!(
                m(&pattern, &text),
                reference(&p, &t),
                "{pattern:?} against {text:?}"
            );
        }
    }

    #[test]
    fn a_set_matches_when_any_entry_does_and_skips_empty_entries() {
        let set = PatternSet::parse(" a.* ,, b ");
        assert_eq!(set.patterns().len(), 2);
        assert!(set.matches("a.x") && set.matches("b") && !set.matches("c"));
        assert!(!PatternSet::parse("").matches(""));
    }
}

/// Builder methods that set `PatternSet` fields from a comma-separated list of globs,
/// written once for every type that gates on signals (`Options`, `Lane`).
macro_rules! pattern_setters {
    ($($(#[$doc:meta])* $field:ident;)+) => {$(
        $(#[$doc])*
        pub fn $field(mut self, patterns: &str) -> Self {
            self.$field = $crate::signal::PatternSet::parse(patterns);
            self
        }
    )+};
}
pub(crate) use pattern_setters;
