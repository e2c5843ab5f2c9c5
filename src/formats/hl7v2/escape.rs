//! HL7 v2 escape sequences: a value containing a delimiter is written with
//! `\F\` (field), `\S\` (component), `\T\` (subcomponent), `\R\`
//! (repetition) and `\E\` (escape); line breaks as `\X0D\` / `\X0A\` so a
//! note never ends a segment.

use std::borrow::Cow;

use super::parse::Delimiters;

/// `value` with every delimiter and line break escaped.
pub fn escape<'v>(value: &'v str, d: &Delimiters) -> Cow<'v, str> {
    let special = |c: char| {
        c == d.field
            || c == d.component
            || c == d.repetition
            || c == d.escape
            || c == d.subcomponent
            || c == '\r'
            || c == '\n'
    };
    if !value.contains(special) {
        return Cow::Borrowed(value);
    }
    let e = d.escape;
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        let code = if c == d.field {
            "F"
        } else if c == d.component {
            "S"
        } else if c == d.subcomponent {
            "T"
        } else if c == d.repetition {
            "R"
        } else if c == e {
            "E"
        } else if c == '\r' {
            "X0D"
        } else if c == '\n' {
            "X0A"
        } else {
            out.push(c);
            continue;
        };
        out.push(e);
        out.push_str(code);
        out.push(e);
    }
    Cow::Owned(out)
}

/// `value` with escape sequences decoded. Formatting sequences (`\H\`,
/// `\N\`) are dropped, `\.br\` becomes a line feed, `\Xhh..\` the bytes it
/// names (when they are UTF-8); anything unrecognised or unterminated is
/// kept literally, so no input is lost.
pub fn unescape<'v>(value: &'v str, d: &Delimiters) -> Cow<'v, str> {
    let e = d.escape;
    if !value.contains(e) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find(e) {
        out.push_str(&rest[..start]);
        let after = &rest[start + e.len_utf8()..];
        let Some(end) = after.find(e) else {
            out.push_str(&rest[start..]);
            return Cow::Owned(out);
        };
        let seq = &after[..end];
        match seq {
            "F" => out.push(d.field),
            "S" => out.push(d.component),
            "T" => out.push(d.subcomponent),
            "R" => out.push(d.repetition),
            "E" => out.push(e),
            "H" | "N" => {}
            ".br" => out.push('\n'),
            _ => match hex_bytes(seq) {
                Some(text) => out.push_str(&text),
                None => {
                    out.push(e);
                    out.push_str(seq);
                    out.push(e);
                }
            },
        }
        rest = &after[end + e.len_utf8()..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// `Xhhhh` -> the UTF-8 text those bytes spell, if they do.
fn hex_bytes(seq: &str) -> Option<String> {
    let digits = seq.strip_prefix('X')?;
    if digits.is_empty() {
        return None;
    }
    String::from_utf8(hex::decode(digits).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip_every_delimiter() {
        let d = Delimiters::default();
        let raw = "O'Brien^? A&B | x~y \\ line1\r\nline2";
        let esc = escape(raw, &d);
        assert_eq!(
            esc,
            "O'Brien\\S\\? A\\T\\B \\F\\ x\\R\\y \\E\\ line1\\X0D\\\\X0A\\line2"
        );
        assert_eq!(unescape(&esc, &d), raw);
        assert_eq!(unescape("a\\.br\\b\\H\\c\\N\\", &d), "a\nbc");
        assert_eq!(
            unescape("keep \\Q\\ and \\open", &d),
            "keep \\Q\\ and \\open"
        );
    }
}
