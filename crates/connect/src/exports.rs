//! The portals' own exports, read into a [`crate::Listing`].
