//! Runs of bytes of some classes in an all-ASCII text, 64 bytes at a time:
//! the detector's tokens (letters and digits) and the name rules' words
//! (letters, apostrophes and hyphens). A test a byte branched at every edge
//! of a run, twice a word, and the processor guessed those wrong; a mask
//! holds a bit a byte instead, and a run begins where the bits rise and
//! ends where they fall.

/// Which bytes of a chunk (at most 64, ASCII) are of each class, a bit a
/// byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classes {
    pub letters: u64,
    pub digits: u64,
    /// `'`
    pub apostrophes: u64,
    /// `-`
    pub hyphens: u64,
}

/// Each run of `bytes` (all ASCII) whose bytes `pick` sets a bit for, as
/// its start and end, in order.
pub fn runs(bytes: &[u8], pick: impl Fn(Classes) -> u64, mut run: impl FnMut(usize, usize)) {
    // the start of the run still open, and whether the byte before the
    // chunk (the last of the one before) was in a run
    let (mut start, mut open) = (0, 0u64);
    for (c, chunk) in bytes.chunks(64).enumerate() {
        let mask = pick(classes(chunk));
        // a bit for each byte unlike the one before; in a short (last)
        // chunk the bits past its end are clear, so a run open at the end
        // falls there and is closed at the text's end
        let mut edges = mask ^ (mask << 1 | open);
        while edges != 0 {
            let k = edges.trailing_zeros() as usize;
            edges &= edges - 1;
            if mask >> k & 1 == 1 {
                start = c * 64 + k;
            } else {
                run(start, c * 64 + k);
            }
        }
        open = mask >> 63;
    }
    // a run to the end of a text of whole chunks
    if open == 1 {
        run(start, bytes.len());
    }
}

/// The classes of `chunk`'s bytes (at most 64, ASCII).
pub fn classes(chunk: &[u8]) -> Classes {
    #[cfg(target_arch = "x86_64")]
    if let Ok(whole) = <&[u8; 64]>::try_from(chunk) {
        // SAFETY: SSE2 is part of x86-64.
        return unsafe { classes_sse2(whole) };
    }
    let bits = |test: fn(&u8) -> bool| {
        chunk
            .iter()
            .enumerate()
            .fold(0, |mask, (k, b)| mask | u64::from(test(b)) << k)
    };
    Classes {
        letters: bits(u8::is_ascii_alphabetic),
        digits: bits(u8::is_ascii_digit),
        apostrophes: bits(|&b| b == b'\''),
        hyphens: bits(|&b| b == b'-'),
    }
}

/// `classes` sixteen bytes an instruction (SSE2 is part of x86-64). A
/// letter is a byte that, with bit 0x20 set (a capital made small), lies in
/// `a..=z`; ASCII bytes compare alike signed and unsigned.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn classes_sse2(chunk: &[u8; 64]) -> Classes {
    use std::arch::x86_64::_mm_set1_epi8;
    use std::arch::x86_64::{__m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8};
    use std::arch::x86_64::{_mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128};
    let bound = |b: u8| _mm_set1_epi8(b as i8);
    let bits = |v: __m128i, q: usize| u64::from(_mm_movemask_epi8(v) as u16) << (q * 16);
    let mut out = Classes {
        letters: 0,
        digits: 0,
        apostrophes: 0,
        hyphens: 0,
    };
    for (q, sixteen) in chunk.chunks_exact(16).enumerate() {
        // SAFETY: `sixteen` holds 16 bytes (an unaligned load).
        let v = unsafe { _mm_loadu_si128(sixteen.as_ptr().cast::<__m128i>()) };
        let small = _mm_or_si128(v, bound(0x20));
        let letter = _mm_and_si128(
            _mm_cmpgt_epi8(small, bound(b'a' - 1)),
            _mm_cmplt_epi8(small, bound(b'z' + 1)),
        );
        let digit = _mm_and_si128(
            _mm_cmpgt_epi8(v, bound(b'0' - 1)),
            _mm_cmplt_epi8(v, bound(b'9' + 1)),
        );
        out.letters |= bits(letter, q);
        out.digits |= bits(digit, q);
        out.apostrophes |= bits(_mm_cmpeq_epi8(v, bound(b'\'')), q);
        out.hyphens |= bits(_mm_cmpeq_epi8(v, bound(b'-')), q);
    }
    out
}

/// Texts of `alphabet`'s bytes at random, the first byte one time in five
/// more than the others (for long runs), of every length to 150 and some
/// across the 64-byte chunks `runs` reads: for tests that hold an ASCII
/// way equal to a character-by-character one.
#[cfg(test)]
pub(crate) fn random_texts(alphabet: &[u8]) -> impl Iterator<Item = String> + '_ {
    use crate::hashing::fnv;
    let mut seed = 5u64;
    (0..150u64).chain([255, 256, 257, 320]).map(move |len| {
        seed = fnv(&seed.to_le_bytes());
        (0..len)
            .map(|i| {
                let r = fnv(&(seed ^ i).to_le_bytes());
                let pick = if r.is_multiple_of(5) {
                    0
                } else {
                    (r >> 8) as usize % alphabet.len()
                };
                char::from(alphabet[pick])
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registers_classes_are_the_bytes_classes() {
        let text: Vec<u8> = (0u8..128).cycle().skip(3).take(64).collect();
        let whole: &[u8; 64] = text.as_slice().try_into().unwrap();
        // a chunk shorter than 64 takes the byte-at-a-time way
        let (head, tail) = (classes(&text[..63]), classes(&text[63..]));
        let by_byte = Classes {
            letters: head.letters | tail.letters << 63,
            digits: head.digits | tail.digits << 63,
            apostrophes: head.apostrophes | tail.apostrophes << 63,
            hyphens: head.hyphens | tail.hyphens << 63,
        };
        assert_eq!(classes(whole), by_byte);
        for (k, &b) in text.iter().enumerate() {
            assert_eq!(
                by_byte.letters >> k & 1 == 1,
                b.is_ascii_alphabetic(),
                "{b}"
            );
            assert_eq!(by_byte.digits >> k & 1 == 1, b.is_ascii_digit(), "{b}");
        }
        assert_eq!(by_byte.apostrophes.count_ones(), 1);
        assert_eq!(by_byte.hyphens.count_ones(), 1);
    }

    #[test]
    fn runs_cross_the_chunks_and_reach_the_end() {
        let collect = |text: &str| {
            let mut out = Vec::new();
            runs(text.as_bytes(), |c| c.letters, |s, e| out.push((s, e)));
            out
        };
        assert_eq!(collect(&"a".repeat(128)), vec![(0, 128)]);
        assert_eq!(
            collect(&format!("{} b", "a".repeat(63))),
            vec![(0, 63), (64, 65)]
        );
        assert_eq!(collect(&format!("1{}2", "a".repeat(64))), vec![(1, 65)]);
        assert_eq!(collect(""), vec![]);
        assert_eq!(collect("12 ab-cd'e"), vec![(3, 5), (6, 8), (9, 10)]);
    }
}
