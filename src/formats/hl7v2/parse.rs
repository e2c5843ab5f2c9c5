//! The HL7 v2 parser: feeds -> messages -> segments -> fields.
//!
//! Delimiters come from each message's MSH (any field, component,
//! repetition, escape and subcomponent characters). Segments may end in CR,
//! LF or CRLF. Parsing records byte spans only; values are split and
//! unescaped when asked for. Every problem is an `Error::BadInput` naming the
//! source, the message number, the segment (and its index), the field, what
//! was expected and what was found, never quoting field contents (they may
//! be PHI).

use std::borrow::Cow;

use super::escape::unescape;
use crate::error::{Error, Result};

/// The five delimiters a message declares in MSH-1 and MSH-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    pub field: char,
    pub component: char,
    pub repetition: char,
    pub escape: char,
    pub subcomponent: char,
}

impl Default for Delimiters {
    /// The usual `|^~\&`.
    fn default() -> Self {
        Delimiters {
            field: '|',
            component: '^',
            repetition: '~',
            escape: '\\',
            subcomponent: '&',
        }
    }
}

impl Delimiters {
    /// MSH-2 as written: component, repetition, escape, subcomponent.
    pub fn encoding_characters(&self) -> String {
        [
            self.component,
            self.repetition,
            self.escape,
            self.subcomponent,
        ]
        .iter()
        .collect()
    }
}

/// Limits that keep a hostile or broken feed from exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest field accepted, in bytes (a discharge note is a few KiB).
    pub max_field_bytes: usize,
    /// Longest message accepted, in bytes.
    pub max_message_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_field_bytes: 1 << 20,
            max_message_bytes: 16 << 20,
        }
    }
}

/// Span of one segment: its fields are `fields[first..first + count]`,
/// field 0 being the segment name.
#[derive(Debug, Clone, Copy)]
struct SegSpan {
    first: u32,
    count: u32,
}

/// One parsed message, borrowing its text.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    source: &'a str,
    number: usize,
    text: &'a str,
    delimiters: Delimiters,
    segments: Vec<SegSpan>,
    fields: Vec<(u32, u32)>,
}

/// One segment of a message.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'m, 'a> {
    msg: &'m Message<'a>,
    /// Position in the message, from 1.
    index: usize,
    span: SegSpan,
}

/// A feed of messages: a file or a stream, decoded to text.
#[derive(Debug, Clone)]
pub struct Feed {
    pub source: String,
    pub text: String,
    /// The bytes were not UTF-8 and were decoded as Latin-1 (ISO 8859-1).
    pub latin1: Option<usize>,
    /// The bytes were MLLP frames, de-framed.
    pub mllp: bool,
}

impl Feed {
    /// Decode a feed: MLLP frames are taken apart when the first byte is VT;
    /// text that is not UTF-8 is decoded as Latin-1 and reported in
    /// `warnings`, never rejected wholesale.
    pub fn from_bytes(source: &str, bytes: &[u8]) -> Result<Feed> {
        let first = bytes.iter().position(|b| !b.is_ascii_whitespace());
        let mllp = first.and_then(|i| bytes.get(i)) == Some(&0x0b);
        let joined;
        let bytes = if mllp {
            // each frame may start with its own byte-order mark
            joined = mllp_deframe(source, bytes)?
                .into_iter()
                .map(strip_bom)
                .collect::<Vec<_>>()
                .join(&b'\r');
            &joined[..]
        } else {
            strip_bom(&bytes[first.unwrap_or(0)..])
        };
        let (text, latin1) = match std::str::from_utf8(bytes) {
            Ok(t) => (t.to_string(), None),
            Err(e) => (
                bytes.iter().map(|&b| char::from(b)).collect(),
                Some(e.valid_up_to()),
            ),
        };
        Ok(Feed {
            source: source.to_string(),
            text,
            latin1,
            mllp,
        })
    }

