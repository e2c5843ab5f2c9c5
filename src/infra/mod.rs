//! Stage `infra`: what the machine can do (`doctor`), how fast it trains,
//! serves and reads (`bench`, `load`), and what a run costs and returns (`cost`).
pub mod bench;
pub mod cost;
pub mod doctor;
pub mod load;
