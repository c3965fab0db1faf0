//! A text buffer of fixed capacity, so a case can write failures between its two heap
//! measurements without the writing showing up as a leak.

use core::fmt;

/// Text that never grows past the capacity it was made with (the rest is cut, marked).
pub struct Report {
    text: String,
    truncated: bool,
}

impl Report {
    /// An empty report of `capacity` bytes, allocated now.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            text: String::with_capacity(capacity),
            truncated: false,
        }
    }

    /// Empties it, keeping the allocation.
    pub fn clear(&mut self) {
        self.text.clear();
        self.truncated = false;
    }

    /// The text so far.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Whether some text did not fit.
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

impl fmt::Write for Report {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.text.capacity() - self.text.len();
        if s.len() <= room {
            self.text.push_str(s);
        } else {
            let mut end = room;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            self.text.push_str(&s[..end]);
            self.truncated = true;
        }
        Ok(())
    }
}