    /// Things worth telling the user that are not errors.
    pub fn warnings(&self) -> Vec<String> {
        match self.latin1 {
            Some(at) => vec![format!(
                "{}: not UTF-8 (invalid byte at offset {at}); decoded as Latin-1",
                self.source
            )],
            None => Vec::new(),
        }
    }

    /// Every message of the feed, parsed, numbered from 1.
    pub fn messages(&self, limits: Limits) -> impl Iterator<Item = Result<Message<'_>>> {
        split_messages(&self.text)
            .into_iter()
            .enumerate()
            .map(move |(i, text)| Message::parse(&self.source, i + 1, text, limits))
    }
}

/// Take MLLP frames (VT ... FS CR) apart. Bytes between frames other than
/// whitespace, and a frame without its end, are errors.
pub fn mllp_deframe<'b>(source: &str, bytes: &'b [u8]) -> Result<Vec<&'b [u8]>> {
    let mut frames = Vec::new();
    let mut rest = bytes;
    let mut offset = 0usize;
    loop {
        let skip = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        rest = &rest[skip..];
        offset += skip;
        let Some((&first, body)) = rest.split_first() else {
            return Ok(frames);
        };
        if first != 0x0b {
            return Err(Error::bad_input(
                source,
                Some(format!("byte {offset}")),
                "an MLLP frame start (VT, 0x0B)",
                format!("byte 0x{first:02X}"),
            ));
        }
        let Some(end) = body.iter().position(|&b| b == 0x1c) else {
            return Err(Error::bad_input(
                source,
                Some(format!("frame {} at byte {offset}", frames.len() + 1)),
                "an MLLP frame end (FS CR, 0x1C 0x0D)",
                "the end of the data",
            ));
        };
        frames.push(&body[..end]);
        let mut used = end + 1;
        if body.get(used) == Some(&0x0d) {
            used += 1;
        }
        rest = &body[used..];
        offset += 1 + used;
    }
}

/// The UTF-8 byte-order mark some systems write at the start of a file or
/// of each message.
const BOM: &str = "\u{feff}";

/// `bytes` without a leading UTF-8 byte-order mark.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(BOM.as_bytes()).unwrap_or(bytes)
}

/// Split a feed into messages: a message starts at each segment that starts
/// with `MSH` (a byte-order mark before it is dropped) and ends before the
/// next one or before a batch envelope segment (FHS, BHS, BTS, FTS), which
/// belongs to no message and is dropped. Other text outside any message is
/// returned as a message of its own (it fails to parse with "missing MSH"
/// rather than vanishing).
pub fn split_messages(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    // the piece being collected: (start, is a message)
    let mut open: Option<(usize, bool)> = None;
    let mut line_start = 0usize;
    let mut close = |open: &mut Option<(usize, bool)>, end: usize| {
        if let Some((s, is_msg)) = open.take() {
            let piece = &text[s..end];
            if is_msg || !piece.trim().is_empty() {
                out.push(piece);
            }
        }
    };
    for i in 0..=bytes.len() {
        if i < bytes.len() && bytes[i] != b'\r' && bytes[i] != b'\n' {
            continue;
        }
        let line = &bytes[line_start..i];
        let bom = if line.starts_with(BOM.as_bytes()) {
            BOM.len()
        } else {
            0
        };
        let name = &line[bom..];
        if is_msh_at(name, 0) {
            close(&mut open, line_start);
            open = Some((line_start + bom, true));
        } else if is_envelope(name) {
            close(&mut open, line_start);
        } else if open.is_none() && !line.iter().all(u8::is_ascii_whitespace) {
            open = Some((line_start, false));
        }
        line_start = i + 1;
    }
    close(&mut open, bytes.len());
    out
}

/// A batch or file header or trailer line: FHS, BHS, BTS or FTS, then a
/// delimiter or the end of the line.
fn is_envelope(line: &[u8]) -> bool {
    matches!(line.get(..3), Some(b"FHS" | b"BHS" | b"BTS" | b"FTS"))
        && line.get(3).is_none_or(|&b| is_delimiter(b))
}

