//! Discharge notes with planted PHI (filled in by the notes increment).

use super::population::Population;
use crate::clinical::PatientBundle;

/// Add one discharge note per stay to the bundle, with its PHI spans.
pub fn add_notes(_pop: &Population, _index: u64, _b: &mut PatientBundle) {}
