//! The grammar of dates in notes, as rules for `patterns::Patterns`:
//! every element of a date but the year is PHI under Safe Harbor
//! (45 CFR 164.514(b)(2)(i)(C)). Numeric dates in US, European and ISO
//! order (with times and zones), month names in English and in the
//! languages of European notes (in capitals too), ordinal days in digits
//! and in words, years as dictation spells them, ranges, holidays, a month
//! alone after the words that place it in time, and a month and day
//! without a year wherever it cannot be read as a fraction or a score.

use super::patterns::{Found, Spec};
use crate::clinical::iso::MONTHS;
use crate::clinical::PhiKind;

/// Month names and their abbreviations, as notes capitalise them.
pub const MONTH: &str = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)";

/// Month names of European notes (German, French, Dutch, Italian, Spanish,
/// Portuguese, Swedish, Danish, Polish: "1 grudnia", the genitive a date
/// takes, and the nominative) and of Malay and Indonesian ones ("3 Ogos",
/// "17 Agustus"),
/// and the English ones as Dutch writes them, in lower case.
const EU: &str = r"(?:april|august|september|november|december|januar|februar|märz|maerz|mai|juni|juli|oktober|dezember|janvier|février|fevrier|mars|avril|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre|januari|februari|maart|mei|augustus|gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|dicembre|enero|febrero|abril|mayo|junio|julio|septiembre|octubre|noviembre|diciembre|janeiro|fevereiro|março|marco|maio|junho|julho|setembro|outubro|novembro|dezembro|maj|augusti|desember|marts|stycznia|lutego|marca|kwietnia|maja|czerwca|lipca|sierpnia|września|wrzesnia|października|pazdziernika|listopada|grudnia|styczeń|luty|marzec|kwiecień|czerwiec|lipiec|sierpień|wrzesień|październik|listopad|grudzień|julai|ogos|disember|agustus)";

/// The months of Welsh notes, and the abbreviations of those that are no
/// English word ("1 Rhag"; never "tach", a tachycardia).
const WELSH: &str = r"(?:ionawr|chwefror|mawrth|ebrill|mehefin|gorffennaf|awst|medi|hydref|tachwedd|rhagfyr|chwef|ebr|meh|gorff|rhag)";

/// The abbreviated months of French and German notes ("4 déc. 2026",
/// "3. Okt."), where English has none of the same spelling.
const EU_SHORT: &str = r"(?:janv|f[ée]vr|avr|juil|d[ée]c|okt|dez|mrz)";
/// The abbreviated months of Italian, Spanish, Portuguese and Malay notes
/// that are words or pieces of words too ("3 set", "4 out of 10"): a date
/// only with their period or a year after them ("5 dic. 2026", "3 ago
/// 2024", "3 Dis 2026").
const ROMANCE_SHORT: &str = r"(?:gen|mag|giu|lug|ago|set|ott|dic|ene|abr|fev|out|dis)";
/// The months in Roman numerals of Polish, Italian and Spanish dates
/// ("1-XII-2026", "3.IV.2025").
const ROMAN_MONTH: &str = r"(?:I|II|III|IV|V|VI|VII|VIII|IX|X|XI|XII)";

/// A month where a word before it makes it a date ("in March", "mid-July";
/// "May" is left out: it is a name and a verb as often).
const MONTH_ALONE: &str = "January|February|March|April|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec";
/// A month's abbreviation with its period ("since Oct."): the period is
/// the date's, tried before `MONTH_ALONE`'s word without it.
const MONTH_ABBREVIATED: &str = r"(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.";

/// Weekdays, as notes abbreviate them.
const WEEKDAY: &str = r"Mon(?:day)?|Tue(?:s|sday)?|Wed(?:nesday)?|Thu(?:rs?|rsday)?|Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?";

/// The weekdays of European notes, for the rule that reads a day after
/// one ("Ons 02.12", "vendredi 4."); the older rules keep the English
/// ones, each word more a state of the automaton every note is read with.
const WEEKDAY_EU: &str = r"montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag|mandag|tirsdag|onsdag|torsdag|fredag|lørdag|søndag|måndag|tisdag|lördag|söndag|lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica|lunes|martes|miércoles|jueves|viernes|sábado|domingo|(?-i:Tir|Ons|Tor|Fre|Lør|Søn)";

/// A day of the month in words after the first two, which are ordinary
/// words too ("the first time", "a second opinion"): "third" to
/// "thirty-first", compounds included.
const LATER_ORDINAL_WORD: &str = r"(?:(?:twenty|thirty)[- ]?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth)";

/// Any day of the month in words, "first" to "thirty-first".
const ORDINAL_WORD: &str = r"(?:first|second|(?:(?:twenty|thirty)[- ]?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth))";

/// A day of the month as a number in words, "one" to "thirty-one".
const CARDINAL_DAY: &str = r"(?:(?:twenty|thirty)(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)";

/// A year as it is spoken: "nineteen forty two", "nineteen oh five",
/// "twenty twenty-four", "two thousand and nine".
const YEAR_WORDS: &str = r"(?:(?:nineteen|twenty)[- ](?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|oh[- ](?:one|two|three|four|five|six|seven|eight|nine)|hundred)|two[- ]thousand(?:[- ]and)?(?:[- ](?:(?:twenty|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)|(?:twenty[- ])?(?:one|two|three|four|five|six|seven|eight|nine)))?)";

/// The denominators of the fractions and scores notes write with a slash:
/// halves to eighths, "7/10" pain, "2/7" days and "3/12" months (British
/// shorthand).
const SCALES: [u32; 9] = [2, 3, 4, 5, 6, 7, 8, 10, 12];

/// A month and a day (`12/9`, `10/31`, `1/11`) where it cannot be a
/// fraction or a score out of one of `SCALES`: the day is no such
/// denominator, or the month is larger than the day (no fraction or score
/// is above one). The rule's pattern finds every `M/D`; this test keeps
/// the dates among them (a pattern spelling out every pair that is no
/// fraction was hundreds of alternatives the regex engine had to turn into
/// automaton states).
fn month_and_day(md: &str) -> bool {
    let number = |s: &str| s.parse::<u32>().ok();
    match md.split_once('/').map(|(m, d)| (number(m), number(d))) {
        Some((Some(m), Some(d))) => !SCALES.contains(&d) || m > d,
        _ => false,
    }
}