fn is_msh_at(bytes: &[u8], at: usize) -> bool {
    matches!(bytes.get(at..at + 4), Some([b'M', b'S', b'H', sep]) if is_delimiter(*sep))
}

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_punctuation()
}

impl<'a> Message<'a> {
    /// Parse one message. `source` and `number` name it in errors.
    pub fn parse(source: &'a str, number: usize, text: &'a str, limits: Limits) -> Result<Self> {
        let err = |location: String, expected: &str, found: String| {
            Error::bad_input(
                source,
                Some(format!("message {number}, {location}")),
                expected,
                found,
            )
        };
        let text = text.trim_start_matches(['\r', '\n', ' ', '\t', '\u{feff}']);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.len() > limits.max_message_bytes {
            return Err(err(
                "whole message".into(),
                &format!("at most {} bytes", limits.max_message_bytes),
                format!("{} bytes", text.len()),
            ));
        }
        let bytes = text.as_bytes();
        if !bytes.starts_with(b"MSH") {
            return Err(err(
                "segment 1".into(),
                "a message starting with an MSH segment",
                describe_start(text),
            ));
        }
        let delimiters = read_delimiters(bytes).map_err(|found| {
            err(
                "segment MSH #1, field MSH-1/MSH-2".into(),
                "a field separator and 4 distinct encoding characters, like |^~\\&",
                found,
            )
        })?;
        let fs = delimiters.field as u8;
        let mut segments = Vec::with_capacity(16);
        let mut fields: Vec<(u32, u32)> = Vec::with_capacity(128);
        let mut pos = 0usize;
        while pos < bytes.len() {
            let end = bytes[pos..]
                .iter()
                .position(|&b| b == b'\r' || b == b'\n')
                .map_or(bytes.len(), |e| pos + e);
            if end > pos {
                let index = segments.len() + 1;
                let first = fields.len() as u32;
                let line = &bytes[pos..end];
                let name_ok = line.len() >= 3
                    && line[..3]
                        .iter()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                    && (line.len() == 3 || line[3] == fs);
                if !name_ok {
                    return Err(err(
                        format!("segment #{index}"),
                        &format!(
                            "a 3-character segment name followed by '{}'",
                            delimiters.field
                        ),
                        describe_bad_segment(line, fs),
                    ));
                }
                let mut start = pos;
                for (k, &b) in line.iter().enumerate() {
                    if b == fs {
                        fields.push((start as u32, (pos + k) as u32));
                        start = pos + k + 1;
                    }
                }
                fields.push((start as u32, end as u32));
                let count = fields.len() as u32 - first;
                let name = &text[pos..pos + 3];
                for (f, &(s, e)) in fields[first as usize..].iter().enumerate() {
                    let len = (e - s) as usize;
                    if len > limits.max_field_bytes {
                        let field = if name == "MSH" { f + 1 } else { f };
                        return Err(err(
                            format!("segment {name} #{index}, field {name}-{field}"),
                            &format!("a field of at most {} bytes", limits.max_field_bytes),
                            format!("{len} bytes"),
                        ));
                    }
                }
                segments.push(SegSpan { first, count });
            }
            pos = end + 1;
        }
        let msg = Message {
            source,
            number,
            text,
            delimiters,
            segments,
            fields,
        };
        // MSH-9 (message type) and MSH-12 (version) must be there: a header
        // cut short is a truncated message, not a message with no type.
        let msh = msg.segment(0);
        let has_type = msh.and_then(|s| s.raw(9)).is_some_and(|t| !t.is_empty());
        let has_version = msh.and_then(|s| s.raw(12)).is_some();
        if !has_type || !has_version {
            let n = msh.map_or(0, |s| s.field_count());
            return Err(msg.error(
                "MSH",
                1,
                if has_type { 12 } else { 9 },
                "a complete MSH segment with MSH-9 (message type) and MSH-12 (version)",
                &format!("a segment with {n} fields (truncated)"),
            ));
        }
        Ok(msg)
    }

