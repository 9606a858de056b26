//! The rule language (in progress).
