//! Stage `infra`: see ../shared/DESIGN.md and the open issue that builds it.
pub mod bench;
pub mod cost;
pub mod doctor;
pub mod load;