    /// The message's delimiters.
    pub fn delimiters(&self) -> &Delimiters {
        &self.delimiters
    }

    /// The message's number in its feed, from 1.
    pub fn number(&self) -> usize {
        self.number
    }

    pub fn source(&self) -> &'a str {
        self.source
    }

    /// The message text as parsed (terminators untouched).
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// All segments, in order.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'_, 'a>> {
        (0..self.segments.len()).filter_map(move |i| self.segment(i))
    }

    fn segment(&self, i: usize) -> Option<Segment<'_, 'a>> {
        self.segments.get(i).map(|&span| Segment {
            msg: self,
            index: i + 1,
            span,
        })
    }

    /// Segments with this name, in order.
    pub fn segments_named<'m>(
        &'m self,
        name: &'m str,
    ) -> impl Iterator<Item = Segment<'m, 'a>> + 'm {
        self.segments().filter(move |s| s.name() == name)
    }

    /// The first segment with this name.
    pub fn first(&self, name: &str) -> Option<Segment<'_, 'a>> {
        self.segments().find(|s| s.name() == name)
    }

    /// A value by terser-like path: `PID-5.1`, `PID-3(2).1` (second
    /// repetition), `PID-11.1.1` (subcomponent), `MSH-9`. Decoded, from the
    /// first segment of that name; `None` when absent or empty.
    pub fn get(&self, path: &str) -> Option<Cow<'a, str>> {
        let (seg, rest) = path.split_once('-')?;
        let mut parts = rest.split('.');
        let field_part = parts.next()?;
        let (field, rep) = match field_part.split_once('(') {
            Some((f, r)) => (f, r.strip_suffix(')')?.parse::<usize>().ok()?),
            None => (field_part, 1),
        };
        let field: usize = field.parse().ok()?;
        let comp: usize = parts.next().map_or(Some(0), |c| c.parse().ok())?;
        let sub: usize = parts.next().map_or(Some(0), |c| c.parse().ok())?;
        let s = self.first(seg)?;
        let raw = s.repetition(field, rep)?;
        let raw = if comp == 0 {
            raw
        } else {
            split_nth(raw, self.delimiters.component, comp)?
        };
        let raw = if sub == 0 {
            raw
        } else {
            split_nth(raw, self.delimiters.subcomponent, sub)?
        };
        (!raw.is_empty()).then(|| unescape(raw, &self.delimiters))
    }

    /// A bad-input error located in this message.
    pub fn error(
        &self,
        segment: &str,
        index: usize,
        field: usize,
        expected: &str,
        found: &str,
    ) -> Error {
        Error::bad_input(
            self.source,
            Some(format!(
                "message {}, segment {segment} #{index}, field {segment}-{field}",
                self.number
            )),
            expected,
            found,
        )
    }
}

/// The `n`th (from 1) piece of `raw` split on `sep`.
fn split_nth(raw: &str, sep: char, n: usize) -> Option<&str> {
    raw.split(sep).nth(n.checked_sub(1)?)
}

