//! Policy packs (in progress).
