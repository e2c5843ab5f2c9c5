//! The parts of an address that stand around its street line, whichever
//! rule (or the learned detector) found the street: a unit, floor, door or
//! house letter after it ("…, Apt 3", "12 bis", "Storgata 12 B, H0203",
//! "Nørregade 7, 2. tv.", "Rue Haute 14 bte 3", "Prinsengracht 263-II"),
//! and a flat, a tenement position or a house's name before it ("Flat 3,
//! 27 …", "2F1, 14 …", "0/2, 45 …", "Rose Cottage, Mill Lane", "The Old
//! Rectory, 4 Church Lane"), as many as stand one before another ("2nd
//! floor, Vikas Plaza, Sahar Road"), the house's number before a street a
//! rule found without it ("88 Jalan Tanjung Tokong") and the word before a
//! number that says it is a house's ("No 7 Church Row", "Unit 3/15"). One
//! mechanism for every street rule, so no rule carries its own list of
//! units.

use std::sync::OnceLock;

use regex::Regex;

use super::patterns::{compile, next_boundary, Found};
use crate::clinical::PhiKind;

/// How far before a street a house's name or a flat may begin.
const HEAD_WINDOW: usize = 80;

struct Rules {
    tail: Regex,
    label: Regex,
    head: Regex,
    cross: Regex,
    number: Regex,
}

