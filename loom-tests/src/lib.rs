//! Only the `tests/` of this crate matter; they run under `--cfg loom`.
