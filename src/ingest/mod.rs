//! Stage `ingest`: see ../shared/DESIGN.md and the open issue that builds it.