/// Every date rule, in `patterns::specs`' form.
pub fn specs() -> Vec<Spec> {
    vec![
        // ISO, with a time, its fraction of a second and its zone
        Spec::new(PhiKind::Date, r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b", 0),
        // 3/5/24, 03/05/2024, a date glued to the word before it
        // ("on03/05/2024"), and as a scan spaces it ("03 / 14 / 1933")
        Spec::new(PhiKind::Date, r"(?:^|[^\d/.])(\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})\b|\d{1,2}[ \t]?/[ \t]?\d{1,2}[ \t]?/[ \t]?(?:19|20)\d{2}\b)", 1),
        // 04-02-2024 (US or European order), 2.4.2024, 03/2024
        Spec::new(PhiKind::Date, r"\b(?:0?[1-9]|[12]\d|3[01])-(?:0?[1-9]|[12]\d|3[01])-(?:19|20)?\d{2}\b", 0),
        Spec::new(PhiKind::Date, r"\b(?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])\.(?:19|20)?\d{2}\b|\b(?:0?[1-9]|1[0-2])\.(?:0?[1-9]|[12]\d|3[01])\.(?:19|20)\d{2}\b", 0),
        // 12.25.51: US order with a two-digit year where the day cannot be
        // a month; 18.11. (a European day and month, the year left out)
        Spec::new(PhiKind::Date, r"\b(?:0?[1-9]|1[0-2])\.(?:1[3-9]|2\d|3[01])\.\d{2}\b", 0),
        Spec::new(PhiKind::Date, r"(?m)\b((?:0?[1-9]|[12]\d|3[01])\.(?:0[1-9]|1[0-2])\.)(?:[ \t.,;:)]|$)", 1),
        Spec::new(PhiKind::Date, r"\b(?:0?[1-9]|1[0-2])/(?:19|20)\d{2}\b", 0),
        // 2019-03: a year and its month, as a history dates a diagnosis
        // (never a range of years, "2019-2021", nor a whole date)
        Spec::new(PhiKind::Date, r"\b((?:19|20)\d{2}-(?:0[1-9]|1[0-2]))(?:[^\d\-/]|$)", 1),
        Spec::new(PhiKind::Date, r"\b(?:19|20)\d{2}/(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])\b", 0),
        // a month and day without a year (12/1) only after a word that
        // dates it: alone it reads as a fraction, a score or a dose
        Spec::new(PhiKind::Date, format!(r"(?i)\b(?:on|since|from|until|till|through|thru|by|dated?|DOB|DOS|seen|saw|admitted|discharged|started|stopped|resumed|restarted|drawn|placed|removed|changed|inserted|sent|faxed|called|last|next|recheck|labs?|echo|visit|appt|appointment|f/u|follow[- ]?up|surgery|due|scheduled|planned|around|w/[ce]|wc|week\s+(?:of|commencing|ending)|thrombolysed|bloods|task|booked|attended|rang|phoned|fell|onset|{WEEKDAY})\.?,?\s+((?:0?[1-9]|[12]\d|3[01])/(?:0?[1-9]|[12]\d|3[01])(?:[ \t]*[-–][ \t]*(?:0?[1-9]|[12]\d|3[01])/(?:0?[1-9]|[12]\d|3[01]))?)\b"), 1),
        // a day and month with a period or a dash after a word that dates
        // it ("Na 121 on 29.11, 128 ...", "MMSE 19/30 on 26-11)", "request
        // sent 5.12, ref"); the month in two digits after a period, so
        // that no dose ("on 2.5 mg") is read as one
        Spec::new(PhiKind::Date, r"(?m)\b(?:on|since|from|until|till|by|dated?|sent|seen|admitted|discharged|started|stopped|drawn|booked|planned|due)\.?,?[ \t]+((?:0?[1-9]|[12]\d|3[01])(?:\.(?:0[1-9]|1[0-2])|-(?:0?[1-9]|1[0-2])))(?:[ \t]*(?:[,;:)]|$)|\.(?:\s|$)|[ \t]+(?:at|and|to|with|by|in|ref|[-–(])(?:\s|$))", 1),
        // a day and month as Europe writes them where the day cannot be a
        // month (28/11, 19/11); never "24/7", round the clock
        Spec::new(PhiKind::Date, r"(?m)(?:^|[^\w/.:+-])((?:1[3-9]|2\d|3[01])/(?:0?[1-9]|1[0-2]))(?:$|[^\w/%.:-]|[.:](?:\s|$))", 1).keep(|dm| dm != "24/7"),
        // a day and month with a period after a weekday ("Ons 02.12"), and
        // a day alone after one where the clause ends ("vendredi 4.")
        Spec::new(PhiKind::Date, format!(r"(?im)\b(?:{WEEKDAY}|{WEEKDAY_EU})\.?,?[ \t]+((?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])\.?|(?:0?[1-9]|[12]\d|3[01]))(?:[ \t]*(?:[,;)]|\.(?:\s|$)|$)|[ \t]+(?:[01]\d|2[0-3])[:.]?[0-5]\d\b)"), 1),
        Spec::new(PhiKind::Date, r"(?m)(?:^|[\s\[(])((?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01]))\s+(?:[01]\d|2[0-3])(?::?[0-5]\d)\b", 1),
        // a month and day that cannot be a fraction or a score (12/9,
        // 10/31, 1/11), and two of any kind as a range (3/5-3/9)
        Spec::new(PhiKind::Date, r"(?m)(?:^|[^\w/.:+-])((?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01]))(?:$|[^\w/%.:-]|[.:](?:\s|$))", 1).keep(month_and_day),
        Spec::new(PhiKind::Date, r"\b(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])[ \t]*[-–][ \t]*(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])\b", 0),
        Spec::new(PhiKind::Date, format!(r"(?i)\b(?:on|since|from|until|till|by|birthday|{WEEKDAY})\.?,?\s+((?:the\s+)?\d{{1,2}}(?:st|nd|rd|th))\b"), 1),
        // a range of days before their month: "22 to 23 November", "3rd-5th
        // of May", a night as "29/30 Nov"
        Spec::new(PhiKind::Date, format!(r"\b\d{{1,2}}(?:st|nd|rd|th)?[ \t]*(?:-|–|/|to|and|&)[ \t]*\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH}\b\.?(?:,?\s+\d{{4}}\b)?"), 0),
        // "the 22nd", "labs the 3rd", "the 5th and 6th": a day of the month
        // where the ordinal ends its phrase (never "the 5th metatarsal"),
        // "the" with it as a note's writer would strike it out
        Spec::new(PhiKind::Date, r"(?im)(?:\b(the\s+(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)(?:\s+(?:and|or|&|to)\s+(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th))?)|\b(?:and|or|&)\s+((?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)(?:\s+(?:and|or|&|to)\s+(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th))?))(?:[ \t]*(?:[,.;:)(?!]|$)|\s+(?:and|or|&|at|to|through|thru|until|till|when|inst)\b)", usize::MAX),
        // as dictation writes a date: "March third nineteen forty two",
        // "June the ninth", "December third, 2026", "the fifteenth of
        // October", "the sixteenth."; a day as a number in words before a
        // year ("October seven, nineteen thirty-two")
        Spec::new(PhiKind::Date, format!(r"\b{MONTH}\s+(?:the\s+)?(?:{ORDINAL_WORD}(?:,?\s+(?:{YEAR_WORDS}|(?:19|20)\d\d))?|{CARDINAL_DAY},?\s+(?:{YEAR_WORDS}|(?:19|20)\d\d))\b"), 0),
        Spec::new(PhiKind::Date, format!(r"\b{ORDINAL_WORD}\s+of\s+{MONTH}\b(?:,?\s+{YEAR_WORDS}\b)?"), 0),
        Spec::new(PhiKind::Date, format!(r"(?m)\bthe\s+({LATER_ORDINAL_WORD})(?:[ \t]*(?:[,.;:)]|$)|\s+(?:at|when)\b)"), 1),
        Spec::new(PhiKind::Date, r"(?i)\b(?:Christmas(?:\s+(?:Day|Eve))?|Thanksgiving(?:\s+Day)?|(?:the\s+)?Fourth\s+of\s+July|New\s+Year['’]s(?:\s+(?:Day|Eve))?|Easter(?:\s+(?:Sunday|Monday))?|Memorial\s+Day|Labor\s+Day|Independence\s+Day|Halloween|Valentine['’]s\s+Day|Good\s+Friday|Boxing\s+Day|Canada\s+Day|Anzac\s+Day|Australia\s+Day|Bastille\s+Day|Diwali|Divali|Deepavali|Holi|Pongal|Onam|Eid(?:[\s-]+(?:al|ul|el)[\s-]+(?:Fitr|Adha|Azha))?|Hmong\s+New\s+Year|Ramadan|Hanukk?ah|Passover|Rosh\s+Hashanah|Yom\s+Kippur|Lunar\s+New\s+Year|Chinese\s+New\s+Year)\b(?:,?\s+(?:(?:19|20)\d\d|['’]\d\d)\b)?", 0),
        // the holidays of European and US notes the list above lacks, and
        // of other calendars and countries (Ugadi, Tihar, Matariki, Hari
        // Raya, Chuseok, a saint's feast), as they are written,
        // capitalised, with their year ("Easter Monday 2025", "St
        // Stephen's Day 2024", "Pfingstmontag 2025", "Christmas '19"); in a
        // rule of their own, without the case folding that would multiply
        // the first rule's states
        Spec::new(PhiKind::Date, r"\b(?:Whit\s+Monday|Whitsun(?:day)?|Pentecost|Pfingst(?:en|montag|sonntag)|Oster(?:n|montag|sonntag)|Weihnachten|Heiligabend|Pâques|Navidad|Nochebuena|Nochevieja|Semana\s+Santa|Ferragosto|Pasquetta|Wielkanoc|Wigilia|Midsummer(?:['’]s)?\s+(?:Day|Eve)|Midsommar(?:afton)?|Grundlovsdag|Sankthans(?:aften)?|Koningsdag|Sinterklaas|Hogmanay|Burns\s+Night|Bonfire\s+Night|Mardi\s+Gras|Shrove\s+Tuesday|Ash\s+Wednesday|Palm\s+Sunday|Maundy\s+Thursday|Mother['’]s\s+Day|Father['’]s\s+Day|Veterans['’]?\s+Day|Juneteenth|Cinco\s+de\s+Mayo|Remembrance\s+(?:Day|Sunday)|Armistice\s+Day|All\s+(?:Saints|Souls)['’]?\s+Day|Epiphany|Fallas|Kwanzaa|Nowruz|Vesak|Songkran|(?:St\.?|Saint)\s+\p{Lu}\p{Ll}+['’]s\s+(?:Day|Eve|Night)|Valentine['’]s|Immacolata|Feast\s+of\s+(?:the\s+)?(?:\p{Lu}\p{Ll}+\.?\s+){0,3}\p{Lu}\p{Ll}+|D[ií]a\s+de\s+(?:los\s+)?(?:Muertos|Reyes)|Las\s+Posadas|Purim|Sukkot|Shavuot|Ugadi|Gudi\s+Padwa|Vaisakhi|Baisakhi|Tihar|Dashain|Navratri|Durga\s+Puja|Raksha\s+Bandhan|Ganesh\s+Chaturthi|Janmashtami|Thaipusam|Hari\s+Raya(?:\s+(?:Aidilfitri|Haji|Puasa))?|Chuseok|Seollal|Qingming|Mid-Autumn\s+Festival|Dragon\s+Boat\s+Festival|Tết|Matariki|Waitangi\s+Day|Eid\s+Al\s+Etihad|National\s+Day|Liberation\s+Day|Pioneer\s+Day)\b(?:,?\s+(?:(?:19|20)\d\d|['’]\d\d)\b)?", 0),
        // a month before another month and their year ("admissions June
        // and September 2026"), and a month alone in brackets ("one UTI
        // (Aug.)")
        Spec::new(PhiKind::Date, format!(r"\b(?:{MONTH_ALONE})\.?[ \t]+(?:and|or|&|-|–|to)[ \t]+{MONTH}\.?,?[ \t]+(?:19|20)\d{{2}}\b"), 0),
        Spec::new(PhiKind::Date, format!(r"\(((?:{MONTH_ALONE})\.?)\)"), 1),
        // Mar '24, March 2024: a month is a date element Safe Harbor removes
        Spec::new(PhiKind::Date, format!(r"\b{MONTH}\.?,?\s+(?:['’]\d{{2}}|(?:19|20)\d{{2}})\b"), 0),
        // "March 4, 2024", "Mar. 19, '24", and as a scan spaces it, "March  4 , 2024"
        Spec::new(PhiKind::Date, format!(r"\b{MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:(?:\s*,\s*|\s+)(?:\d{{4}}|['’]\d{{2}}))?\b"), 0),
        // as dictation typed in capitals writes it: "NOVEMBER 8TH, 2026"
        Spec::new(PhiKind::Date, r"\b(?:JANUARY|FEBRUARY|MARCH|APRIL|MAY|JUNE|JULY|AUGUST|SEPTEMBER|OCTOBER|NOVEMBER|DECEMBER)\s+(?:0?[1-9]|[12]\d|3[01])(?:ST|ND|RD|TH)?(?:,?\s+(?:19|20)\d{2})?\b", 0),
        // "the 14th of September": "the" with it, as a writer strikes it out
        Spec::new(PhiKind::Date, format!(r"\b(?:the\s+)?\d{{1,2}}(?:st|nd|rd|th|\.)?\s+(?:of\s+)?{MONTH}(?:\.|\b)(?:,?\s+\d{{4}}\b)?"), 0),
        // 11-Nov: a day and a month as order systems print them, no year
        Spec::new(PhiKind::Date, format!(r"\b(?:0?[1-9]|[12]\d|3[01])-{MONTH}\b"), 0),
        // 02-Nov-2023, 02Nov2023, Nov-02-2023: as lab and order systems print them
        // (in capitals too: 09-DEC-1944)
        Spec::new(PhiKind::Date, format!(r"\b\d{{1,2}}[-/ .]?(?i:{MONTH})[-/ .]?(?:\d{{4}}|\d{{2}})\b|\b{MONTH}[-/]\d{{1,2}}[-/](?:\d{{4}}|\d{{2}})\b"), 0),
        Spec::new(PhiKind::Date, r"\b(?:19|20)\d{2}\.(?:0?[1-9]|1[0-2])\.(?:0?[1-9]|[12]\d|3[01])\b", 0),
        Spec::new(PhiKind::Date, format!(r"\b{MONTH}\.?\s*(?:-|–|to|through|thru)\s*{MONTH}\b"), 0),
        // the months of European notes: 12 mars 2024, 3. Mai, Mai 2023
        // (and with "de" between, as Spanish and Portuguese write them: 12
        // de janeiro de 2027), 5 dic. 2026, 1-XII-2026; French "1er
        // décembre", a Danish range "14.-18. december"; with the article
        // French writes before a date, which goes with it ("le 2 mars 2023");
        // an abbreviation ends its word ("5 déc", never "4 decades")
        Spec::new(PhiKind::Date, format!(r"(?i)\b(?:le[ \t]+)?(?:\d{{1,2}}\.?[ \t]*[-–][ \t]*)?\d{{1,2}}(?:\.|er|re|º|ª)?\s+(?:de\s+)?{EU}(?:\s+(?:de\s+)?\d{{4}})?\b|\b{EU}\s+(?:de\s+)?\d{{4}}\b|\b\d{{1,2}}\.?\s+{EU_SHORT}(?:\.|\b)(?:\s+\d{{4}}\b)?|\b\d{{1,2}}\.?\s+{ROMANCE_SHORT}(?:\.(?:\s+\d{{4}}\b)?|\s+\d{{4}}\b)"), 0),
        // a Romance month's abbreviation that is a word too, in brackets
        // ("RTC 4 wks (30 dic)", "(3 set)"), and a day and month in a
        // list before a whole date ("Dates: 7.12, 9.12, 11.12.26")
        Spec::new(PhiKind::Date, format!(r"(?i)\(((?:0?[1-9]|[12]\d|3[01])[ \t]+{ROMANCE_SHORT})\)"), 1),
        Spec::new(PhiKind::Date, r"\b(?:(?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2]),[ \t]*)+(?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])\.(?:\d{4}|\d{2})\b", 0),
        // the year's word Polish writes after a date ("04.12.2026 r.")
        Spec::new(PhiKind::Date, r"\b((?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])\.\d{4}[ \t]?r\.)", 1),
        // Welsh: 3 Tachwedd 2026, 4ydd Rhagfyr (the day with its ordinal
        // ending: 1af, 2il, 3ydd, 5ed, 11eg, 20fed, 4edd)
        Spec::new(PhiKind::Date, format!(r"(?i)\b\d{{1,2}}(?:af|il|ydd|edd|ed|eg|fed|ain)?\s+{WELSH}\b(?:\.?\s+\d{{4}}\b)?"), 0),
        Spec::new(PhiKind::Date, format!(r"\b\d{{1,2}}[-./ ]{ROMAN_MONTH}[-./ ](?:\d{{4}}|\d{{2}})\b"), 0),
        // a Roman month without its year after a word that dates it
        // ("resolved by 30 XI"); I, V and X alone are never read so
        Spec::new(PhiKind::Date, r"\b(?:on|since|from|until|till|by|to|dated?)[ \t]+((?:0?[1-9]|[12]\d|3[01])[ .](?:II|III|IV|VI|VII|VIII|IX|XI|XII))\b", 1),
        // a day and a month in lower case, as Dutch and Nordic notes
        // abbreviate them ("stopped 27 nov", "3 okt."), where the phrase ends
        Spec::new(PhiKind::Date, r"(?m)\b((?:0?[1-9]|[12]\d|3[01])[ \t]+(?:jan|feb|mrt|apr|jun|jul|aug|sep|sept|okt|oct|nov|dec)\.?)(?:[ \t]*(?:[,;:)]|$)|\.(?:\s|$)|[ \t]+(?:at|om|kl)\b)", 1),
        // a range of days in one month: "Oct 3–7, 2026", "Dec. 14-18"
        Spec::new(PhiKind::Date, format!(r"\b{MONTH}\.?\s+\d{{1,2}}[ \t]*[-–][ \t]*\d{{1,2}}\b(?:,?\s+\d{{4}}\b)?"), 0),
        // a month and day in lower case, as logs and text messages write
        // them ("dec 1 - got here 8am"), where the phrase ends after the
        // day ("may" is left out: "may 10 mg")
        Spec::new(PhiKind::Date, r"(?m)\b((?:jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)(?:uary|ruary|ch|il|e|y|ust|tember|ober|ember)?\.?[ \t]+(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?)(?:[ \t]*(?:[-–,.;:)]|$))", 1),
        // a month alone after the words that place it in German, French,
        // Dutch, Spanish, Portuguese and Italian: Mitte Oktober, fin mars
        Spec::new(PhiKind::Date, format!(r"(?i)\b(?:seit|im|sinds|depuis|desde|dal)\s+({EU})\b|\b((?:Mitte|Anfang|Ende|début|fin|mi-|eind|begin|medio|finales\s+de|principios\s+de|meados\s+de|fine|inizio|metà)\s*{EU})\b"), usize::MAX),
        // a month alone is a date element: "in March", "since Jan", "mid-July"
        // (and after a tilde, "about": "stopped lithium ~Oct.")
        Spec::new(PhiKind::Date, format!(r"(?:\b(?:in|since|during|until|till|before|after|from|by|around|end\s+of|beginning\s+of|start\s+of|last|next|this|of)[\s-]+|~[ \t]*)({MONTH_ABBREVIATED}|(?:{MONTH_ALONE})\b)|\b((?i:early|mid|late)[\s-]+(?:{MONTH_ABBREVIATED}|(?:{MONTH_ALONE})\b))"), usize::MAX),
        // a season of a year ("since spring 2024", "fall of 2018"): more
        // than the year Safe Harbor keeps
        Spec::new(PhiKind::Date, r"\b(?i:spring|summer|fall|autumn|winter)[ \t]+(?:of[ \t]+)?(?:19|20)\d\d\b", 0),
    ]
}

/// How a note writes its numeric dates: day first, month first, or either
/// where every one it writes could be read both ways ("04/12/2026").
#[derive(Clone, Copy, PartialEq)]
enum Order {
    DayFirst,
    MonthFirst,
}

/// The short dates that only the note's own dates tell from a fraction: a
/// day and month with a slash whose reading in the note's order is within
/// ten days of a whole date the note writes ("Bowels opened 4/12", "HbA1c
/// 01/12:" in a note dated 04-12-2026). `month_and_day` reads every pair
/// that is no fraction of `SCALES`; of the rest, those out of a score's
/// scale (2 to 8, 10) stay scores whatever the note's dates ("2/6 SEM",
/// "R arm 2/5"), which leaves the twelfths: months in British shorthand
/// ("review 3/12", "for 6/12"; the word before tells) and, in a note of
/// December, its days. Never a dose, a span of time or a visual acuity
/// ("1/2 tab", "3/12 ago", "acuity 6/12").
pub fn short_dates(text: &str, found: &[Found]) -> Vec<Found> {
    let mut out = Vec::new();
    // the note's whole dates: in digits, each as it reads in either
    // order, and with the month's name, as they read
    let mut dates: Vec<(u32, u32, Option<Order>)> = Vec::new();
    let mut named: Vec<(u32, u32)> = Vec::new();
    for f in found.iter().filter(|f| f.kind == PhiKind::Date) {
        let span = &text[f.start..f.end];
        if let Some((a, b)) = numeric_day_and_month(span) {
            let order = match (a > 12, b > 12) {
                (true, false) => Some(Order::DayFirst),
                (false, true) => Some(Order::MonthFirst),
                _ => None,
            };
            dates.push((a, b, order));
        } else if let Some(month_and_day) = named_month_and_day(span) {
            named.push(month_and_day);
        }
    }
    if dates.is_empty() && named.is_empty() {
        return out;
    }
    // one order for the note where any of its dates says which
    let note_order = dates.iter().find_map(|d| d.2);
    let readings = |a: u32, b: u32, order: Option<Order>| {
        [Order::DayFirst, Order::MonthFirst]
            .into_iter()
            .filter(move |o| order.is_none_or(|order| order == *o))
            .map(move |o| match o {
                Order::DayFirst => (b, a, o),
                Order::MonthFirst => (a, b, o),
            })
            .filter(|&(month, day, _)| (1..=12).contains(&month) && (1..=31).contains(&day))
    };
    for m in slash_pairs(text) {
        if found.iter().any(|f| f.start < m.end && m.start < f.end) {
            continue;
        }
        let (earlier, before) = word_before(&text[..m.start]);
        let (_, earlier) = word_before(earlier);
        let after = text[m.end..].trim_start_matches([' ', '\t']);
        let after = &after[..after
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(after.len())];
        let word_of = |list: &[&str], w: &str| list.iter().any(|l| l.eq_ignore_ascii_case(w));
        // a plan's day, not its span: "discharge planned for 9/12"
        let planned = before.eq_ignore_ascii_case("for") && word_of(PLANNED, earlier);
        if (word_of(SPAN_BEFORE, before) && !planned) || word_of(SPAN_AFTER, after) {
            continue;
        }
        let (a, b) = text[m.clone()].split_once('/').unwrap_or_default();
        let (a, b) = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
        // out of a score's scale ("2/6 SEM", "R arm 2/5", "clock 4/7",
        // "L 6/10"), a fraction or a score whatever the note's dates
        if b != 12 && SCALES.contains(&b) {
            continue;
        }
        let near = readings(a, b, note_order).any(|(month, day, o)| {
            let close = |m2: u32, d2: u32| m2 == month && day.abs_diff(d2) <= 10;
            named.iter().any(|&(m2, d2)| close(m2, d2))
                || dates.iter().any(|&(x, y, order)| {
                    readings(x, y, order.or(note_order))
                        .any(|(m2, d2, o2)| o2 == o && close(m2, d2))
                })
        });
        if near {
            out.push(Found {
                start: m.start,
                end: m.end,
                kind: PhiKind::Date,
            });
        }
    }
    out
}

/// Every pair of one or two digits each side of a slash that stands alone
/// as a month and day would (what the `M/D` rule reads): no word's
/// character, slash, period, colon, plus or hyphen before it ("1/2" of
/// "11/2", "v1/2"), none of those nor a percent sign after it, unless a
/// period or colon ends a sentence or a label ("4/12.", "01/12:"). Read
/// byte by byte: a regex over every note cost more than the rest of
/// `short_dates`.
fn slash_pairs(text: &str) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let bytes = text.as_bytes();
    let digits_back = |end: usize| {
        let n = bytes[..end]
            .iter()
            .rev()
            .take(3)
            .take_while(|b| b.is_ascii_digit())
            .count();
        (1..=2).contains(&n).then(|| end - n)
    };
    let digits_on = |start: usize| {
        let n = bytes[start..]
            .iter()
            .take(3)
            .take_while(|b| b.is_ascii_digit())
            .count();
        (1..=2).contains(&n).then(|| start + n)
    };
    let word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices('/').filter_map(move |(slash, _)| {
        let start = digits_back(slash)?;
        let end = digits_on(slash + 1)?;
        let before = text[..start].chars().next_back();
        if before.is_some_and(|c| word(c) || matches!(c, '/' | '.' | ':' | '+' | '-')) {
            return None;
        }
        let mut after = text[end..].chars();
        let stands_alone = match after.next() {
            None => true,
            Some('.' | ':') => after.next().is_none_or(char::is_whitespace),
            Some(c) => !(word(c) || matches!(c, '/' | '%' | '-')),
        };
        stands_alone.then_some(start..end)
    })
}

