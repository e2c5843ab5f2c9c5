//! Workshop tools.
