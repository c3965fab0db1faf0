//! A signal's name as the table stores it: inline in a few atomic words per slot, so a
//! slot can be given to a new name without freeing memory a lock-free reader may be
//! reading. Readers copy a name out under the slot's generation check (a seqlock, see
//! `table.rs`) into a [`Name`], a small value that owns its bytes.

use core::fmt;
use core::ops::Deref;

use crate::sync::{AtomicU64, Ordering};

/// The longest name any table can store, in bytes (UTF-8). A table (or sink) asked for
/// longer names stores names up to this length, and refuses longer ones with
/// [`TableError::NameTooLong`](super::TableError::NameTooLong).
///
/// ```
/// use ephemeral::signal::{MAX_NAME_BYTES, SignalSink, TableError};
///
/// let sink = SignalSink::builder().name_bytes(1000).build();
/// assert_eq!(sink.table().name_bytes(), MAX_NAME_BYTES);
/// assert!(sink.raise("n".repeat(MAX_NAME_BYTES)).is_ok());
/// assert_eq!(
///     sink.raise("n".repeat(MAX_NAME_BYTES + 1)),
///     Err(TableError::NameTooLong { max: MAX_NAME_BYTES })
/// );
/// ```
pub const MAX_NAME_BYTES: usize = 255;

/// Bytes per storage word.
const WORD: usize = 8;

/// A copy of a signal's name, lent out by [`SignalTable::name`](super::SignalTable::name)
/// and [`SignalSink::name`](super::SignalSink::name). Names are copied rather than
/// borrowed because the table may give a slot whose name is no longer used to a new name
/// (see [`SignalTable`](super::SignalTable)). It derefs to `str`.
///
/// ```
/// let sink = ephemeral::signal::SignalSink::new();
/// let s = sink.raise("cache.cold").unwrap();
/// let name = sink.name(s).unwrap();
/// assert_eq!(name, "cache.cold");
/// assert!(name.starts_with("cache."));
/// assert_eq!(name.as_str(), "cache.cold");
/// ```
#[derive(Clone)]
pub struct Name {
    len: u8,
    bytes: [u8; MAX_NAME_BYTES],
}

impl Name {
    /// The name as a string slice, for what takes a `&str` (pattern matching, keys of
    /// a map, formatting).
    ///
    /// ```
    /// use ephemeral::signal::{Pattern, SignalSink};
    ///
    /// let sink = SignalSink::new();
    /// let s = sink.raise("error.timeout").unwrap();
    /// let name = sink.name(s).unwrap();
    /// assert!(Pattern::new("error.*").matches(name.as_str()));
    /// let owned: String = name.as_str().to_owned();
    /// assert_eq!(owned, "error.timeout");
    /// ```
    pub fn as_str(&self) -> &str {
        // The table stores only whole `str`s and readers accept only copies whose slot
        // did not change while they read, so the bytes are the UTF-8 of one name.
        core::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Storage words needed for names of up to `bytes` bytes.
pub(crate) fn words_for(bytes: usize) -> usize {
    bytes.div_ceil(WORD)
}

/// Storage word `w` of `name` (little-endian, zero-padded).
fn word(name: &[u8], w: usize) -> u64 {
    let mut buf = [0u8; WORD];
    let start = w * WORD;
    let chunk = name.get(start..name.len().min(start + WORD)).unwrap_or(&[]);
    buf[..chunk.len()].copy_from_slice(chunk);
    u64::from_le_bytes(buf)
}

/// The word a slot's `head` holds for `name`: its length in bits 0-7 and a hash of its
/// bytes above, so a lookup compares one word per slot before comparing names.
pub(crate) fn head(name: &str) -> u64 {
    let bytes = name.as_bytes();
    // A multiply-rotate mix per word (in the spirit of FxHash): cheap, and only a filter.
    let mut hash = 0u64;
    for w in 0..words_for(bytes.len()) {
        hash = (hash.rotate_left(5) ^ word(bytes, w)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    (hash << 8) | bytes.len() as u64
}

/// Writes `name` into `words` (the caller owns the slot).
pub(crate) fn store(words: &[AtomicU64], name: &str) {
    for (w, cell) in words.iter().enumerate().take(words_for(name.len())) {
        // Release: a reader that loads this value sees the slot's retirement before it,
        // so its generation re-check fails (table.rs, names).
        cell.store(word(name.as_bytes(), w), Ordering::Release);
    }
}

/// Whether `words` hold `name` (the caller re-checks the slot's generation after).
pub(crate) fn equals(words: &[AtomicU64], name: &str) -> bool {
    (0..words_for(name.len())).all(|w| words[w].load(Ordering::Acquire) == word(name.as_bytes(), w))
}

/// Copies `len` bytes out of `words` (the caller re-checks the slot's generation after
/// and discards the copy if it changed; a torn copy may not be UTF-8 and is never used).
pub(crate) fn load(words: &[AtomicU64], len: usize) -> Name {
    let mut name = Name {
        len: len.min(MAX_NAME_BYTES) as u8,
        bytes: [0; MAX_NAME_BYTES],
    };
    for (w, word) in words
        .iter()
        .enumerate()
        .take(words_for(usize::from(name.len)))
    {
        let value = word.load(Ordering::Acquire).to_le_bytes();
        let start = w * WORD;
        let end = (start + WORD).min(usize::from(name.len));
        name.bytes[start..end].copy_from_slice(&value[..end - start]);
    }
    name
}

/// Whether a copy is a whole name (a copy made while the slot changed may not be).
pub(crate) fn is_whole(name: &Name) -> bool {
    core::str::from_utf8(&name.bytes[..usize::from(name.len)]).is_ok()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn a_name_round_trips_through_its_words_at_every_length() {
        let long: alloc::string::String = "é".repeat(MAX_NAME_BYTES / 2);
        for len in [1, 7, 8, 9, 63, 64, 65, long.len()] {
            let text: alloc::string::String = long.chars().cycle().take(len).collect();
            let text = if text.len() > MAX_NAME_BYTES {
                &text[..MAX_NAME_BYTES - 1]
            } else {
                &text
            };
            let words: Vec<AtomicU64> = (0..words_for(MAX_NAME_BYTES))
                .map(|_| AtomicU64::new(0))
                .collect();
            store(&words, text);
            assert!(equals(&words, text));
            let copy = load(&words, text.len());
            assert!(is_whole(&copy));
            assert_eq!(copy, text);
            assert_eq!(head(text) & 0xff, text.len() as u64);
        }
    }

    #[test]
    fn heads_tell_apart_names_of_one_length() {
        assert_ne!(head("host-0001"), head("host-0002"));
        assert_ne!(head("a"), head("b"));
    }
}