/// The words before a short pair that make it a span of time, a count or
/// a visual acuity, not a date ("review 3/12", "for 6/12", "acuity 6/12").
const SPAN_BEFORE: &[&str] = &[
    "in", "for", "within", "over", "after", "x", "past", "last", "every", "than", "review", "day",
    "acuity", "va", "vision", "ph", "pinhole",
];

/// The words before "for" that make the pair after it a plan's day
/// ("planned for 9/12", "booked for 4/12"), not a span ("for 6/12").
const PLANNED: &[&str] = &[
    "planned",
    "scheduled",
    "booked",
    "arranged",
    "set",
    "fixed",
    "pencilled",
    "penciled",
];

/// The text before the last word of `text` (after trailing spaces), and
/// that word: its letters, none where `text` ends in another character.
fn word_before(text: &str) -> (&str, &str) {
    let text = text.trim_end_matches([' ', '\t']);
    let start = text
        .char_indices()
        .rfind(|(_, c)| !c.is_alphabetic())
        .map_or(0, |(i, c)| i + c.len_utf8());
    (&text[..start], &text[start..])
}

/// The words after a short pair that make it a dose, a span of time or a
/// score ("1/2 tab", "3/12 ago", "6/12 months").
const SPAN_AFTER: &[&str] = &[
    "tab", "tabs", "tablet", "tablets", "cap", "caps", "cup", "cups", "of", "strength", "dose",
    "doses", "mg", "ml", "unit", "units", "pill", "pills", "times", "day", "days", "week", "weeks",
    "month", "months", "mo", "yr", "yrs", "year", "years", "hr", "hrs", "hour", "hours", "min",
    "mins", "minutes", "sets", "reps", "flights", "block", "blocks", "mile", "miles", "ago", "hx",
    "history", "pain", "scale",
];

