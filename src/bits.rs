//! Bit fields of packed words.
//!
//! Several atomics in the crate pack more than one value into one word, so that one
//! atomic operation reads or changes them together: the slab's state word and free-list
//! head, the window's signal marks, the signal history's sequence and event words, a
//! listener slot's state, the concurrency gate's limit and holders, and an
//! [`OperationId`](crate::OperationId)'s raw form. Each word declares its layout once,
//! as [`Field`]s next to each other, and every read or write of a value goes through
//! them instead of through shifts and masks written out by hand.
//!
//! A field is only a description: it holds no word, and its methods are `const` and
//! compile to the same shifts and masks. Atomic operations on the words stay where they
//! are; the fields only compute the values those operations load, store or compare.

use core::marker::PhantomData;

/// `width` bits of a `W` word, from bit `shift` up.
///
/// ```text
///   W::BITS            shift + width       shift            0
///  +------------------+-------------------+----------------+
///  |       ...        |      the field    |      ...       |
///  +------------------+-------------------+----------------+
/// ```
pub(crate) struct Field<W> {
    shift: u32,
    width: u32,
    word: PhantomData<W>,
}

impl<W> Clone for Field<W> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<W> Copy for Field<W> {}

impl<W> core::fmt::Debug for Field<W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "bits {}..{}", self.shift, self.shift + self.width)
    }
}

/// An unsigned integer that [`Field`]s can be cut from.
pub(crate) trait Bits {
    /// The width of the word.
    const BITS: u32;
}

impl<W: Bits> Field<W> {
    /// The `width` bits from bit `shift` up; a layout that does not fit the word fails
    /// to compile (fields are built in `const` items).
    pub(crate) const fn new(shift: u32, width: u32) -> Self {
        assert!(width > 0 && shift < W::BITS && width <= W::BITS - shift);
        Self {
            shift,
            width,
            word: PhantomData,
        }
    }

    /// The single bit `bit`: a flag.
    pub(crate) const fn flag(bit: u32) -> Self {
        Self::new(bit, 1)
    }

    /// The bits from `shift` to the top of the word.
    pub(crate) const fn top(shift: u32) -> Self {
        Self::new(shift, W::BITS - shift)
    }

    /// The `width` bits right above this field.
    pub(crate) const fn above(self, width: u32) -> Self {
        Self::new(self.shift + self.width, width)
    }
}

macro_rules! fields_of {
    ($($word:ty),*) => {$(
        impl Bits for $word {
            const BITS: u32 = <$word>::BITS;
        }

        #[allow(dead_code, reason = "each word type uses the operations its words need")]
        impl Field<$word> {
            /// The field's bits, in place.
            pub(crate) const fn mask(self) -> $word {
                self.max() << self.shift
            }

            /// The largest value the field holds.
            pub(crate) const fn max(self) -> $word {
                <$word>::MAX >> (<$word>::BITS - self.width)
            }

            /// One in this field: adding it to a word adds one to the field's value (a
            /// count that is kept below [`max`](Self::max) leaves the fields above alone).
            pub(crate) const fn unit(self) -> $word {
                1 << self.shift
            }

            /// The field's value in `word`.
            pub(crate) const fn get(self, word: $word) -> $word {
                (word & self.mask()) >> self.shift
            }

            /// Whether any bit of the field is set in `word` (for a flag: whether it is set).
            pub(crate) const fn is_set(self, word: $word) -> bool {
                word & self.mask() != 0
            }

            /// `word` with the field's value replaced by `value`, which must fit.
            pub(crate) const fn set(self, word: $word, value: $word) -> $word {
                debug_assert!(value <= self.max(), "value wider than its field");
                (word & !self.mask()) | ((value << self.shift) & self.mask())
            }

            /// A word holding `value` in this field and zeros elsewhere.
            pub(crate) const fn place(self, value: $word) -> $word {
                self.set(0, value)
            }
        }
    )*};
}

fields_of!(u64, usize, u128);

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn fields_read_and_write_their_own_bits_only() {
        const LOW: Field<u64> = Field::new(0, 4);
        const FLAG: Field<u64> = LOW.above(1);
        const HIGH: Field<u64> = Field::top(32);
        assert_eq!(
            (LOW.mask(), FLAG.mask(), HIGH.mask()),
            (0xF, 0x10, !0 << 32)
        );
        assert_eq!(
            (LOW.max(), FLAG.max(), HIGH.max()),
            (15, 1, u64::from(u32::MAX))
        );
        let word = HIGH.set(FLAG.set(LOW.place(9), 1), 7);
        assert_eq!(word, (7 << 32) | 0x10 | 9);
        assert_eq!((LOW.get(word), FLAG.get(word), HIGH.get(word)), (9, 1, 7));
        assert!(FLAG.is_set(word) && !FLAG.is_set(LOW.set(word, 0) & !0x10));
        assert_eq!(LOW.get(LOW.set(word, 3)), 3);
        assert_eq!(HIGH.get(word + HIGH.unit()), 8);
        assert_eq!(LOW.set(word, 3) & !LOW.mask(), word & !LOW.mask());
    }

    #[test]
    fn a_field_may_span_a_whole_word() {
        const ALL: Field<usize> = Field::top(0);
        assert_eq!(ALL.mask(), usize::MAX);
        assert_eq!(ALL.get(usize::MAX), usize::MAX);
        const UPPER: Field<u128> = Field::top(64);
        assert_eq!(UPPER.place(u128::from(u64::MAX)), u128::MAX << 64);
    }
}
