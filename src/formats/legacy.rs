//! The legacy fixed-width mainframe export and its layout file.