impl<'m, 'a> Segment<'m, 'a> {
    /// The three-character segment name.
    pub fn name(&self) -> &'a str {
        let (s, _) = self.msg.fields[self.span.first as usize];
        &self.msg.text[s as usize..s as usize + 3]
    }

    /// Position in the message, from 1.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The message's delimiters.
    pub fn delimiters(&self) -> &Delimiters {
        &self.msg.delimiters
    }

    /// The highest field number present.
    pub fn field_count(&self) -> usize {
        let n = self.span.count as usize - 1;
        if self.is_msh() {
            n + 1
        } else {
            n
        }
    }

    fn is_msh(&self) -> bool {
        self.name() == "MSH"
    }

    /// Field `n` as written (escapes and separators intact); MSH-1 is the
    /// field separator, MSH-2 the encoding characters.
    pub fn raw(&self, n: usize) -> Option<&'a str> {
        let part = if self.is_msh() {
            if n == 1 {
                let (s, _) = self.msg.fields[self.span.first as usize];
                return self.msg.text.get(s as usize + 3..s as usize + 4);
            }
            n.checked_sub(1)?
        } else {
            n
        };
        if part == 0 || part >= self.span.count as usize {
            return None;
        }
        let (s, e) = *self.msg.fields.get(self.span.first as usize + part)?;
        self.msg.text.get(s as usize..e as usize)
    }

    /// Repetition `rep` (from 1) of field `n`, as written.
    pub fn repetition(&self, n: usize, rep: usize) -> Option<&'a str> {
        let raw = self.raw(n)?;
        if n == 2 && self.is_msh() {
            return (rep == 1).then_some(raw);
        }
        split_nth(raw, self.msg.delimiters.repetition, rep)
    }

    /// All repetitions of field `n`, as written.
    pub fn repetitions(&self, n: usize) -> impl Iterator<Item = &'a str> + use<'a> {
        let sep = self.msg.delimiters.repetition;
        self.raw(n).into_iter().flat_map(move |r| r.split(sep))
    }

    /// Component `c` (from 1) of repetition `rep` of field `n`, decoded;
    /// `None` when absent or empty.
    pub fn component(&self, n: usize, rep: usize, c: usize) -> Option<Cow<'a, str>> {
        let raw = split_nth(self.repetition(n, rep)?, self.msg.delimiters.component, c)?;
        (!raw.is_empty()).then(|| unescape(raw, &self.msg.delimiters))
    }

    /// Component `c` of a raw repetition (from `repetitions`), decoded.
    pub fn component_of(&self, raw: &'a str, c: usize) -> Option<Cow<'a, str>> {
        let raw = split_nth(raw, self.msg.delimiters.component, c)?;
        (!raw.is_empty()).then(|| unescape(raw, &self.msg.delimiters))
    }

    /// The first component of the first repetition of field `n`, decoded.
    pub fn value(&self, n: usize) -> Option<Cow<'a, str>> {
        self.component(n, 1, 1)
    }

    /// The whole first repetition of field `n` with escapes decoded
    /// (component separators inside it kept literally).
    pub fn text(&self, n: usize) -> Option<Cow<'a, str>> {
        let raw = self.repetition(n, 1)?;
        (!raw.is_empty()).then(|| unescape(raw, &self.msg.delimiters))
    }

    /// A bad-input error about field `n` of this segment.
    pub fn error(&self, n: usize, expected: &str, found: &str) -> Error {
        self.msg.error(self.name(), self.index, n, expected, found)
    }
}

/// Read MSH-1 and MSH-2; the error says what was found.
fn read_delimiters(bytes: &[u8]) -> std::result::Result<Delimiters, String> {
    let Some(&fs) = bytes.get(3) else {
        return Err("a segment of 3 characters (truncated)".into());
    };
    if !is_delimiter(fs) {
        return Err(format!("field separator {}", show_byte(fs)));
    }
    let enc: Vec<u8> = bytes[4..]
        .iter()
        .take_while(|&&b| b != fs && b != b'\r' && b != b'\n')
        .copied()
        .collect();
    if enc.len() < 4 {
        return Err(format!("{} encoding characters", enc.len()));
    }
    let chosen = [fs, enc[0], enc[1], enc[2], enc[3]];
    if let Some(&bad) = chosen.iter().find(|&&b| !is_delimiter(b)) {
        return Err(format!("encoding character {}", show_byte(bad)));
    }
    for (i, a) in chosen.iter().enumerate() {
        if chosen[i + 1..].contains(a) {
            return Err(format!("delimiter {} used twice", show_byte(*a)));
        }
    }
    Ok(Delimiters {
        field: char::from(fs),
        component: char::from(enc[0]),
        repetition: char::from(enc[1]),
        escape: char::from(enc[2]),
        subcomponent: char::from(enc[3]),
    })
}

