//! Stage `train`: see ../shared/DESIGN.md and the open issue that builds it.