fn rules() -> Option<&'static Rules> {
    static RULES: OnceLock<Option<Rules>> = OnceLock::new();
    RULES
        .get_or_init(|| {
            // after the street, on its line: a unit word and its number
            // (English, French, Belgian, German, Austrian, Italian, Spanish,
            // Portuguese, Brazilian, Québécois: "apto 42", "app. 4"),
            // "bis"/"ter", a house letter alone, a Finnish staircase and flat
            // ("5 A 3,"), a Dutch floor ("-II", "-hs"), a German or Danish
            // floor ("2. OG rechts", "2. tv.", "st. th."), a Norwegian flat
            // number ("H0203"), a Swedish floor and flat ("2 tr", "lgh
            // 1001"), a Spanish door ("pta. 3"), a floor in English or French
            // ("3rd floor", "2e étage"), the back of a house (", rear"), New
            // Zealand's rural delivery ("RD 1"), a Mexican or Brazilian
            // quarter after a comma ("Col. Del Valle", "Bairro Centro")
            let tail = compile(concat!(
                r"^(?:",
                r",?[ \t]*(?:(?i:apt|apartment|unit|suite|ste|rm|room|lot|space|spc|sp|trlr|bldg|building|flat|floor|fl|box|bte|bus|bât|bat|esc|escalier|étage|etage|porte|whg|wohnung|stiege|stg|top|tür|interno|int|scala|piso|puerta|andar|apto|ap|app|bloco|dept|depto)\.?[ \t]*(?:(?i:no)\.?[ \t]*)?#?[ \t]*\d[0-9A-Za-z-]{0,4}|#[ \t]*\d[0-9A-Za-z-]{0,4})(?-u:\b)",
                r"|[ \t]+(?:bis|ter|quater)(?-u:\b)",
                r"|[ \t]?[A-Z](?-u:\b)(?:[ \t]*(?:,|;|\)|\r?\n|$)|\.(?:[ \t]|$))",
                r"|[ \t][A-Z][ \t]\d{1,3}(?-u:\b)(?:[ \t]*(?:,|;|\)|\r?\n|$))",
                r"|-(?:I{1,3}|IV|hs|huis|boven|bg)(?-u:\b)",
                r"|,?[ \t]*(?:\d{1,2}|st|kl)\.[ \t]?(?:OG|Stock|Etage|tv|th|mf|sal)(?-u:\b)\.?(?:[ \t]+(?:rechts|links|Mitte))?",
                r"|,?[ \t]*\d{1,2}[ \t]?tr(?-u:\b)\.?|,?[ \t]*(?i:lgh|pta)\.?[ \t]*\d{1,4}(?-u:\b)",
                r"|,?[ \t]*\d{1,2}(?:e|er|ère|ème|º|°)[ \t]+(?i:étage|etage|piso|planta)(?-u:\b)",
                r"|,?[ \t]*\d{1,2}(?:st|nd|rd|th)[ \t]+(?i:floor|fl)(?-u:\b)\.?|,[ \t]*(?i:rear|upstairs|downstairs|basement)(?-u:\b)",
                r"|,?[ \t]*H\d{4}(?-u:\b)|,[ \t]*RD[ \t]+\d{1,2}(?-u:\b)",
                r"|,[ \t]*(?:Col\.|Colonia|Fracc\.|Fraccionamiento|Bairro|Barrio)[ \t]+(?:(?:de|del|la|las|los)[ \t]+)*\p{Lu}[\p{L}'’]+(?:[ \t]+(?:(?:de|del|la|las|los)[ \t]+)*\p{Lu}[\p{L}'’]+){0,2}",
                r")"
            ))?;
            // the word before a house's number that says it is one ("No 7
            // Church Row", "Unit 3/15 Beach Rd", "Nº 12")
            let label = compile(r"(?:^|[^\p{L}])((?:No|Nº|N°|Nr|Unit|Flat|Apt)\.?)[ \t]*$")?;
            // before the street, ending in a comma: a flat or unit, an
            // Edinburgh or Glasgow tenement position, a Hong Kong floor
            // ("G/F", "2/F"), a floor in English, a house's number with a
            // letter as South Asia writes it ("B-204", "21-C"), the person
            // it is in care of ("c/o Abdi, Lärjeågatan 7"), a house's or a
            // building's name (a French residence with its building and
            // staircase: "Résidence Les Tilleuls, Bât. B, esc. 2")
            let head = compile(concat!(
                r"(?:",
                r"(?-u:\b)(?i:flat|apt|apartment|unit|suite|room|bâtiment|bât|level|shop|bay|lot|office|floor|block|blk)\.?[ \t]*#?[ \t]*[0-9][0-9A-Za-z]{0,3}",
                r"|(?-u:\b)\d{1,2}F\d{1,2}|(?-u:\b)\d/\d{1,2}",
                r"|(?-u:\b)(?:[GLMB]|\d{1,2})/F|(?-u:\b)\d{1,2}(?:st|nd|rd|th)[ \t]+(?i:floor|fl)\.?",
                r"|(?-u:\b)(?:[A-Z]-\d{3,4}|\d{1,4}-[A-Z])",
                r"|(?-u:\b)c/o[ \t]+\p{Lu}[\p{L}'’-]+(?:[ \t]+\p{Lu}[\p{L}'’-]+){0,2}",
                r"|(?-u:\b)(?:The[ \t]+)?(?:\p{Lu}[\p{Ll}'’]+[ \t]+){0,2}(?:Cottage|House|Farm|Farmhouse|Lodge|Barn|Villa|Mill|Hall|Rectory|Vicarage|Manse|Grange|Croft|Bungalow|Cabin|Mansions|Apartments|Towers|Tower|Plaza|Heights|Chambers|Arcade|Chalet|Steading|Cott|Flats)",
                r"|(?-u:\b)(?:Résidence|Residence|Résidences)[ \t]+(?:\p{Lu}[\p{L}'’-]+[ \t]+){0,3}\p{Lu}[\p{L}'’-]+(?:,[ \t]*(?:Bât|Bâtiment|Bat)\.?[ \t]*[A-Z0-9]{1,2})?(?:,[ \t]*(?i:esc|escalier)\.?[ \t]*[A-Z0-9]{1,2})?",
                r")[ \t]*,[ \t]*$"
            ))?;
            // the cross street of a street without a number: "at Red Bluff
            // Rd and Burke", "at I-55 and County Line Rd"
            let cross = compile(r"^[ \t]+(?:and|&)[ \t]+\p{Lu}\p{Ll}+(?:(?:[ \t]+\p{Lu}\p{Ll}+)?[ \t]+(?:St|Ave|Rd|Blvd|Dr|Ln|Street|Avenue|Road)(?-u:\b)\.?)?")?;
            // a house's number before a street found without it, one space
            // between and at most three digits, where an address begins (at
            // a line's start, after a comma, a bracket, a letterhead's
            // spaces or "at", "to", "from", "on"): a time, a year, a count
            // or a measurement before a word taken for a street is no
            // house's number ("0930 Granddaughter", "52   Race", "- 4
            // Medical", "at 90 dB")
            let number = compile(r"(?:^|[\n,(][ \t]*|[ \t]{2,}|(?-u:\b)(?:at|to|from|on)[ \t]+)(\d{1,3}[A-Za-z]?)[ \t]$")?;
            Some(Rules {
                tail,
                label,
                head,
                cross,
                number,
            })
        })
        .as_ref()
}