/// The first two numbers of a whole date in digits ("04/12/2026",
/// "3.12.26", "12-4-2026": one or two digits, one or two, then a year of
/// two or four, one separator throughout), or `None`.
fn numeric_day_and_month(span: &str) -> Option<(u32, u32)> {
    let sep = span.bytes().find(|b| !b.is_ascii_digit())?;
    if !matches!(sep, b'/' | b'.' | b'-') {
        return None;
    }
    let mut parts = span.split(sep as char);
    let (a, b, year) = (parts.next()?, parts.next()?, parts.next()?);
    let number = |s: &str, lens: &[usize]| {
        (lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    number(year, &[2, 4])?;
    let day_or_month = number(a, &[1, 2]).zip(number(b, &[1, 2]));
    parts.next().is_none().then_some(day_or_month).flatten()
}

/// The month and day of a date written with its month's name and a year
/// ("December 3, 2026", "3 Dec 2026"), or `None`.
fn named_month_and_day(span: &str) -> Option<(u32, u32)> {
    let words = || {
        span.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
    };
    if !words().any(|w| w.len() == 4 && w.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let month = words().find_map(|w| {
        MONTHS.iter().position(|m| {
            w.len() >= 3 && m.len() >= w.len() && m[..w.len()].eq_ignore_ascii_case(w)
        })
    })?;
    let day = words()
        .filter_map(|w| {
            w.trim_end_matches(|c: char| c.is_ascii_alphabetic())
                .parse::<u32>()
                .ok()
        })
        .find(|d| (1..=31).contains(d))?;
    Some((month as u32 + 1, day))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deid::patterns::{merge, Patterns};

    fn dates(text: &str) -> Vec<String> {
        let mut f = Vec::new();
        Patterns::new().find(text, &mut f);
        merge(f)
            .into_iter()
            .filter(|f| f.kind == PhiKind::Date)
            .map(|f| text[f.start..f.end].to_string())
            .collect()
    }

    #[test]
    fn the_shapes_of_the_ninth_development_set() {
        for (text, want) in [
            ("on the wait list since Oct.).", vec!["Oct."]),
            ("in Sept. she moved", vec!["Sept."]),
            ("since October, and", vec!["October"]),
            ("ON NOVEMBER 8TH AND THE", vec!["NOVEMBER 8TH"]),
            ("SEEN DECEMBER 3, 2026 IN", vec!["DECEMBER 3, 2026"]),
            ("staples removed 30.11..", vec!["30.11."]),
            ("Ferinject given 25.11., Hb", vec!["25.11."]),
            ("HTN dx 2019-03, T2DM", vec!["2019-03"]),
            ("fasting for Eid ul Fitr and", vec!["Eid ul Fitr"]),
            ("home for Divali", vec!["Divali"]),
            ("after Hmong New Year the", vec!["Hmong New Year"]),
            (
                "derbyn / admitted 3 Tachwedd 2026 (",
                vec!["3 Tachwedd 2026"],
            ),
            ("adolygu 4ydd Rhagfyr 2026.", vec!["4ydd Rhagfyr 2026"]),
            ("ers 1 Rhag. Mae", vec!["1 Rhag"]),
        ] {
            assert_eq!(dates(text), want, "{text}");
        }
        // near misses: a range of years, a version, a dose in capitals, a
        // decimal with a full stop, a month's name that is a word
        for text in [
            "smoked 2019-2021",
            "MAY TAKE 2 TABLETS",
            "Hb 12.5.",
            "pH 7.35.",
            "she may 3 times",
            "MARCH 35 KG",
            "runs of 10 tach on tele",
            "ward 3 Medicine",
        ] {
            assert!(dates(text).is_empty(), "{text}: {:?}", dates(text));
        }
    }

    #[test]
    fn the_shapes_of_the_third_development_round() {
        for (text, want) in [
            ("biopsy 2023-03-05T14:22 CT", vec!["2023-03-05T14:22"]),
            ("dx 2023-03-05 14:22:10Z ok", vec!["2023-03-05 14:22:10Z"]),
            (
                "done 2024-11-24T09:15-07:00.",
                vec!["2024-11-24T09:15-07:00"],
            ),
            ("Brain MRI on03/05/2024: no", vec!["03/05/2024"]),
            ("D0B :  03 / 14 / 1933", vec!["03 / 14 / 1933"]),
            ("March  4 , 2024 letter", vec!["March  4 , 2024"]),
            ("scans Mar. 19, '24 and", vec!["Mar. 19, '24"]),
            ("DOB 09-DEC-1944", vec!["09-DEC-1944"]),
            ("DOB-12.25.51", vec!["12.25.51"]),
            ("from 18.11. until", vec!["18.11."]),
            ("Blood cultures 11/21 neg", vec!["11/21"]),
            ("US 10/31: mass", vec!["10/31"]),
            ("[12/02 08:14] CHW", vec!["12/02"]),
            ("moving to my moms 12/15.", vec!["12/15"]),
            ("admitted 3/5-3/9 for PE", vec!["3/5-3/9"]),
            ("Seen by ID on the 22nd.", vec!["the 22nd"]),
            ("missed the 5th and 6th (vomiting)", vec!["the 5th and 6th"]),
            (
                "born March third nineteen forty two.",
                vec!["March third nineteen forty two"],
            ),
            ("the last one on June the ninth", vec!["June the ninth"]),
            (
                "room · Thursday, December third, 2026, 15:00",
                vec!["December third, 2026"],
            ),
            (
                "PATIENT: Rosa. October seven, nineteen thirty-two.",
                vec!["October seven, nineteen thirty-two"],
            ),
            ("in May two of them left", vec![]),
            (
                "about the fifteenth of October when",
                vec!["fifteenth of October"],
            ),
            ("Follow up with me on the sixteenth.", vec!["sixteenth"]),
        ] {
            assert_eq!(dates(text), want, "{text}");
        }
    }

    #[test]
    fn the_shapes_of_the_fourth_development_round() {
        for (text, want) in [
            ("Could we get him in before the 15th?", vec!["the 15th"]),
            ("PET 20 Nov. and", vec!["20 Nov."]),
            ("port placed 11-Nov; ok", vec!["11-Nov"]),
            ("Congé le 4 déc. 2026 to", vec!["4 déc. 2026"]),
        ] {
            assert_eq!(dates(text), want, "{text}");
        }
        // a season and a year say no more than the year; an ordinal
        // before a noun is no day, with a question mark near or not
        for text in [
            "Dx summer '25, ok",
            "the 5th toe? no",
            "is it the 3rd dose?",
        ] {
            assert_eq!(dates(text), Vec::<String>::new(), "{text}");
        }
    }

    #[test]
    fn fractions_scores_and_ordinals_that_are_no_dates() {
        for text in [
            "pain 7/10 today",
            "power 4/5 in the left leg",
            "ate 1/2 of lunch, 3/4 of dinner",
            "murmur 2/6 at the apex",
            "MMSE 22/30",
            "symptoms for 3/12 and 2/7",
            "BP 150/90, HR 88",
            "the 5th metatarsal",
            "for the first time",
            "a second opinion",
            "HL7 version 2.5.1",
            "K 4.1. Na 139.",
            "2/2 blood cultures positive",
        ] {
            assert_eq!(dates(text), Vec::<String>::new(), "{text}");
        }
    }

    #[test]
    fn no_fraction_reads_as_a_month_and_day() {
        for d in SCALES {
            for n in 1..=d {
                assert!(!month_and_day(&format!("{n}/{d}")), "{n}/{d}");
            }
            assert!(!month_and_day(&format!("01/{d}")), "01/{d}");
        }
        for md in ["12/9", "10/31", "1/11", "12/10", "01/13", "9/1", "8/07"] {
            assert!(month_and_day(md), "{md}");
        }
        // in a note: a fraction in front of a date hides neither, and a
        // rejected fraction's separator still starts the next date
        assert_eq!(dates("ate 3/4 1/11 and 2/4, 12/9."), vec!["1/11", "12/9"]);
        assert_eq!(dates("1/2\n1/13 (7/10) 10/31"), vec!["1/13", "10/31"]);
    }

    #[test]
    fn european_months_roman_months_ranges_and_lower_case() {
        for (text, want) in [
            ("discharged on 5 dic. 2026.", vec!["5 dic. 2026"]),
            ("ON ADMISSION (D0, 3 Dis 2026):", vec!["3 Dis 2026"]),
            ("merdeka 31 Ogos 1957", vec!["31 Ogos 1957"]),
            ("3 dis him", vec![]),
            ("vu le 5 déc, puis", vec!["5 déc"]),
            ("She has smoked for 4 decades.", vec![]),
            ("rounded to 2 decimals", vec![]),
            (
                "Consulta 12 de janeiro de 2027, às 9h",
                vec!["12 de janeiro de 2027"],
            ),
            ("Visita 1-XII-2026. Motivo", vec!["1-XII-2026"]),
            ("a stay from Oct 3–7, 2026, but", vec!["Oct 3–7, 2026"]),
            ("deferred to Dec. 14-18.", vec!["Dec. 14-18"]),
            ("dec 1 - got here 8am", vec!["dec 1"]),
            ("seit Mitte Oktober zunehmend", vec!["Mitte Oktober"]),
            ("stürzte am 28. Nov. ohne", vec!["28. Nov."]),
            ("e-card geprüft 1.12.", vec!["1.12."]),
            ("telephoned on the 2nd and", vec!["the 2nd"]),
        ] {
            assert_eq!(dates(text), want, "{text}");
        }
        // the Romance abbreviations that are words need their period or year
        for text in [
            "pain 4 out of 10",
            "3 sets of stairs",
            "may 10 mg be given",
            "the 5th metatarsal",
            "Type 2 diabetes",
        ] {
            assert_eq!(dates(text), Vec::<String>::new(), "{text}");
        }
    }

    #[test]
    fn days_and_months_as_europe_writes_them_without_a_year() {
        for (text, want) in [
            ("Bloods 28/11: ALP 188", vec!["28/11"]),
            ("last given 19/11 at the clinic", vec!["19/11"]),
            ("outpatients w/c 14/12. Bloods", vec!["14/12"]),
            ("thrombolysed 29/11 16:52", vec!["29/11"]),
            ("was admitted 6/11–18/11 after", vec!["6/11–18/11"]),
            ("Ons 02.12 08:25 — SPL", vec!["02.12"]),
            ("Tor 3. desember 16:40", vec!["3. desember"]),
            ("if no better by vendredi 4.", vec!["4"]),
            (
                "fall on the night of 22 to 23 November, long",
                vec!["22 to 23 November"],
            ),
            ("stairs independently by mid-January.", vec!["mid-January"]),
            ("her birthday 9th — she'll be", vec!["9th"]),
            ("social services ref from Oct — never", vec!["Oct"]),
            ("Stopped lithium ~Oct. (\"it made", vec!["Oct."]),
            ("RTC 4 wks (30 dic). Labs", vec!["30 dic"]),
            ("Previous SVD on le 2 mars 2023 at", vec!["le 2 mars 2023"]),
            ("Kraków, 04.12.2026 r.", vec!["04.12.2026 r."]),
            (
                "Dates: 7.12, 9.12, 11.12.26 then",
                vec!["7.12, 9.12, 11.12.26"],
            ),
        ] {
            assert_eq!(dates(text), want, "{text}");
        }
        for text in [
            "Crisis line card given (24/7); knows",
            "review donepezil in 3/12; memory",
            "2/7 dysuria, confusion",
            "donepezil 5 mg for 4/52 then",
            "GCS 13/15 on arrival",
            "Tinetti 17/28 and MoCA 17/30",
            "given 1/2 tab at night",
            "pain (4 out of 10)",
            "(3 set of 10 reps)",
            "Cr 1.12, 1.08, 1.1 today",
            "le patient, le 2",
            "~Octreotide 50 mcg",
        ] {
            assert_eq!(dates(text), Vec::<String>::new(), "{text}");
        }
    }

    /// The short dates `short_dates` adds to what the patterns find.
    fn short(text: &str) -> Vec<String> {
        let mut f = Vec::new();
        Patterns::new().find(text, &mut f);
        let f = merge(f);
        short_dates(text, &f)
            .into_iter()
            .map(|f| text[f.start..f.end].to_string())
            .collect()
    }

    #[test]
    fn twelfths_are_days_of_december_where_the_note_is_dated_in_it() {
        // day first or either way, with the month's name, and month first
        assert_eq!(
            short("Seen 04/12/2026. Bowels opened 4/12, HbA1c 01/12: 9.6%."),
            ["4/12", "01/12"]
        );
        assert_eq!(
            short("Date: 5 December 2026. Revisit 7/12 at 11:00"),
            ["7/12"]
        );
        assert_eq!(short("Seen 10/14/2026; also 10/12 and 3/12."), ["10/12"]);
        // a plan's day after "for", where "for" alone is a span's
        assert_eq!(
            short("Date: 4 December 2026. Discharge planned for 9/12, review for 6/12"),
            ["9/12"]
        );
        // far from the note's dates, another month, or months in British
        // shorthand, a dose or an acuity
        for text in [
            "Seen 04/12/2026. Done 29/12.",
            "Seen 20/06/2026. Done 4/12.",
            "Seen 04/12/2026. Review 3/12, for 6/12, 3/12 ago, 1/2 tab, VA 6/12, PH 6/12",
            "Seen 4/12/2026. Started 3/12 months",
        ] {
            assert!(short(text).is_empty(), "{text}: {:?}", short(text));
        }
        // scores stay scores whatever the note's dates
        assert!(short("Seen 3/7/2026: R arm 2/5, 3/5, murmur 2/6, clock 4/7, L 6/10").is_empty());
    }
}
