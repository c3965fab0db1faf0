//! A short, fixed-size text naming what an operation is about (a URL, a file, an order
//! number), kept in the operation's slot so that labelling allocates nothing.

use core::fmt;

/// How many bytes of text a [`Label`] keeps. Longer text is cut at a character
/// boundary. With its length and truncation flag a label is 32 bytes, the memory it adds
/// to every window slot (IMPLEMENTATION.md, Memory).
///
/// ```
/// use ephemeral::{LABEL_CAPACITY, Label};
///
/// let fits = Label::new(&"a".repeat(LABEL_CAPACITY));
/// assert_eq!(fits.as_str().len(), LABEL_CAPACITY);
/// assert!(!fits.is_truncated());
///
/// let url = "https://example.com/orders/12345/items";
/// let cut = Label::new(url);
/// assert!(cut.is_truncated());
/// assert_eq!(cut.as_str(), &url[..LABEL_CAPACITY], "a prefix of the text");
///
/// // A character that would straddle the limit is dropped whole.
/// let accented = Label::new(&format!("{}é", "a".repeat(LABEL_CAPACITY - 1)));
/// assert_eq!(accented.as_str().len(), LABEL_CAPACITY - 1);
/// ```
pub const LABEL_CAPACITY: usize = 30;

/// What an operation is about, in up to [`LABEL_CAPACITY`] bytes of text: given at
/// enqueue (`enqueue_labelled`), shown on every snapshot of the operation (so a failed
/// one can be listed, e.g. by URL, without putting the URL into the error type).
///
/// A label is `Copy` and never allocates. Write into it with [`core::fmt::Write`]
/// (`write!`): text past the capacity is dropped at a character boundary, and once
/// anything was dropped nothing more is appended, so a label is always a prefix of what
/// was written ([`is_truncated`](Self::is_truncated) tells).
///
/// ```
/// use core::fmt::Write;
/// use ephemeral::{Label, LABEL_CAPACITY};
///
/// let mut label = Label::new("GET ");
/// write!(label, "/orders/{}", 42).unwrap();
/// assert_eq!(label.as_str(), "GET /orders/42");
///
/// let long = Label::new(&"é".repeat(20));
/// assert!(long.is_truncated());
/// assert!(long.as_str().len() <= LABEL_CAPACITY);
/// assert_eq!(core::mem::size_of::<Label>(), 32);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Label {
    bytes: [u8; LABEL_CAPACITY],
    len: u8,
    truncated: bool,
}

impl Label {
    /// The label of an operation enqueued without one.
    ///
    /// ```
    /// assert!(ephemeral::Label::EMPTY.is_empty());
    /// ```
    pub const EMPTY: Self = Self {
        bytes: [0; LABEL_CAPACITY],
        len: 0,
        truncated: false,
    };

    /// A label holding as much of `text` as fits.
    ///
    /// ```
    /// assert_eq!(ephemeral::Label::new("https://example.com").as_str(), "https://example.com");
    /// ```
    pub fn new(text: &str) -> Self {
        let mut label = Self::EMPTY;
        label.push(text);
        label
    }

    /// The kept text.
    ///
    /// ```
    /// assert_eq!(ephemeral::Label::new("job").as_str(), "job");
    /// ```
    pub fn as_str(&self) -> &str {
        // Only whole characters of `&str`s are ever copied in (see `push`), so the kept
        // bytes are UTF-8 and the fallback is never taken.
        core::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    /// Whether no text is kept.
    ///
    /// ```
    /// assert!(!ephemeral::Label::new("x").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether text was dropped because it did not fit.
    ///
    /// ```
    /// assert!(ephemeral::Label::new(&"x".repeat(40)).is_truncated());
    /// assert!(!ephemeral::Label::new("x").is_truncated());
    /// ```
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Appends as much of `text` as fits, cut at a character boundary; nothing more
    /// once something was dropped.
    fn push(&mut self, text: &str) {
        if self.truncated {
            return;
        }
        let start = usize::from(self.len);
        let mut end = text.len().min(LABEL_CAPACITY - start);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.bytes[start..start + end].copy_from_slice(&text.as_bytes()[..end]);
        // At most LABEL_CAPACITY (< 256) bytes are kept.
        self.len = (start + end) as u8;
        self.truncated = end < text.len();
    }
}

impl Default for Label {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl From<&str> for Label {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

/// Never fails: text that does not fit is dropped (see [`Label::is_truncated`]).
impl fmt::Write for Label {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.push(text);
        Ok(())
    }
}

impl fmt::Debug for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn a_label_is_a_prefix_of_what_was_written_cut_at_a_character_boundary() {
        let mut label = Label::new(&"a".repeat(LABEL_CAPACITY - 1));
        write!(label, "é").unwrap();
        assert!(label.is_truncated(), "the two-byte character does not fit");
        assert_eq!(label.as_str().len(), LABEL_CAPACITY - 1);
        write!(label, "b").unwrap();
        assert_eq!(
            label.as_str(),
            "a".repeat(LABEL_CAPACITY - 1),
            "nothing is appended after a cut, so the label stays a prefix"
        );
    }

    /// Under miri: the label is read under the reader count, and a reused slot shows its
    /// new operation's label, never the evicted one's.
    #[test]
    fn a_reused_slot_shows_its_own_operations_label() {
        use crate::operation::State;
        use crate::options::Options;
        use crate::window::Window;
        use core::time::Duration;

        let t = Duration::ZERO;
        let options = Options::default()
            .queue_capacity(1)
            .max_concurrency(1)
            .max_tracked(1)
            .pin_budget(0);
        let window: Window<u8, ()> = Window::new(&options).unwrap();
        let mut last = None;
        for n in 0..(window.capacity() as u8 * 3) {
            let label = Label::new(if n % 2 == 0 { "even" } else { "odd" });
            let id = window.insert_labelled(n, label, t).unwrap();
            assert_eq!(window.get(id, t).unwrap().label, label);
            window.start(id, t).unwrap();
            window.finish(id, State::Completed, (), t).unwrap();
            let mut seen = None;
            window.visit(t, |s| {
                if s.id == id {
                    seen = Some(s.label)
                }
            });
            assert_eq!(seen, Some(label));
            if let Some(old) = last {
                assert!(window.get(old, t).is_none(), "a window of one evicted it");
            }
            last = Some(id);
        }
        let unlabelled = window.insert(0, t).unwrap();
        assert!(
            window.get(unlabelled, t).unwrap().label.is_empty(),
            "insert resets the label"
        );
    }

    #[test]
    fn a_label_that_fits_exactly_is_not_truncated() {
        let label = Label::new(&"z".repeat(LABEL_CAPACITY));
        assert_eq!(label.as_str().len(), LABEL_CAPACITY);
        assert!(!label.is_truncated());
        assert!(Label::new("").is_empty());
    }
}