/// Widens each address of `found` over its unit after and its house or
/// flat before; appends the widened spans (unmerged).
pub fn extend(text: &str, found: &mut Vec<Found>) {
    let Some(rules) = rules() else { return };
    // where a part a rule's group finds in the few bytes before `start`
    // begins: the house's number, or the word that says it is one
    let part_before = |re: &Regex, start: usize| {
        let from = next_boundary(text, start.saturating_sub(8));
        re.captures(&text[from..start])
            .and_then(|c| c.get(1))
            .map_or(start, |m| from + m.start())
    };
    let mut added = Vec::new();
    for f in found.iter().filter(|f| f.kind == PhiKind::Address) {
        let mut end = f.end;
        if !text[f.start..].starts_with(|c: char| c.is_ascii_digit()) {
            if let Some(m) = rules.cross.find(&text[end..]) {
                end += m.end();
            }
        }
        // a unit, then its floor or door ("12 B, H0203")
        for _ in 0..2 {
            let Some(m) = rules.tail.find(&text[end..]) else {
                break;
            };
            end += m.end();
        }
        if end > f.end {
            // from the street's start, so that merging makes one span
            added.push(Found {
                start: f.start,
                end,
                kind: PhiKind::Address,
            });
        }
        // (a street's first word has a capital, a small letter and a
        // third letter: a unit of measure has two, "512 Hz")
        let mut start = f.start;
        let mut chars = text[start..].chars();
        if chars.next().is_some_and(char::is_uppercase)
            && chars.next().is_some_and(char::is_lowercase)
            && chars.next().is_some_and(char::is_alphabetic)
        {
            start = part_before(&rules.number, start);
        }
        if text[start..].starts_with(|c: char| c.is_ascii_digit()) {
            start = part_before(&rules.label, start);
        }
        // a flat, then its building, then its floor: each before the last
        for _ in 0..3 {
            let from = next_boundary(text, start.saturating_sub(HEAD_WINDOW));
            let Some(m) = rules.head.find(&text[from..start]) else {
                break;
            };
            start = from + m.start();
        }
        if start < f.start {
            added.push(Found {
                start,
                end: f.end,
                kind: PhiKind::Address,
            });
        }
    }
    found.extend(added);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the text keeps once the street (the one span given) is
    /// widened.
    fn widened(text: &str, street: &str) -> String {
        let start = text.find(street).unwrap();
        let mut found = vec![Found {
            start,
            end: start + street.len(),
            kind: PhiKind::Address,
        }];
        extend(text, &mut found);
        let start = found.iter().map(|f| f.start).min().unwrap();
        let end = found.iter().map(|f| f.end).max().unwrap();
        text[start..end].to_string()
    }

    #[test]
    fn units_floors_and_house_letters_after_the_street() {
        for (text, street, address) in [
            (
                "lives at 12 Oak St Apt 3, with",
                "12 Oak St",
                "12 Oak St Apt 3",
            ),
            ("12 bis, rue des Lilas", "12", "12 bis"),
            (
                "Storgata 12 B, H0203 Oslo",
                "Storgata 12",
                "Storgata 12 B, H0203",
            ),
            (
                "Nørregade 7, 2. tv., 8000",
                "Nørregade 7",
                "Nørregade 7, 2. tv.",
            ),
            (
                "Am Lindenhof 12, 2. OG, 80331",
                "Am Lindenhof 12",
                "Am Lindenhof 12, 2. OG",
            ),
            (
                "Rue Haute 14 bte 3, 1000",
                "Rue Haute 14",
                "Rue Haute 14 bte 3",
            ),
            (
                "Prinsengracht 263-II te",
                "Prinsengracht 263",
                "Prinsengracht 263-II",
            ),
            (
                "Sunset Villas #14 since",
                "Sunset Villas",
                "Sunset Villas #14",
            ),
            (
                "1186 VISTA DEL MAR WAY SP 41, CHULA",
                "1186 VISTA DEL MAR WAY",
                "1186 VISTA DEL MAR WAY SP 41",
            ),
            (
                "(618 Rocks Highway, RD 1, Riverton 9881)",
                "618 Rocks Highway",
                "618 Rocks Highway, RD 1",
            ),
            (
                "at Red Bluff Rd and Burke, helmeted",
                "Red Bluff Rd",
                "Red Bluff Rd and Burke",
            ),
            (
                "struck at I-55 and County Line Rd in Ridgeland",
                "I-55",
                "I-55 and County Line Rd",
            ),
            (
                "Mannerheimintie 5 A 3, 00100 Helsinki",
                "Mannerheimintie 5",
                "Mannerheimintie 5 A 3,",
            ),
            (
                "12 rue Victor Hugo, 2e étage, 69002 Lyon",
                "12 rue Victor Hugo",
                "12 rue Victor Hugo, 2e étage",
            ),
            (
                "Av. Paulista, 1578, apto 42, Bela Vista",
                "Av. Paulista, 1578",
                "Av. Paulista, 1578, apto 42",
            ),
            (
                "123 rue Principale, app. 4, Montréal (Québec)",
                "123 rue Principale",
                "123 rue Principale, app. 4",
            ),
            (
                "Av. Insurgentes Sur 1234, Col. Del Valle, CDMX",
                "Av. Insurgentes Sur 1234",
                "Av. Insurgentes Sur 1234, Col. Del Valle",
            ),
        ] {
            assert_eq!(widened(text, street), address, "{text}");
        }
        // what follows and is no part of it stays
        for (text, street) in [
            ("12 Oak St A fib noted", "12 Oak St"),
            ("12 Oak St, 2 tabs daily", "12 Oak St"),
            ("12 Oak St - Apt. to follow", "12 Oak St"),
            // a house number: the street after "and" is no cross street
            ("12 Oak St and Mary visits", "12 Oak St"),
            // a letter and a count, a word that begins as a colony's
            ("12 Oak St B 3 times a day", "12 Oak St"),
            ("12 Oak St, Colonoscopy 2019", "12 Oak St"),
        ] {
            assert_eq!(widened(text, street), street, "{text}");
        }
    }

    #[test]
    fn flats_tenements_and_house_names_before_the_street() {
        for (text, street, address) in [
            (
                "Flat 3, 27 Marchmont Road",
                "27 Marchmont Road",
                "Flat 3, 27 Marchmont Road",
            ),
            (
                "at 2F1, 14 Warrender Park Terrace",
                "14 Warrender Park Terrace",
                "2F1, 14 Warrender Park Terrace",
            ),
            (
                "0/2, 45 Kelvinhaugh St",
                "45 Kelvinhaugh St",
                "0/2, 45 Kelvinhaugh St",
            ),
            // Australian and Canadian offices and shops
            (
                "Level 2, 88 Hoddle St",
                "88 Hoddle St",
                "Level 2, 88 Hoddle St",
            ),
            (
                "Surgery · Shop 3, 201 Wembley Rd",
                "201 Wembley Rd",
                "Shop 3, 201 Wembley Rd",
            ),
            (
                "Medicine, Bay 7, 2815 36 St NE",
                "2815 36 St NE",
                "Bay 7, 2815 36 St NE",
            ),
            (
                "Rose Cottage, Mill Lane",
                "Mill Lane",
                "Rose Cottage, Mill Lane",
            ),
            (
                "The Old Rectory, 4 Church Lane",
                "4 Church Lane",
                "The Old Rectory, 4 Church Lane",
            ),
            (
                "Résidence Les Tilleuls, Bât. B, 12 rue Nationale",
                "12 rue Nationale",
                "Résidence Les Tilleuls, Bât. B, 12 rue Nationale",
            ),
            // one part before another, as many as stand there
            (
                "Clinic, 2nd floor, Vikas Plaza, Sahar Road, Andheri East",
                "Sahar Road",
                "2nd floor, Vikas Plaza, Sahar Road",
            ),
            (
                "CNS Centre: G/F, Wang Kwong House, 8 Wang Chiu Road",
                "8 Wang Chiu Road",
                "G/F, Wang Kwong House, 8 Wang Chiu Road",
            ),
            (
                "Centre, 21-C, Main Boulevard, Gulberg III",
                "Main Boulevard",
                "21-C, Main Boulevard",
            ),
            // the house's number a rule left
            (
                "CENTRE   88 Jalan Tanjung Tokong, 10470",
                "Jalan Tanjung Tokong",
                "88 Jalan Tanjung Tokong",
            ),
            (
                "(formerly lived at 17 Highgate, Roslyn)",
                "Highgate",
                "17 Highgate",
            ),
            // the word that says a number is a house's
            (
                "No 7 Church Row, Hampstead",
                "7 Church Row",
                "No 7 Church Row",
            ),
            (
                "Unit 3/15 Beach Rd, Bondi",
                "3/15 Beach Rd",
                "Unit 3/15 Beach Rd",
            ),
            (
                "Résidence Les Tilleuls, Bât. B, esc. 2, 8 avenue Jean-Jaurès",
                "8 avenue Jean-Jaurès",
                "Résidence Les Tilleuls, Bât. B, esc. 2, 8 avenue Jean-Jaurès",
            ),
        ] {
            assert_eq!(widened(text, street), address, "{text}");
        }
        for (text, street) in [
            ("Seen at home, 27 Marchmont Road", "27 Marchmont Road"),
            ("BP 120/80, 45 Kelvinhaugh St", "45 Kelvinhaugh St"),
            ("Outreach visit, 4 Church Lane", "4 Church Lane"),
            // a vitamin, a dose, a reading: no house's number
            ("Vitamin B-12, 4 Church Lane", "4 Church Lane"),
            ("metoprolol 25mg Church Lane", "Church Lane"),
            ("sats 94/RA, 4 Church Lane", "4 Church Lane"),
            ("0930 Granddaughter called", "Granddaughter"),
            ("Age: 52   Race: white", "Race"),
            ("09:00 Daughter rang", "Daughter"),
            ("Floor - 4 Medical / Pulmonary", "Medical"),
            ("R 72% at 90 dB HL", "dB"),
            ("tone at 512 Hz, Rinne", "Hz"),
        ] {
            assert_eq!(widened(text, street), street, "{text}");
        }
    }
}
