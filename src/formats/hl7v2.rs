//! HL7 v2.5.1: ADT^A01, ADT^A03 and ORU^R01 messages; MLLP framing.
use crate::clinical::PatientBundle;

/// The messages an interface engine would send for this patient, in time
/// order: per stay an ADT^A01 at admission, ORU^R01 results, ADT^A03 at
/// discharge. Segments end with CR. `sending_facility` fills MSH-4.
pub fn messages(_b: &PatientBundle, _sending_facility: &str) -> Vec<String> {
    Vec::new()
}

/// MLLP frame: VT, message, FS CR.
pub fn mllp_frame(msg: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 3);
    out.push(0x0b);
    out.extend_from_slice(msg.as_bytes());
    out.extend_from_slice(&[0x1c, 0x0d]);
    out
}
