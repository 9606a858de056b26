//! Mapped CSV: any file without an API, read through a saved column map.
