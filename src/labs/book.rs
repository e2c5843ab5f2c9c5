//! Building and serving the guide.
