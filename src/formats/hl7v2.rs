//! HL7 v2.5.1, both directions: the messages an interface engine sends
//! (ADT^A01 at admission, ORU^R01 results, ADT^A03 at discharge), a parser
//! that reads any feed of them, a decoder to the clinical records, ACKs and
//! MLLP framing.
//!
//! The parser borrows the text and records only where segments and fields
//! start and end; components, repetitions and escapes are decoded when a
//! value is asked for, so reading one OBX value from a message costs one
//! pass over its bytes.

mod decode;
mod escape;
mod parse;
mod write;

pub use decode::{
    ack, decode, decode_with, first_obx_error, message_event, parse_dtm, AckCode, Decoded, Obx,
    PatientIdRule, PatientIdentity, ResultValue, Visit,
};
pub use escape::{escape, unescape};
pub use parse::{
    mllp_deframe, split_messages, strip_bom, Delimiters, Feed, Limits, Message, Segment,
};
pub use write::{messages, LOINC_TAG};

/// MLLP frame: VT, message, FS CR.
pub fn mllp_frame(msg: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 3);
    out.push(0x0b);
    out.extend_from_slice(msg.as_bytes());
    out.extend_from_slice(&[0x1c, 0x0d]);
    out
}