fn show_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", char::from(b))
    } else {
        format!("byte 0x{b:02X}")
    }
}

/// What a message that does not start with MSH starts with, without
/// quoting content: a segment name, or the character that is in the way.
fn describe_start(text: &str) -> String {
    let name: String = text
        .chars()
        .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        .collect();
    match text.chars().next() {
        _ if name.len() == 3 => format!("a segment named \"{name}\""),
        Some(c) if !c.is_ascii() => format!(
            "character U+{:04X} before the first segment{}",
            u32::from(c),
            if c == '\u{feff}' {
                " (a byte-order mark)"
            } else {
                ""
            }
        ),
        Some(_) if !name.is_empty() => format!("text starting with {} name characters", name.len()),
        Some(c) if c.is_ascii_graphic() => format!("text starting with '{c}'"),
        Some(c) => format!("text starting with byte 0x{:02X}", u32::from(c)),
        None => "nothing".to_string(),
    }
}

/// What a segment that does not start with a name and the field separator
/// looks like, without quoting its content.
fn describe_bad_segment(line: &[u8], fs: u8) -> String {
    if line.starts_with(BOM.as_bytes()) {
        return "a byte-order mark (U+FEFF) before the segment name".into();
    }
    let name_len = line
        .iter()
        .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        .count();
    match (name_len, line.get(name_len)) {
        (0..=2, None) => format!("a truncated segment of {} bytes", line.len()),
        (3, Some(&b)) if b != fs => format!(
            "segment name \"{}\" followed by {} (wrong field separator?)",
            String::from_utf8_lossy(&line[..3]),
            show_byte(b)
        ),
        (n, _) if n > 3 => format!("a segment name of {n} characters"),
        (_, Some(&b)) => format!("{} name characters then {}", name_len, show_byte(b)),
        (_, None) => format!("a segment of {} bytes", line.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_envelopes_and_byte_order_marks_are_no_messages() {
        let text = "\u{feff}FHS|^~\\&|A\rBHS|^~\\&|A\r\u{feff}MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.3\rPID|1\rMSH|^~\\&|A|B|C|D|20240101||ADT^A01|2|P|2.3\nBTS|2\nFTS|1\n";
        let msgs = split_messages(text);
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(msgs[0].starts_with("MSH|") && msgs[0].ends_with("PID|1\r"));
        assert!(msgs[1].starts_with("MSH|") && msgs[1].ends_with("|2.3\n"));
        // text outside any message is kept, to fail as no MSH
        let junk = split_messages("hello\rMSH|^~\\&|A\r");
        assert_eq!(junk, ["hello\r", "MSH|^~\\&|A\r"]);
        let feed = Feed::from_bytes(
            "f",
            "\u{feff}MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\r".as_bytes(),
        )
        .unwrap();
        assert!(feed.text.starts_with("MSH|"));
        // a mark inside a frame, after MLLP de-framing
        let framed = b"\x0b\xEF\xBB\xBFMSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\r\x1c\x0d";
        let feed = Feed::from_bytes("f", framed).unwrap();
        assert!(feed.mllp && feed.text.starts_with("MSH|"));
    }

    #[test]
    fn a_message_that_does_not_start_with_msh_says_what_it_starts_with() {
        let err = |t: &str| {
            Message::parse("f.hl7", 3, t, Limits::default())
                .unwrap_err()
                .to_string()
        };
        assert!(err("PID|1\r").ends_with("found a segment named \"PID\""));
        assert!(err("é|").contains("character U+00E9 before the first segment"));
        let seg = err("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\r\u{feff}PID|1\r");
        assert!(
            seg.contains("segment #2): expected a 3-character segment name followed by '|', found a byte-order mark (U+FEFF) before the segment name"),
            "{seg}"
        );
    }
}
