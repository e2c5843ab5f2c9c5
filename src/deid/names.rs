//! Names in free text beyond a title ("Mr Hughes"): people found by the
//! words around them and by dictionaries, as notes written by people name
//! them.
//!
//! - Context: relatives and household ("her daughter Kathleen", "Wife Rosa",
//!   "son Brendan O'Connell"), clinicians by role ("PCP: Howard Feld",
//!   "seen by Anita Shah") or by credential ("Howard Feld, MD"), and
//!   employers and facilities after the words that introduce them ("works
//!   at Harbor Freight", "transferred from Mercy General Hospital"). Safe
//!   Harbor's first identifier is the names of the individual and of
//!   relatives, employers and household members.
//! - Dictionaries: a capitalised word that is a first name of the US Census
//!   lists or of the world's lists (`datasets/names/`: Marieke, Ayaan,
//!   Étienne, Kwame), with the capitalised word after it ("Howard Feld"); an
//!   initial and a surname ("J. Okafor"); "Surname, First".
//! - Towns (kind city): after the words that place a person ("lives in
//!   Grand Rapids") and before a state ("in Tucson, AZ", "Tucson,
//!   Arizona").
//!
//! Words that are names on the lists but mostly something else in a note
//! (May, Grace, Parkinson, Foley; `datasets/names/not-names.txt`), and the
//! words of a note's structure ("Mother: Deceased"), are never taken for a
//! name by themselves.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;
use regex_automata::meta;

use super::byte_runs;
use super::patterns::{compile, next_boundary, Found, NEIGHBOUR_BEFORE, TITLES};
use super::rule_windows::{rule_regex, within, RuleWindows, Window};
use crate::clinical::PhiKind;
use crate::hashing::WordMap;

const FIRST_NAMES: &str = include_str!("../../datasets/names/first-names.txt");
const SURNAMES: &str = include_str!("../../datasets/names/surnames.txt");
const WORLD_FIRST_NAMES: &str = include_str!("../../datasets/names/world-first-names.txt");
const WORLD_SURNAMES: &str = include_str!("../../datasets/names/world-surnames.txt");
const NOT_NAMES: &str = include_str!("../../datasets/names/not-names.txt");
const TOWNS: &str = include_str!("../../datasets/places/towns.txt");
const NOT_TOWNS: &str = include_str!("../../datasets/places/not-towns.txt");

/// `Names::word_flags` bits.
const FIRST: u8 = 1;
const SURNAME: u8 = 2;
const NO_NAME: u8 = 4;
/// A first name or a surname of the world lists (`world-*.txt`) alone.
/// The rules read them as they read the census lists; the learned
/// detector does not (`word_flags`): it was trained on the census lists,
/// and its documented training command must still make the shipped file.
const WORLD_FIRST: u8 = 8;
const WORLD_SURNAME: u8 = 16;
/// A first name or a surname of any list, as the rules ask.
const ANY_FIRST: u8 = FIRST | WORLD_FIRST;
const ANY_SURNAME: u8 = SURNAME | WORLD_SURNAME;
/// A word of a note's structure or a title (`STRUCTURE`, `TITLES`): no
/// name even after a relation. `NO_NAME` is set with it.
const STRUCTURE_WORD: u8 = 32;

/// Words that follow a relation or role in a note's structure rather than
/// a name ("Mother: Alive and well", "Attending: Cardiology").
const STRUCTURE: &[&str] = &[
    "alive",
    "deceased",
    "died",
    "living",
    "healthy",
    "unknown",
    "none",
    "no",
    "yes",
    "n/a",
    "at",
    "is",
    "was",
    "has",
    "had",
    "and",
    "with",
    "who",
    "not",
    "the",
    "her",
    "his",
    "their",
    "history",
    "hx",
    "diabetes",
    "cancer",
    "htn",
    "cad",
    "copd",
    "chf",
    "dementia",
    "stroke",
    "present",
    "bedside",
    "aware",
    "updated",
    "notified",
    "called",
    "here",
    "today",
    "via",
    "phone",
    "team",
    "service",
    "on",
    "call",
    "covering",
    "note",
    "signed",
    "pending",
    "practitioner",
    "assistant",
    "home",
    "health",
    "services",
    "skilled",
    "facility",
    "assisted",
    "rehabilitation",
    "ambulance",
    "police",
    "floor",
    "icu",
    "er",
    "ems",
    "doctor",
    "sr",
    "jr",
];

/// The small words inside a name, between its capitalised words or before
/// its surname: Dutch, German, French, Iberian and Italian ("van der
/// Merwe", "dos Santos"), Arabic and Malay ("bin", "bte"), Welsh ("Owain
/// ap Rhys"), Irish and Scottish Gaelic ("Ó Súilleabháin", "Nic
/// Dhòmhnaill"), Scandinavian ("af", "av"); one list for the rules of a
/// name after a title (`patterns`) and after a context word (`NAME_RUN`).
macro_rules! particles {
    () => {
        "van|von|de|der|den|del|della|di|da|du|le|la|al|el|bin|ibn|binti|bint|bte|ter|ten|zu|vom|zum|dos|das|do|af|av|'t|’t|ap|ab|Mac|Nic|Ní|Ó|Uí|Mhic|Bean"
    };
}
pub(crate) use particles;

/// A run of capitalised name words: "Brendan O'Connell", "Anita Shah",
/// "Mary-Kate", "A. Oyelaran-Diaz", "Pieter van der Merwe", "Mohammed
/// al-Rashid", accented letters included; at most three words, with an
/// initial before them ("H. van der Bijl") and the particles of names
/// between them.
const NAME_RUN: &str = concat!(
    r"(",
    r"(?:\p{Lu}\.[ \t]*(?:(?:",
    particles!(),
    r")[ \t]+){0,2})?",
    r"\p{Lu}(?:['’]\p{Lu})?\p{Ll}[\p{L}'’]*(?:-\p{Lu}\p{Ll}[\p{L}'’]*)?",
    r"(?:[ \t]+(?:\p{Lu}\.[ \t]+)?",
    r"(?:(?:",
    particles!(),
    r")[ \t-]+){0,2}",
    r"\p{Lu}(?:['’]\p{Lu})?\p{Ll}[\p{L}'’]*(?:-\p{Lu}\p{Ll}[\p{L}'’]*)?){0,2}",
    r")"
);

/// A name written surname first, as lists and headers do: "Tran,
/// Minh-Chau", "OKONKWO, CHIDI", "Caudill,Everett W" (capitals allowed,
/// a middle initial after).
const INVERTED_RUN: &str =
    r"(\p{Lu}[\p{L}'’-]+,[ \t]?\p{Lu}[\p{L}'’-]+(?:[ \t]+\p{Lu}(?:\.|(?-u:\b)))?)";

/// A name in lower case, as text and portal messages write it ("my wife
/// jiyeon", "hi priya", "dr salinas"): kept only where a name list has it.
const LOWER_WORD: &str = r"(\p{Ll}[\p{Ll}'’-]+)";

/// The words before a first name in a message: greetings, "this is", and
/// a relative ("my wife jiyeon", "son deshawn").
const MESSAGE_CONTEXT: &str = r"hi|hello|hey|dear|{SIGN_OFFS}|this is|it'?s|called|texted|covered by|(?:(?:my|his|her|your|our)[ \t]+)?(?:{RELATIVES})";

/// The words a message ends in before its writer's name or initials
/// ("gracias - mari", "Diolch — FJ", "i'm sorry - andy").
const SIGN_OFFS: &str =
    r"thanks|thank you|thx|ty|gracias|diolch|merci|danke|grazie|obrigad[oa]|cheers|sorry|love";

/// The titles before a name in a message, a first name or a surname
/// ("can dr salinas see her", "called nurse jen", "hi ms lakisha"), in
/// small letters as the name is ("by the Southwest Dr light" is a street).
const LOWER_TITLES: &str = r"(?:dr|mr|mrs|ms|miss)\.?|nurse";

/// An organisation's name: capitalised words, with the small words inside
/// such names ("Bank of America", "St. Mary's", "Smith & Sons").
const ORG_RUN: &str = r"(\p{Lu}[\p{L}'’.&-]*(?:[ \t]+(?:(?:of|and|&|the|for|de|la|at)[ \t]+)?\p{Lu}[\p{L}'’.&-]*){0,5})";

/// A grandparent or elder in the words of the patients' families, a
/// relative to the name rules (`RELATIVES`) and to the age rules
/// (`patterns::KIN`): one list for both.
macro_rules! elders {
    () => {
        "kokum|kokom|moshom|mushum|tūtū|tutu|kupuna|kuia|koro|whaea|gogo|makhulu|mkhulu|ouma|oupa|abuela|abuelo|abuelita|abuelito|lola|lolo|nani|dadi|ammachi|ammamma|appachan|bibi|nonna|nonno|yiayia|pappou|bubbe|zayde|nana|nanna|gran|granny|grandad|granddad"
    };
}
pub(crate) use elders;

/// The relatives, household and carers a name follows ("daughter
/// Grace"), in English and in the Romance languages and Dutch ("hija
/// Maribel", "tante eunice", "figlia Rosa", "dochter Femke"; not German,
/// which capitalises every noun after them), and the elders of `elders!`.
const RELATIVES: &str = concat!(
    r"hija|hijo|esposa|esposo|hermana|hermano|sobrina|sobrino|nieta|nieto|suegra|suegro|cuñada|cuñado|comadre|compadre|madrina|padrino|fille|fils|épouse|époux|sœur|soeur|frère|frere|tante|oncle|nièce|neveu|cousine|gendre|belle-fille|petite-fille|petit-fils|nonc|parrain|marraine|figlia|figlio|moglie|marito|sorella|fratello|nuora|genero|filha|filho|marido|irmã|irmão|dochter|zoon|echtgenote|echtgenoot|zus|broer|kleindochter|kleinzoon|",
    r"daughter|dtr|dau|son|wife|husband|spouse|partner|companion|mother|father|mom|dad|sister|brother|aunt|uncle|niece|nephew|cousin|grandson|granddaughter|grand-daughter|grandmother|grandfather|grandma|grandpa|grandchild|grandchildren|children|kids|grand-nephew|grand-niece|great-grandson|great-granddaughter|fianc[ée]e?|boyfriend|girlfriend|neighbou?r|friend|roommate|landlord|landlady|caregiver|carer|guardian|step-?(?:son|daughter|mother|father)|(?:son|daughter|sister|brother|mother|father)-in-law|proxy|poa|hcp|emergency contact|next of kin|contact person|attendant|driver|super|superintendent|",
    elders!()
);

const ROLES: &str = r"pcp|gp|primary care(?: physician| provider| doctor)?|audiologist|physiotherapist|psychologist|counsell?or|dietician|nutritionist|phlebotomist|radiographer|sonographer|carer|support worker|key worker|caseworker|case worker|advocate|guardian|solicitor|attorney|lawyer|investigator|priest|rabbi|imam|deacon|health visitor|attending(?: physician)?|resident|registrar|reg|sho|consultant|intern|fellow|surgeon|intensivist|cardiologist|oncologist|nephrologist|neurologist|pulmonologist|psychiatrist|optometrist|podiatrist|dentist|midwife|paramedic|hospitalist|physician|provider|nurse|charge rn|therapist|social worker|case manager|care manager|coordinator|interpreter|translator|aide|care aide|tech|technician|scribe|clerk|chaplain|(?:lady |community )?health (?:worker|representative|aide)|promotora|pharmacist|dietitian|seen by|evaluated by|examined by|discussed with|spoke with|spoke to|signed[ \t]*:|signed by|dictated by|electronically signed by|cosigned by|referred by|referring(?: physician| provider| optometrist)?|handoff to|report (?:called )?to|rounds (?:with|w/)|(?:read|reviewed|amended|pronounced|verified|witnessed|transcribed|submitted|logged|written|entered|completed|prepared|recorded|documented|charted|interpreted|performed) by|submitting(?: physician| provider)?|copy to|cc[ \t]*:|witness|signature|transcriptionist|contact[ \t]*:|goes by|known as|a\.?k\.?a\.?|nicknamed|pastor|reverend|revd|mevrouw|meneer|signora|signor|sig\.ra|sig\.na|señora|señor|sra\.?|srta\.?|senhora|senhor|dra\.?|dr\.ª|madame|monsieur|doña|dña\.?";

const CREDENTIALS: &str = r"M\.?D\.?|D\.?O\.?|R\.?N\.?|N\.?P\.?|PA-C|APRN|ARNP|FNP|DNP|CRNA|LPN|LCSW|MSW|PharmD|Ph\.?D\.?|MLS|MLT|CLS|RRT|CNA|DDS|DMD|DPM|DPT|RDN|MPH|MBBS|CGC|BSN|MSN|LMFT|LPC|OCN|CWCN|CCTC|BCC|CNS|CNM|CRNP|ACNP|AGACNP|AGNP|FNP-BC|CCC-SLP|OTR/L|COTA|LICSW|LMSW|CCM|CHPN|CWOCN|CDCES|BCPS|RPh|MBChB|MB ChB|FRCP|MRCP|MRCGP|FRCS|FRCSI|MRCPI|FRACP|CSFA|MS[1-4]|RAN|RGN|RPN|CP-C|CHA(?:-I{1,3})?|CHAP";

/// Credentials that are words of a note too ("PT consult", "Outpatient
/// PT"): a credential only after a name and a comma ("Fraser Thom, PT").
const COMMA_CREDENTIALS: &str = r"PT|PTA|SLP";

/// Degrees a name may carry between itself and a credential, never
/// alone: "MS" and "MA" are also a disease, a title, a state.
const DEGREES: &str = r"MS|MA|BS|BA|MSc|BSc|MEd|MBA|MHA|MHS|MPAS|BScN";

/// What a relative or a carer is called beside the name, in brackets or
/// after a comma ("Bud (son)", "Dawn, her sister", "Summer (RN)").
const BESIDE_NAME: &str = r"(?:(?:the[ \t]+)?(?:pt|patient)['’]?s[ \t]+|(?:her|his|their|our|my)[ \t]+)?(?:(?:twin|eldest|oldest|youngest|older|younger|elder|adult|only|late)[ \t]+)?(?:{RELATIVES})s?";

/// The closing words of a letter or an e-mail, before the writer's name on
/// their line or the next ("Kind regards,\nAnita Shah", "Mit freundlichen
/// Grüßen, K. Aichele").
const CLOSINGS: &str = r"regards|sincerely|yours faithfully|yours truly|best wishes|with thanks|many thanks|cheers|mit freundlichen gr(?:ü|ue|u)(?:ß|ss)en|mit kollegialen gr(?:ü|ue|u)(?:ß|ss)en|met vriendelijke groet(?:en)?|met collegiale groet(?:en)?|cordialement|bien cordialement|cordiali saluti|distinti saluti|atentamente|un saludo|saludos|atenciosamente|cumprimentos|med vänlig hälsning|vennlig hilsen|med venlig hilsen";

const ORG_CONTEXT: &str = r"works?|worked|working|employed|retired|volunteers?";

pub const STATES: &str = "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY";

const STATE_NAMES: &str = "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming";

/// A place's name: one to three capitalised words ("Tucson", "Grand
/// Rapids", "Winston-Salem").
const PLACE_RUN: &str = r"(\p{Lu}\p{Ll}+(?:[ -]\p{Lu}\p{Ll}+){0,2})";

const PLACE_CONTEXT: &str = r"lives in|living in|lived in|stays in|staying in|stayed in|moved to|moved from|relocated to|visiting from|resident of|born in|grew up in|returned from|travel(?:l?ed)? to|trip to|flew in from|drove in from|originally from|native of|is from|hails from|home in|house in|apartment in|liv(?:es|ing) (?:alone|independently) in|(?:hospital|clinic|practice|praxis|center|centre|nursing home|care home|facility) in|(?:daughter|son|sister|brother|wife|husband|niece|nephew|cousin|parents|children|family|relatives)(?: who lives| living)? in|died in|buried in|married in|raised in|stationed (?:at|in)|came from|emigrated from|immigrated from|camps? in|(?:farm|ranch|place|cabin|camp)(?:es|s)? (?:in|near|outside)|(?:farms|ranches) (?:out )?(?:by|near)|out by|drives? (?:\w+ )?(?:up|down|over) from|home ?town:|city(?: of residence)?:|town(?: of residence)?:|place of birth:|birth ?place:|pob:";

/// Which of a context match's words are the name.
#[derive(Clone, Copy)]
enum Run {
    /// A person: leading words that are no name are dropped.
    Person,
    /// A person a relation names before them ("daughter Grace", "wife
    /// Hope"): as `Person`, and a listed first name counts even where
    /// it is also a word (Grace, Hope, Bud, Will); a word of the note's
    /// structure or a surname that is a word (an eponym) never does.
    Kin,
    /// A person with the relation or role beside them ("Bud (son)",
    /// "Dawn, her sister"): from the first word on a name list (a first
    /// name also where it is a word; a surname only where it is no word:
    /// never "Hypertension (father)" or "Parkinson's (father)").
    Beside,
    /// A person that a verb of speech names before them ("told Hope:",
    /// "asked Grace,"): the first word must be a listed first
    /// name, also where it is a word too, never a word of the structure.
    Spoken,
    /// A person after the abbreviation of a carer's role ("RN Ffion",
    /// "PCT: M. Lente", "SLT Tan Jia Hui"): a listed first name (as
    /// `Spoken`), an initial and words that may be names, or two
    /// capitalised words or more, one of them listed, none a word of the
    /// not-names nor an organisation's ("PT Eval", "RN Care Plan", "PT
    /// Initial Evaluation" are none).
    AfterRole,
    /// A first name in lower case: kept only if a name list has it.
    LowerFirst,
    /// A name in lower case after a title: kept only if a name list has
    /// it, as a first name or a surname ("dr salinas", "nurse jen"); a
    /// surname that is a word too never ("dr to").
    LowerAfterTitle,
    /// Initials ("-- jd", "transcriptionist kmb"): kept as they are.
    Initials,
    /// Initials and a surname ("D. Buchan", "A. O. Adeyemi"): kept when
    /// every word after the initials may be a name and none is a plan's
    /// verb ("Vitamin D. Continue" is none).
    Initialled,
    /// An organisation: kept whole unless every word is no name.
    Org,
}

pub struct Names {
    /// What the lists say of each folded word (`FIRST`, `SURNAME`,
    /// `NO_NAME` bits): one lookup a word, not one a list.
    flags: WordMap<Cow<'static, str>, u8>,
    context: Vec<(meta::Regex, Run, PhiKind)>,
    /// Every context rule at once: most notes match few or none, and the
    /// others only in the window of each one's matches.
    context_windows: RuleWindows,
    /// The context rules' regexes and then the `after_name` rules' first
    /// regexes, as `context_windows` holds them.
    regexes: Vec<String>,
    /// What says a name stands right before it: a credential ("Feld,
    /// MD"), a relation or a role beside it ("Bud (son)", "Dawn, her
    /// sister", "Summer (RN)"). The name is read backwards from each match, with the
    /// rule's second regex (anchored at the window's end) and its `Run`,
    /// so the search runs on the rare word, not on every capital letter.
    after_name: Vec<(Regex, Regex, Run)>,
    /// The towns of `datasets/places/towns.txt`, folded (lower case, no
    /// accents: "Ōamaru" is the list's "Oamaru").
    towns: WordMap<String, ()>,
    /// The territories, languages, months and weekdays of
    /// `datasets/places/not-towns.txt`, folded: never a town no gazetteer
    /// has ("answers in French", "killed in Korea").
    not_towns: WordMap<String, ()>,
    /// `ORG_HEADS`, `GENERIC` and `GENERIC_HEADS` words (`HEAD`,
    /// `GENERIC_WORD` bits).
    org_words: WordMap<&'static str, u8>,
}

/// `Names::org_words` bits.
const HEAD: u8 = 1;
const GENERIC_WORD: u8 = 2;

impl Names {
    /// The built-in dictionaries and rules, compiled once.
    pub fn builtin() -> &'static Names {
        static NAMES: OnceLock<Names> = OnceLock::new();
        NAMES.get_or_init(Names::new)
    }

    fn new() -> Names {
        let mut flags: WordMap<Cow<'static, str>, u8> = WordMap::default();
        for (list, bit) in [
            (FIRST_NAMES, FIRST),
            (SURNAMES, SURNAME),
            (WORLD_FIRST_NAMES, WORLD_FIRST),
            (WORLD_SURNAMES, WORLD_SURNAME),
            (NOT_NAMES, NO_NAME),
        ] {
            for w in list_words(list) {
                *flags.entry(Cow::Borrowed(w)).or_default() |= bit;
            }
        }
        for w in STRUCTURE {
            *flags.entry(Cow::Borrowed(*w)).or_default() |= NO_NAME | STRUCTURE_WORD;
        }
        // a title says a name follows ("Chaplain Fr. Dunleavy")
        for t in TITLES.split('|') {
            *flags.entry(Cow::Owned(t.to_ascii_lowercase())).or_default() |=
                NO_NAME | STRUCTURE_WORD;
        }
        // (pattern, which words of group 1 are the identifier, its kind);
        // ASCII word boundaries: a Unicode \b makes the regex engine fall
        // back to a slow one on text that is not all ASCII
        let specs = [
            (
                format!(
                    r"(?i:(?-u:\b)(?:{RELATIVES})(?:s|'s)?)(?:[ \t]*[(:,-][ \t]*|[ \t]+(?:(?i:is|named|called|Shri|Smt)\.?[ \t]+)?){NAME_RUN}"
                ),
                Run::Kin,
                PhiKind::Name,
            ),
            (
                format!(
                    r"(?i:(?-u:\b)(?:{ROLES}))[ \t]*:?[ \t]*[\x22“]?(?:(?i:{TITLES})\.?[ \t]+)?{NAME_RUN}"
                ),
                Run::Person,
                PhiKind::Name,
            ),
            (
                format!(
                    r"(?i:(?-u:\b)(?:{CLOSINGS}))[ \t]*,?[ \t]*(?:\r?\n[ \t]*)?(?:(?i:{TITLES})\.?[ \t]+)?{NAME_RUN}"
                ),
                Run::Person,
                PhiKind::Name,
            ),
            // a first name after a verb of speech or contact: "he told Hope:"
            (
                format!(
                    r"(?-u:\b)(?:told|asked|thanked|phoned|texted|emailed|reassured|updated)[ \t]+{NAME_RUN}[ \t]*[:,;.]"
                ),
                Run::Spoken,
                PhiKind::Name,
            ),
            // a surname before marriage, in any case: "née Guidry", "née
            // CHAPUIS", "married name ROUX", "geb. Hoffmann", "z d. Nowak"
            (
                r"(?-u:\b)(?i:n[ée]e|geb\.|geborene|z[ \t]+d\.|z[ \t]+domu|(?:married|maiden|birth)[ \t]+name)[ \t]*:?[ \t]+(\p{Lu}[\p{L}'’]*(?:-\p{Lu}[\p{L}'’]*)?)".to_string(),
                Run::Person,
                PhiKind::Name,
            ),
            (
                format!(r"(?i:(?-u:\b)(?:{ROLES}))[ \t]*:?[ \t]*{INVERTED_RUN}"),
                Run::Person,
                PhiKind::Name,
            ),
            (
                format!(
                    r"(?i:(?-u:\b)(?:{}))(?:[ \t,:]+|[ \t]*[-—–][ \t]*){LOWER_WORD}",
                    MESSAGE_CONTEXT
                        .replace("{RELATIVES}", RELATIVES)
                        .replace("{SIGN_OFFS}", SIGN_OFFS)
                ),
                Run::LowerFirst,
                PhiKind::Name,
            ),
            (
                format!(r"(?-u:\b)(?:{LOWER_TITLES})[ \t]+{LOWER_WORD}"),
                Run::LowerAfterTitle,
                PhiKind::Name,
            ),
            // initials as a signature or after a role, alone at a line's end
            // (a dash may follow the line's last sentence, "Cb 540-555-0107.
            // —LM", or a time, "12/02/2026 1452   -- FOB"; a hyphen a
            // sentence's end or a message's last word, "walker broke). -ON",
            // "Diolch — FJ"; a carer's role its colon, "MA: BH"), with
            // periods too, "- T.S. 11/29/26", and one letter only where a
            // quoted message ends, "the lady doctor. - G\"")
            (
                format!(
                    r#"(?m)(?:(?:^|[.;!\d][ \t]*)[ \t]*(?:--|—|–|/s/)|(?:[.!?)"”]|(?i:(?-u:\b)(?:{SIGN_OFFS})))[ \t]*(?:--|—|–|-)|(?:(?i:(?-u:\b)(?:{ROLES}))|(?-u:\b)(?:RN|LPN|MA|CNA|PCT|HCA|NA|SN))(?-u:\b):?)[ \t]*(?:([A-Za-z]{{2,3}}|[A-Z]\.(?:[ \t]?[A-Z]\.){{1,2}})(?:[ \t]+\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?)?[ \t]*["”]?|([A-Z])["”])[ \t]*$"#
                ),
                Run::Initials,
                PhiKind::Name,
            ),
            // a typist's or a signer's initials: after a date or a time in
            // brackets ("transcribed 12/02/26 (rlk)", "13:14   (SDA)",
            // "10:34 (KM/DB)"), after the words of typing ("Transcribed
            // jw", "TRANSCRIBED BY: KMJ", "Typed: 03/12/26 (MK)"), as a
            // reference ("JMK/rlk"), and listed ("initials on MAR: HBN")
            (
                r"(?-u:\b)(?:\d{1,2}[/.:-]\d{1,2}(?:[/.-]\d{2,4})?|[012]\d[0-5]\d)\.?[ \t]+\(((?:[A-Z]{2,4}|[a-z]{2,4})(?:/(?:[A-Z]{2,4}|[a-z]{2,4}))?)\)".to_string(),
                Run::Initials,
                PhiKind::Name,
            ),
            (
                r"(?m)(?i:(?-u:\b)(?:transcribed|typed|typist|transcriptionist|dictated|tech|technologist|scribed?|signed|cosigned|closed|routed[ \t]+to)(?:[ \t]+in[ \t]+part)?)(?:[ \t]+(?i:by))?[ \t]*:?[ \t]*(?:\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?\.?[ \t]+)?\(?([a-z]{2,4}|[A-Z]{2,4}|[A-Z]\.[A-Z]\.(?:[A-Z]\.)?)\)?(?:[ \t]*$|[ \t]*[,;).]|[ \t]+(?:\d|-|[A-Z]{2,4}(?-u:\b)))".to_string(),
                Run::Initials,
                PhiKind::Name,
            ),
            (
                r"(?-u:\b)([A-Z]{2,4}/[a-z]{2,4})(?-u:\b)".to_string(),
                Run::Initials,
                PhiKind::Name,
            ),
            (
                r"(?i:(?-u:\b)initials)(?:[ \t]+(?:on|in|of)[ \t]+[^:\n]{1,30}:|[ \t]*:?)[ \t]*([A-Z]{2,4}(?:[ \t]*[,/][ \t]*[A-Z]{2,4})*)(?-u:\b)".to_string(),
                Run::Initials,
                PhiKind::Name,
            ),
            // a signer by initials and a surname no list has, where a
            // signature stands: after a dash, a slash, a colon or "by",
            // before a credential, a comma or the line's end ("received by
            // D. Buchan, CN", "— A. Ndiaye —", "K. Lewis RGN")
            (
                r"(?m)(?:^|[-—–/:(]|(?-u:\b)(?i:by|for|from|to|cc|and|with))[ \t]*((?:\p{Lu}\.[ \t]?){1,2}\p{Lu}\p{Ll}+(?:[-'’]\p{Lu}?\p{Ll}+)?)(?:[ \t]*(?:$|[,;)\]])|\.[ \t]*$|[ \t]+[-—–/][ \t]|,?[ \t]+[A-Z][A-Z0-9-]{1,6}(?-u:\b))".to_string(),
                Run::Initialled,
                PhiKind::Name,
            ),
            // a person after the abbreviation of a carer's role ("RN
            // Ffion", "HCA Dawn", "Physio Bryn", "FF/PM Ruby Castillo", a
            // community health representative's "CHR Loretta Iron
            // Shell", "PCT: M. Lente", "CNM K. Delacroix", a medical
            // officer's "MO Ng Kai Xuan", "pall care NP Hope
            // Lindgren-Sayed"; see `Run::AfterRole`)
            (
                format!(
                    r"(?-u:\b)(?:RN|LPN|LVN|CNA|HCA|PCT|SN|SPL|RT|PT|OT|SLT|SALT|EMT|AEMT|PM|FF|CM|SW|RGN|RMN|NA|MA|CHR|CHW|PHN|LHW|CNM|CNS|OTL|MO|CHA|ECLO|DN|HV|NP|APRN|FNP|Physio|physio)[ \t]*:?[ \t]+{NAME_RUN}"
                ),
                Run::AfterRole,
                PhiKind::Name,
            ),
            (
                format!(
                    r"(?i:(?-u:\b)(?:{ORG_CONTEXT})[ \t]+(?:at|for|by|from|with)|(?-u:\b)employer[ \t]*:|(?-u:\b)transferred[ \t]+from|(?-u:\b)admitted[ \t]+from|(?-u:\b)discharged[ \t]+to)[ \t]+(?:the[ \t]+)?{ORG_RUN}"
                ),
                Run::Org,
                PhiKind::Name,
            ),
            // a place after "at" inside a sentence is a facility, an
            // employer or a town far more often than not ("at Publix in
            // Coral Gables", "at the Parkview anticoag clinic", "died at
            // 101 at Park Vista"; the development sets' other words there
            // are acronyms, "at RUSB", and feasts, "at Christmas")
            (
                format!(r"(?-u:\b)at[ \t]+(?:the[ \t]+)?{ORG_RUN}"),
                Run::Org,
                PhiKind::Name,
            ),
            // towns: after the words that place a person, and before a
            // state ("in Tucson, AZ", "Tucson, Arizona")
            (
                format!(r"(?i:(?-u:\b)(?:{PLACE_CONTEXT}))[ \t]+(?:the[ \t]+)?{PLACE_RUN}"),
                Run::Org,
                PhiKind::City,
            ),
            // a house by its name where a neighbour lives, after their
            // name: "neighbour Tamsin Rowe from Chy-an-Dowr", "Mrs Gwenda
            // Hughes at Ty'n Llan", "Mr Wyn Hope (Bryn Teg)"
            (
                format!(
                    r"{NEIGHBOUR_BEFORE}(?:(?i:(?-u:\b)(?:at|of|from))[ \t]+(?:the[ \t]+)?|\()[ \t]*{ORG_RUN}"
                ),
                Run::Org,
                PhiKind::Address,
            ),
            // a town no list has after "near" ("broke down near Prewitt"),
            // written in small letters: not a sentence's "Near", nor "near
            // the ..."
            (
                format!(r"(?-u:\b)near[ \t]+{PLACE_RUN}"),
                Run::Org,
                PhiKind::City,
            ),
            (
                format!(
                    r"(?i:(?-u:\b)(?:in|to|from|of|near|outside|visiting))[ \t]+{PLACE_RUN},[ \t]*(?:{STATES})(?-u:\b)"
                ),
                Run::Org,
                PhiKind::City,
            ),
            (
                format!(r"{PLACE_RUN},[ \t]*(?:{STATE_NAMES})(?-u:\b)"),
                Run::Org,
                PhiKind::City,
            ),
        ];
        let context: Vec<(String, meta::Regex, Run, PhiKind)> = specs
            .into_iter()
            .filter_map(|(p, run, kind)| rule_regex(&p).map(|r| (p, r, run, kind)))
            .collect();
        let after_specs = [
            (
                format!(
                    r"(?-u:\b)(?:{CREDENTIALS})(?-u:\b|$)|,[ \t]*(?:{COMMA_CREDENTIALS})(?-u:\b|$)"
                ),
                // the credentials before it too, and the degrees no
                // credential names alone ("Hyrum Oakeson, MS, CGC": "MS"
                // is also a disease and a title)
                format!(
                    r"(?:{INVERTED_RUN}|{NAME_RUN})(?:,?[ \t]+(?:{CREDENTIALS}|{DEGREES}))*,?[ \t]*$"
                ),
                Run::Person,
            ),
            // "Bud (son)", "Faith and Hope (twin granddaughters)",
            // "Dawn, her sister", "Summer (RN)"
            (
                format!(
                    r"\((?i:{BESIDE_NAME})(?:[ \t]*[,;/)-])|\((?:{CREDENTIALS}|SN|HCA|CNA|SW|RT|SLP|OT|PT|(?i:charge nurse|nurse|carer|aide|interpreter|chaplain|social worker|case manager|volunteer))\)|,[ \t]+(?i:(?:(?:the[ \t]+)?(?:pt|patient)['’]s|her|his|their)[ \t]+(?:(?:twin|eldest|oldest|youngest|older|younger|elder|adult|only|late)[ \t]+)?(?:{RELATIVES}))(?-u:\b)",
                    BESIDE_NAME = BESIDE_NAME.replace("{RELATIVES}", RELATIVES)
                ),
                format!(r"((?:\p{{Lu}}\p{{Ll}}+[ \t]+(?:and|&)[ \t]+)?{NAME_RUN})[ \t]*$"),
                Run::Beside,
            ),
        ];
        let after_name: Vec<(Regex, Regex, Run)> = after_specs
            .iter()
            .filter_map(|(after, before, run)| Some((compile(after)?, compile(before)?, *run)))
            .collect();
        // the rules that read a name backwards join the one pass too: most
        // notes have no match of them, and are not searched again
        let regexes: Vec<String> = context
            .iter()
            .map(|(p, ..)| p.clone())
            .chain(after_specs.into_iter().map(|(a, ..)| a))
            .collect();
        Names {
            flags,
            context_windows: RuleWindows::new(regexes.iter().map(String::as_str)),
            regexes,
            context: context
                .into_iter()
                .map(|(_, r, run, kind)| (r, run, kind))
                .collect(),
            after_name,
            towns: TOWNS.lines().map(|t| (fold_lower(t.trim()), ())).collect(),
            not_towns: NOT_TOWNS
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(|t| (fold_lower(t.trim()), ()))
                .collect(),
            org_words: {
                let mut m: WordMap<&'static str, u8> = WordMap::default();
                for w in ORG_HEADS {
                    *m.entry(*w).or_default() |= HEAD;
                }
                for w in GENERIC {
                    *m.entry(*w).or_default() |= GENERIC_WORD;
                }
                for w in GENERIC_HEADS {
                    *m.entry(*w).or_default() |= HEAD | GENERIC_WORD;
                }
                m
            },
        }
    }

    /// Whether a word may be a name on its own: not a word of the note's
    /// structure, not on the not-names list.
    pub fn may_be_name(&self, word: &str) -> bool {
        self.flags_of(word) & NO_NAME == 0
    }

    /// Whether a word is a listed surname, of the census or the world's
    /// lists, and may be a name ("Leung", "WONG").
    pub fn is_surname(&self, word: &str) -> bool {
        let flags = self.flags_of(word);
        flags & ANY_SURNAME != 0 && flags & NO_NAME == 0
    }

    /// Whether a word says what an organisation is ("Hospital", "Church").
    pub fn is_organisation_head(&self, word: &str) -> bool {
        let bits = self.org_words.get(without_possessive(word)).copied();
        bits.unwrap_or(0) & HEAD != 0
    }

    /// Whether a name ends in an organisation's head word ("Caddo Gap
    /// Funeral Home", "Pellet Co."): its town may follow after a comma.
    pub fn is_organisation(&self, name: &str) -> bool {
        let last = name.split_whitespace().next_back().unwrap_or_default();
        self.is_organisation_head(last.trim_end_matches('.'))
    }

    /// Whether a run of words is a town of the gazetteer, in any case
    /// ("HUBBARD", "Seven Hills", "St. Paul").
    pub fn is_listed_town(&self, run: &str) -> bool {
        let folded = fold_lower(run);
        self.towns.contains_key(folded.as_str()) || self.is_abbreviated_town(&folded)
    }

    /// Whether a folded run that begins with an abbreviation is a town of
    /// the list written out ("mt. vernon" is "mount vernon", "st paul"
    /// "saint paul" or "st. paul").
    fn is_abbreviated_town(&self, folded: &str) -> bool {
        let Some((first, rest)) = folded.split_once(' ') else {
            return false;
        };
        let fulls: &[&str] = match first.trim_end_matches('.') {
            "mt" => &["mount"],
            "ft" => &["fort"],
            "st" => &["saint", "st."],
            _ => return false,
        };
        fulls
            .iter()
            .any(|full| self.towns.contains_key(format!("{full} {rest}").as_str()))
    }

    /// Whether `words[i]` is a town written in small letters after a word
    /// that places it: ASCII, five letters at least, one space after
    /// "in", "from", "to" or "near", a town of the gazetteer and no word
    /// of the lists' not-names, in a sentence that begins in a small
    /// letter too, as a writer who never capitalises writes ("went to
    /// mysuru"; a sentence's "helmet given to officer" after "Belongings
    /// bagged:" is none).
    fn is_lower_case_town(&self, text: &str, words: &[(usize, &str)], i: usize) -> bool {
        let (at, word) = words[i];
        let (before_at, before) = words[i - 1];
        word.len() >= 5
            && word.bytes().all(|b| b.is_ascii_lowercase())
            && matches!(before, "in" | "from" | "to" | "near")
            && &text[before_at + before.len()..at] == " "
            && self.towns.contains_key(word)
            && self.may_be_town(word)
            && sentence_begins_lower(&text[..at])
    }

    /// Whether the capitalised run `text[start..end]` after "in", "near" or
    /// "from" inside a sentence is a town no gazetteer lists ("lives in
    /// Evarts", "a sister in Meadows of Dan", "camp in Birtamod"). Of the
    /// 501 capitalised runs after "in" inside a sentence in the thirteen
    /// development sets, 438 are PHI (2026-12-07); the others are what this
    /// leaves: acronyms ("in ED", "in ADLs": the first word needs a small
    /// second letter and three letters), languages, countries, months and
    /// weekdays, alone or first (`not_towns`: "in Welsh", "in Puerto
    /// Rico"), a word of an organisation or the not-names ("in Ward", "in
    /// Epic", "in Medicaid": `may_be_town`), an eponym's possessive
    /// ("in Morison's pouch"), a room's number or a word joined on after it
    /// ("in Rm 318", "in Ward 6 South", "Trust-arranged"), and after "from"
    /// a listed first name (a person: "a call from Sarah"), and the specimen
    /// of a laboratory test's name (`SPECIMENS`: "Glucose [Mass/volume] in
    /// Serum or Plasma", the names every observation table carries). A run
    /// that more capitalised words follow is an organisation's name, left
    /// to its rules ("in Tung Tau Care & Attention Home").
    fn is_unlisted_town(&self, text: &str, start: usize, end: usize, after_from: bool) -> bool {
        let run = &text[start..end];
        let first = run.split([' ', '-']).next().unwrap_or_default();
        let acronym =
            first.chars().count() < 3 || !first.chars().nth(1).is_some_and(char::is_lowercase);
        let part_of_more = text[end..]
            .trim_start_matches([' ', '\t'])
            .starts_with(|c: char| c.is_ascii_digit() || c == '&' || c.is_uppercase())
            || run
                .split('-')
                .skip(1)
                .any(|w| w.starts_with(char::is_lowercase))
            || run.ends_with("'s")
            || run.ends_with("’s");
        let named = self.is_named_not_town(run);
        let person = after_from && self.flags_of(first) & ANY_FIRST != 0;
        let specimen = SPECIMENS.contains(&first);
        !(acronym || part_of_more || named || person || specimen) && self.may_be_town(run)
    }

    /// Whether a run of words is, alone or by its first words, a language,
    /// a country, a month or a weekday (`not_towns`: "Welsh", "Puerto Rico
    /// Medicaid", "Tuesday").
    pub fn is_named_not_town(&self, run: &str) -> bool {
        let folded = fold_lower(run);
        folded
            .match_indices(' ')
            .map(|(i, _)| i)
            .chain([folded.len()])
            .any(|e| self.not_towns.contains_key(&folded[..e]))
    }

    /// Whether a run of words is the name of one of the United States
    /// ("Oregon", "New Mexico"), which Safe Harbor keeps.
    pub fn is_state_name(run: &str) -> bool {
        STATE_NAMES.split('|').any(|state| state == run)
    }

    /// Whether the words after an organisation and a comma may be its
    /// town: none an organisation's word ("Cardiology", "Outpatient
    /// Pharmacy"), a word of the note's structure or a not-name
    /// ("Emergency", "Discharge").
    pub fn may_be_town(&self, words: &str) -> bool {
        words
            .split([' ', '-'])
            .filter(|w| !w.is_empty())
            .enumerate()
            .all(|(i, w)| {
                let w = w.trim_end_matches('.');
                // a quarter's compass point after its first word ("Kahawa
                // West"), though an organisation's name has it too
                (i > 0 && COMPASS.contains(&w))
                    || !self.org_words.contains_key(w) && self.flags_of(w) & NO_NAME == 0
            })
    }

    /// What the lists say of a word as the note writes it ("Kathleen's"),
    /// every bit: folded on the stack when it is short and ASCII, as nearly
    /// every word is.
    fn flags_of(&self, word: &str) -> u8 {
        let word = without_possessive(word);
        let mut buf = [0u8; 32];
        if word.is_ascii() && word.len() <= buf.len() {
            let folded = &mut buf[..word.len()];
            folded.copy_from_slice(word.as_bytes());
            folded.make_ascii_lowercase();
            return std::str::from_utf8(folded).map_or(0, |w| self.all_flags(w));
        }
        self.all_flags(&fold_lower(word))
    }

    /// Every bit the lists give a folded word.
    fn all_flags(&self, folded: &str) -> u8 {
        self.flags.get(folded).copied().unwrap_or(0)
    }

    /// What the census lists and the not-names list say of a folded word,
    /// as bits: 1 a census first name, 2 a census surname, 4 a word that is
    /// no name by itself (the note's structure, the not-names list). The
    /// learned detector reads them as features (not the world lists: see
    /// `WORLD_FIRST`).
    pub fn word_flags(&self, folded: &str) -> u8 {
        self.all_flags(folded) & (FIRST | SURNAME | NO_NAME)
    }

    /// Every name this module finds in `text`, unmerged.
    pub fn find(&self, text: &str, out: &mut Vec<Found>) {
        let mut windows = Vec::with_capacity(self.regexes.len());
        self.context_windows.find(text, &mut windows);
        self.find_within(text, &windows, out);
    }

    /// The regexes of the rules that read a name beside its context, in
    /// order, for a `RuleWindows` that also holds other rules (`Scrubber`'s
    /// one pass over a note).
    pub fn regexes(&self) -> impl Iterator<Item = &str> {
        self.regexes.iter().map(String::as_str)
    }

    /// `find`, where a `RuleWindows` of `regexes` has said the window of
    /// `text` each rule's matches lie in (`windows`, one a regex).
    pub fn find_within(&self, text: &str, windows: &[Option<Window>], out: &mut Vec<Found>) {
        let (context, after) = windows.split_at(self.context.len());
        for ((re, run, kind), &window) in self.context.iter().zip(context) {
            let Some(window) = window else { continue };
            for caps in re.captures_iter(within(text, window)) {
                // (a rule of two shapes takes either's group)
                if let Some(m) = caps.get_group(1).or_else(|| caps.get_group(2)) {
                    self.push_run(text, m.start, m.end, *run, *kind, out);
                }
            }
        }
        // these search from the text's start, up to their window's end:
        // their matches are few, and a later start gains them little
        for ((after, before, run), &window) in self.after_name.iter().zip(after) {
            let Some(Window { to: end, .. }) = window else {
                continue;
            };
            for m in after.find_iter(&text[..end]) {
                // at most three words and an initial back
                let from = next_boundary(text, m.start().saturating_sub(64));
                let window = &text[from..m.start()];
                // every name run ends in a word that begins with a capital
                // (or an initial): most matches are passed over here
                if !last_word_capitalised(window) {
                    continue;
                }
                if let Some(name) = before
                    .captures(window)
                    .and_then(|c| c.get(1).or_else(|| c.get(2)))
                {
                    self.push_run(
                        text,
                        from + name.start(),
                        from + name.end(),
                        *run,
                        PhiKind::Name,
                        out,
                    );
                }
            }
        }
        self.speakers(text, out);
        self.table_columns(text, out);
        let words = word_spans(text);
        self.dictionary(text, &words, out);
        self.towns(text, &words, out);
        self.counties_and_states(text, &words, out);
        self.organisations(text, &words, out);
    }

    /// The speakers of a conversation a note copies (a portal thread, a
    /// messaging app's export, a transcript): the label before a colon
    /// after a time stamp at a line's start ("[03-12-2026 07:42]
    /// prashanth: good morning", "[02/12/2026, 14:47] Lottie P-H:", "Tir
    /// 01.12.2026 08:10 — SPL Marte:"), where the same label speaks at
    /// least twice and is written as a name is written, with a small
    /// letter in it (never "DR:", "PATIENT:"); from its first word that
    /// may be a name and is no abbreviation of a note ("Pt:"). A topic
    /// after a time ("08:00 Breakfast:") is written once.
    fn speakers(&self, text: &str, out: &mut Vec<Found>) {
        static TURN: OnceLock<Option<Regex>> = OnceLock::new();
        let Some(turn) = TURN
            .get_or_init(|| {
                compile(concat!(
                    r"^[ \t]*(?:",
                    // "[03-12-2026 07:42]", "[09:03]", "[2/12/26, 2:47 PM]"
                    r"\[[^\]\n]{0,24}?\d{1,2}:\d\d[^\]\n]{0,12}\]",
                    // "Tir 01.12.2026 08:10 —", "12/3/26, 2:47 PM -"
                    r"|(?:\p{L}{2,4}\.?[ \t]+)?\d{1,4}[./-]\d{1,2}(?:[./-]\d{2,4})?,?[ \t]+\d{1,2}:\d\d(?:[ \t]?[AaPp]\.?[Mm]\.?)?[ \t]*[-–—]",
                    r")[ \t]*(\p{L}[\p{L}'’.-]*(?:[ \t]+\p{L}[\p{L}'’.-]*){0,2})[ \t]*:(?:[ \t]|\r?\n|$)",
                ))
            })
            .as_ref()
        else {
            return;
        };
        // each label and where it stands, in the note's order; only the
        // lines with a clock time ("07:42") in their first 40 bytes are
        // read, found by their colons (a regex over every line cost 1% of
        // the scrubber's instructions)
        let bytes = text.as_bytes();
        let mut labels: Vec<(&str, usize)> = Vec::new();
        let mut last_line = None;
        for (colon, _) in text.match_indices(':') {
            let clock = colon > 0
                && bytes[colon - 1].is_ascii_digit()
                && bytes
                    .get(colon + 1..colon + 3)
                    .is_some_and(|d| d.iter().all(u8::is_ascii_digit));
            if !clock {
                continue;
            }
            let from = colon.saturating_sub(40);
            let line = match bytes[from..colon].iter().rposition(|&b| b == b'\n') {
                Some(i) => from + i + 1,
                None if from == 0 => 0,
                None => continue,
            };
            if last_line == Some(line) {
                continue;
            }
            last_line = Some(line);
            let end = text[colon..]
                .find('\n')
                .map_or(text.len(), |i| colon + i + 1);
            if let Some(label) = turn.captures(&text[line..end]).and_then(|c| c.get(1)) {
                labels.push((label.as_str(), line + label.start()));
            }
        }
        for &(label, start) in &labels {
            let turns = labels.iter().filter(|(l, _)| *l == label).count();
            if turns < 2 || !label.chars().any(char::is_lowercase) {
                continue;
            }
            let words = word_spans(label);
            let first = words
                .iter()
                .position(|(_, w)| self.may_be_name(w) && !is_note_abbreviation(w));
            if let Some(i) = first {
                out.push(Found {
                    start: start + words[i].0,
                    end: start + label.len(),
                    kind: PhiKind::Name,
                });
            }
        }
    }

    /// The people, ages and towns of a table a note draws with pipes: the
    /// cells under a header that says what they are (`Column`: "| Date |
    /// Staff | Type |" over "| 11/12/2025 | BW | call |", a dialysis
    /// log's "Nurse", a pedigree's "Age" and "Lives / lived") or after a
    /// row's first cell that does (a dose card's " By  | LM | LM | vid
    /// |").
    fn table_columns(&self, text: &str, out: &mut Vec<Found>) {
        if !text.contains('|') {
            return;
        }
        // each row's cells, with where they start; a table is a run of
        // lines with two pipes or more
        let mut header: Option<Vec<Option<Column>>> = None;
        let mut at = 0;
        for line in text.split_inclusive('\n') {
            let start = at;
            at += line.len();
            if line.bytes().filter(|&b| b == b'|').count() < 2 {
                header = None;
                continue;
            }
            let mut cells = Vec::new();
            let mut from = 0;
            for part in line.split('|') {
                cells.push((start + from, part));
                from += part.len() + 1;
            }
            let is_rule = cells.iter().all(|(_, c)| {
                c.trim()
                    .bytes()
                    .all(|b| matches!(b, b'-' | b':' | b'=' | b'+'))
            });
            if is_rule {
                continue;
            }
            let Some(columns) = &header else {
                // the first row heads the columns ("| Nurse | Date |": its
                // other cells are headers, no people)
                header = Some(cells.iter().map(|(_, c)| Column::of(c)).collect());
                continue;
            };
            for (cell, column) in cells.iter().zip(columns) {
                if let Some(column) = column {
                    self.push_cell(*cell, *column, out);
                }
            }
            // a row headed by what its cells are ("By", "Initials")
            if let Some(i) = cells.iter().position(|(_, c)| !c.trim().is_empty()) {
                if let Some(column) = Column::of(cells[i].1) {
                    for &cell in &cells[i + 1..] {
                        self.push_cell(cell, column, out);
                    }
                }
            }
        }
    }

    /// A cell of `table_columns`, found where it is written as its
    /// column's kind is: a person's cell as initials (two to four
    /// capitals, no abbreviation of a note: "LM", never "vid", "N/A" or
    /// "ED") or as a name (capitalised words that may be names, "Tasha
    /// M.", one of them on a name list under "Name"); an age's, a number
    /// over 89 at its start ("99 - notice by mail"); a town's, the
    /// capitalised words before a comma ("Manti, Christiansen Lane").
    fn push_cell(&self, (at, cell): (usize, &str), column: Column, out: &mut Vec<Found>) {
        let trimmed = cell.trim();
        if trimmed.is_empty() || trimmed.len() > 40 {
            return;
        }
        let start = at + (cell.len() - cell.trim_start().len());
        let (end, kind) = match column {
            Column::Person { listed } => {
                if !self.is_person_cell(trimmed, listed) {
                    return;
                }
                (start + trimmed.len(), PhiKind::Name)
            }
            Column::Age => {
                let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
                let old = trimmed[..digits]
                    .parse::<u32>()
                    .is_ok_and(|n| (90..=125).contains(&n));
                // alone, with a note or in years; never a weight ("95 kg")
                let rest = trimmed[digits..].trim_start();
                let alone = rest.is_empty()
                    || rest.starts_with(['-', '–', '—', '(', ',', ';', '/'])
                    || rest.starts_with('y');
                if !old || !alone {
                    return;
                }
                (start + digits, PhiKind::Age)
            }
            Column::Town => {
                let town = trimmed.split(',').next().unwrap_or_default().trim_end();
                let words = word_spans(town);
                let written = !words.is_empty()
                    && words.len() <= 3
                    && town.len() <= words.iter().map(|(_, w)| w.len() + 1).sum::<usize>()
                    && words
                        .iter()
                        .all(|(_, w)| is_title_case(w) || is_upper_word(w));
                if !written || !self.may_be_town(town) {
                    return;
                }
                (start + town.len(), PhiKind::City)
            }
        };
        out.push(Found { start, end, kind });
    }

    /// Whether a table's cell is written as a person's name or initials
    /// (see `push_cell`).
    fn is_person_cell(&self, cell: &str, listed: bool) -> bool {
        let words = word_spans(cell);
        let initials = !listed
            && words.len() == 1
            && (2..=4).contains(&cell.len())
            && cell.bytes().all(|b| b.is_ascii_uppercase())
            && !is_note_abbreviation(cell);
        let name = !words.is_empty()
            && words.iter().all(|(_, w)| {
                (w.len() == 1 && w.as_bytes()[0].is_ascii_uppercase())
                    || (is_title_case(w) && self.may_be_name(w))
            })
            && (!listed
                || words
                    .iter()
                    .any(|(_, w)| w.len() > 1 && self.flags_of(w) & (ANY_FIRST | ANY_SURNAME) != 0))
            // nothing but the words, spaces, an initial's period and quotes
            && cell
                .chars()
                .all(|c| c.is_alphabetic() || matches!(c, ' ' | '.' | '-' | '\'' | '’' | '"'));
        initials || name
    }

    /// A context match's words, trimmed to what is a name.
    #[allow(clippy::too_many_arguments)]
    fn push_run(
        &self,
        text: &str,
        start: usize,
        end: usize,
        run: Run,
        kind: PhiKind,
        out: &mut Vec<Found>,
    ) {
        // an organisation's run ends where a sentence does inside it ("at
        // Walgreens. Pharmacy called")
        let end = match run {
            Run::Org => sentence_end_within(text, start, end),
            _ => end,
        };
        let words: Vec<(usize, &str)> = word_spans(&text[start..end])
            .into_iter()
            .map(|(i, w)| (start + i, w))
            .collect();
        let first = match run {
            Run::LowerFirst | Run::LowerAfterTitle => words
                .first()
                .filter(|(_, w)| {
                    let listed = match run {
                        Run::LowerFirst => ANY_FIRST,
                        _ => ANY_FIRST | ANY_SURNAME,
                    };
                    let flags = self.flags_of(w);
                    flags & listed != 0 && flags & NO_NAME == 0
                })
                .map(|_| 0),
            // every part initials, none a word or an abbreviation of a
            // note ("(ED)", "12:30 (pm)", "IV/po")
            Run::Initials => (!words.is_empty()
                && words
                    .iter()
                    .all(|(_, w)| !is_note_abbreviation(w.trim_end_matches('.'))))
            .then_some(0),
            Run::Initialled => words
                .iter()
                .filter(|(_, w)| w.len() > 1 || !w.as_bytes()[0].is_ascii_uppercase())
                .all(|(_, w)| self.may_be_name(w) && !PLAN_VERBS.contains(w))
                .then_some(0),
            // an initial ("A. Oyelaran-Diaz") stays with the name after it,
            // and a listed first name that is a word too before a name
            // ("Jordan Reyes-Kim, MS3", "NP Hope Lindgren-Sayed")
            Run::Person => words.iter().enumerate().position(|(i, (_, w))| {
                (w.len() == 1 && w.as_bytes()[0].is_ascii_uppercase())
                    || self.may_be_name(w)
                    || first_name_in_prose(self.flags_of(w))
                        && words
                            .get(i + 1)
                            .is_some_and(|(_, next)| self.may_be_name(next))
            }),
            Run::Spoken => words
                .first()
                .filter(|(_, w)| {
                    let flags = self.flags_of(w);
                    is_title_case(w) && first_name_in_prose(flags)
                })
                .map(|_| 0),
            Run::AfterRole => {
                let listed_first = words.first().is_some_and(|(_, w)| {
                    is_title_case(w) && first_name_in_prose(self.flags_of(w))
                });
                let names = |from: usize| {
                    words[from..].iter().all(|(_, w)| {
                        is_title_case(w)
                            && self.may_be_name(w)
                            && !self.org_words.contains_key(without_possessive(w))
                    })
                };
                let initialled = words.len() >= 2 && words[0].1.len() == 1 && names(1);
                let listed = words
                    .iter()
                    .any(|(_, w)| self.flags_of(w) & (ANY_FIRST | ANY_SURNAME) != 0);
                let whole = words.len() >= 2 && names(0) && listed;
                (listed_first || initialled || whole).then_some(0)
            }
            Run::Beside => words.iter().position(|(_, w)| {
                let flags = self.flags_of(w);
                first_name_in_prose(flags) || (flags & ANY_SURNAME != 0 && flags & NO_NAME == 0)
            }),
            Run::Kin => words.iter().position(|(_, w)| {
                let flags = self.flags_of(w);
                (w.len() == 1 && w.as_bytes()[0].is_ascii_uppercase())
                    || flags & NO_NAME == 0
                    || first_name_in_prose(flags)
            }),
            // (an acronym's possessive is no title case: "at AV's house")
            Run::Org => words
                .iter()
                .any(|(_, w)| is_title_case(without_possessive(w)) && self.may_be_name(w))
                .then_some(0),
        };
        if let Some(i) = first {
            out.push(Found {
                start: words[i].0,
                end,
                kind,
            });
        }
    }

    /// A table cell that is a person's name: one to three capitalised words
    /// ("Campbell", "Sandra Campbell", "O'Connell"), one of them on the
    /// name lists, none a word of the not-names list.
    pub fn is_name_cell(&self, cell: &str) -> bool {
        let words = word_spans(cell.trim());
        let letters: usize = words.iter().map(|(_, w)| w.len()).sum();
        (1..=3).contains(&words.len())
            // nothing in the cell but the words, a space between each, and
            // at most one other character (an initial's period)
            && cell.trim().len() <= letters + words.len()
            && words
                .iter()
                .all(|(_, w)| is_title_case(w) && self.may_be_name(w))
            && words
                .iter()
                .any(|(_, w)| self.flags_of(w) & (ANY_FIRST | ANY_SURNAME) != 0)
    }

    /// Listed first names (with the capitalised word after them), initials
    /// with a listed surname, and "Surname, First".
    fn dictionary(&self, text: &str, words: &[(usize, &str)], out: &mut Vec<Found>) {
        for (i, &(at, word)) in words.iter().enumerate() {
            if is_upper_word(word) {
                self.upper_case_name(text, words, i, out);
                continue;
            }
            if !is_title_case(word) {
                continue;
            }
            let flags = self.flags_of(word);
            if flags & NO_NAME != 0 {
                continue;
            }
            let next = words.get(i + 1).filter(|(n, w)| {
                is_title_case(w) && self.may_be_name(w) && only_space(&text[at + word.len()..*n])
            });
            if flags & ANY_FIRST != 0 {
                // one span a word, as the record's given and family names
                // are: "[NAME] [NAME]"; "Agnes M." with its initial
                let after = &text.as_bytes()[at + word.len()..];
                let initial_after = next.is_none()
                    && after.len() >= 3
                    && after[0] == b' '
                    && after[1].is_ascii_uppercase()
                    && after[2] == b'.';
                for (start, w) in std::iter::once((at, word)).chain(next.copied()) {
                    let end = if initial_after {
                        start + w.len() + 3
                    } else {
                        start + w.len()
                    };
                    out.push(Found {
                        start,
                        end,
                        kind: PhiKind::Name,
                    });
                }
                continue;
            }
            // "J. Okafor": an initial, then a surname; where the initial
            // begins, read by characters (it may be more than a byte: "É.")
            let initial = text[..at].strip_suffix(". ").and_then(|before| {
                let mut back = before.char_indices().rev();
                let (from, c) = back.next()?;
                let alone = back.next().is_none_or(|(_, c)| !c.is_alphanumeric());
                (c.is_uppercase() && alone).then_some(from)
            });
            // "Feld, Howard": a surname, a comma, a first name; any
            // surname where a line or a label begins ("RE: Okonjo, Wendell")
            let then_first = words.get(i + 1).is_some_and(|(n, w)| {
                text[at + word.len()..*n].trim() == ","
                    && (is_title_case(w) || is_upper_word(w))
                    && self.flags_of(w) & ANY_FIRST != 0
            });
            let label_before = text[..at]
                .trim_end_matches([' ', '\t'])
                .chars()
                .next_back()
                .is_none_or(|c| c == '\n' || c == ':');
            // "Smith J": a surname, then an initial alone
            let then_initial = {
                let rest = &text.as_bytes()[at + word.len()..];
                rest.len() >= 2
                    && rest[0] == b' '
                    && rest[1].is_ascii_uppercase()
                    && rest.get(2).is_none_or(|b| !b.is_ascii_alphanumeric())
            };
            let surname = flags & ANY_SURNAME != 0;
            if (surname && (initial.is_some() || then_first || then_initial))
                || (then_first && label_before)
            {
                let start = initial.unwrap_or(at);
                // "Feld, Howard" whole, comma and all; "Smith J" with its initial
                let end = match words.get(i + 1) {
                    Some((n, w)) if then_first => n + w.len(),
                    _ if then_initial => at + word.len() + 2,
                    _ => at + word.len(),
                };
                out.push(Found {
                    start,
                    end,
                    kind: PhiKind::Name,
                });
            }
        }
    }
}

impl Names {
    /// A name in capitals, as forms and headers write it: "WHITEHORSE,
    /// CLARENCE" (a word, a comma, a listed first name; in capitals, of
    /// four letters or more) and "TYLER
    /// WHITEHORSE" or "CLIFFORD E ABSHER" (a listed first name of four
    /// letters or more, a middle initial, then another word in capitals;
    /// shorter ones are too often abbreviations: ASA, TIA, ANA).
    fn upper_case_name(&self, text: &str, words: &[(usize, &str)], i: usize, out: &mut Vec<Found>) {
        let (at, word) = words[i];
        if UPPER_TITLES.contains(&word) {
            self.after_upper_title(text, words, i, out);
            return;
        }
        let Some(&(mut next_at, mut next)) = words.get(i + 1) else {
            return;
        };
        // a middle initial between ("CLIFFORD E ABSHER"): the surname
        // after it is the word read
        let initial = next.len() == 1
            && next.as_bytes()[0].is_ascii_uppercase()
            && text[at + word.len()..next_at] == *" ";
        if initial {
            match words.get(i + 2) {
                Some(&(w_at, w)) if text[next_at + 1..w_at] == *" " => (next_at, next) = (w_at, w),
                _ => return,
            }
        }
        if word.len() < 2 || !self.may_be_name(word) || !self.may_be_name(next) {
            return;
        }
        let between = &text[at + word.len()..next_at];
        let comma_first = between.trim() == ","
            && between.len() <= 3
            && (is_upper_word(next) && next.len() >= 4 || is_title_case(next))
            && self.flags_of(next) & ANY_FIRST != 0;
        let first_then_upper = (between == " " || initial)
            && word.len() >= 4
            && is_upper_word(next)
            && next.len() >= 3
            && !text[next_at + next.len()..].starts_with(':')
            && self.flags_of(word) & ANY_FIRST != 0;
        if comma_first {
            // one span, comma and all, with a middle initial after it
            // ("PETTIGREW, LAVINIA M")
            let end = next_at + next.len();
            let rest = &text.as_bytes()[end..];
            let initial_after = rest.len() >= 2
                && rest[0] == b' '
                && rest[1].is_ascii_uppercase()
                && rest.get(2).is_none_or(|b| !b.is_ascii_alphanumeric());
            out.push(Found {
                start: at,
                end: if initial_after { end + 2 } else { end },
                kind: PhiKind::Name,
            });
        } else if first_then_upper {
            // one span a word, as the dictionary rule writes "[NAME] [NAME]"
            // (the initial with the surname)
            let surname_from = if initial { words[i + 1].0 } else { next_at };
            for (start, end) in [(at, at + word.len()), (surname_from, next_at + next.len())] {
                out.push(Found {
                    start,
                    end,
                    kind: PhiKind::Name,
                });
            }
        }
    }

    /// The name in capitals after a title in capitals, as a dictation
    /// writes it ("MRS. INDRANI DEOPERSAD AND DAUGHTER", "DR. KERWIN ST.
    /// HILL", "CC: DR. ST. HILL"): up to three words that may be names,
    /// with a saint's "ST." inside. Without the title's period its first
    /// word must be a listed name ("DR CAMACHO-ADA:"), for "MR ANGIOGRAM",
    /// "MS FLARE" and "DR SCREENING" are a scan, a disease and an eye test.
    fn after_upper_title(
        &self,
        text: &str,
        words: &[(usize, &str)],
        i: usize,
        out: &mut Vec<Found>,
    ) {
        let (at, title) = words[i];
        let mut end = at + title.len();
        let period = text[end..].starts_with('.');
        let mut start = None;
        let mut names = 0;
        for &(w_at, w) in &words[i + 1..] {
            let gap = text[end..w_at].trim_start_matches('.');
            let saint = w == "ST" && text[w_at + 2..].starts_with(['.', ' ']);
            if gap.is_empty()
                || !gap.bytes().all(|b| b == b' ')
                || gap.len() > 2
                || !is_upper_word(w)
                || !self.may_be_name(w)
            {
                break;
            }
            if start.is_none() && !period && !saint {
                let listed = w.split('-').next().map_or(0, |first| self.flags_of(first));
                if listed & (ANY_FIRST | ANY_SURNAME) == 0 {
                    break;
                }
            }
            start.get_or_insert(w_at);
            end = w_at + w.len();
            if !saint {
                names += 1;
                if names == 3 {
                    break;
                }
            }
        }
        if let (Some(start), true) = (start, names > 0) {
            out.push(Found {
                start,
                end,
                kind: PhiKind::Name,
            });
        }
    }

    /// A town of the gazetteer after the words that place something ("in
    /// Knoxville", "near Owensboro", "flying out of Nashville", "her
    /// village, Igbeti"): the capitalised run after the word must be the
    /// town whole; and a town in small letters, as a text message writes
    /// it ("called from wilmington", "go to mysuru"), one word of the
    /// gazetteer that is no word of the language ("back to normal", "in
    /// mobile home" are none). A town no gazetteer has is taken where the
    /// run can be nothing else: after "in", "near" or "from", and where
    /// the word for a part of a town names it ("the Nowa Huta estate",
    /// "the townland of Ballygrennan").
    fn towns(&self, text: &str, words: &[(usize, &str)], out: &mut Vec<Found>) {
        for i in 1..words.len() {
            let (at, word) = words[i];
            if !is_title_case(word) {
                if self.is_lower_case_town(text, words, i) {
                    out.push(Found {
                        start: at,
                        end: at + word.len(),
                        kind: PhiKind::City,
                    });
                }
                continue;
            }
            let (before_at, before) = words[i - 1];
            let after_the = before == "the" || before == "The";
            // "the townland of Ballygrennan", "the village of Kilcummin"
            let of_place = before == "of" && i >= 2 && PLACE_BEFORE_OF.contains(&words[i - 2].1);
            let gap = &text[before_at + before.len()..at];
            // a line may wrap between the word and the town ("lives in\nHolywood")
            let placed = ((only_space(gap) || wrapped(gap))
                && (after_the || PLACE_WORDS.contains(&before)))
                || (gap == ", " && APPOSITION_WORDS.contains(&before));
            // a town of the list alone in brackets ("funeral home Oakey's
            // (Roanoke)", "Shepherd of the Valley (Boardman)")
            let bracketed = !placed && gap.ends_with('(');
            if !placed && !bracketed {
                continue;
            }
            // the run: up to three capitalised words, a space or a hyphen
            // apart, and the small words inside a town's name between them
            // ("Casalecchio di Reno", "Arcos de Valdevez"); where that run is
            // no town, the run before its first small word is asked ("in
            // Boston on Monday")
            let mut end = at + word.len();
            let mut plain_end = None;
            let mut j = i + 1;
            while let Some(&(n, w)) = words.get(j) {
                let gap = &text[end..n];
                // "Mt. Vernon", "Ft. Defiance"
                let abbreviated = j == i + 1 && gap == ". " && TOWN_ABBREVIATIONS.contains(&word);
                if j - i >= 3 || !(gap == " " || gap == "-" || abbreviated) {
                    break;
                }
                if is_title_case(w) {
                    end = n + w.len();
                    j += 1;
                    continue;
                }
                match words.get(j + 1) {
                    Some(&(m, v))
                        if TOWN_JOINERS.contains(&w)
                            && is_title_case(v)
                            && &text[n + w.len()..m] == " " =>
                    {
                        plain_end.get_or_insert(end);
                        end = m + v.len();
                        j += 2;
                    }
                    _ => break,
                }
            }
            // after "the", only where a word for a place of care follows
            // ("the Tulsa clinic"): "the Wound clinic" is no town, but
            // some towns are words too
            let followed_by = |heads: &[&str]| {
                words.get(j).is_some_and(|&(n, w)| {
                    let gap = &text[end..n];
                    (only_space(gap) || wrapped(gap)) && heads.contains(&w)
                })
            };
            let site = || followed_by(SITE_WORDS);
            // "the Nowa Huta estate", "the Hyde Park district": a part of
            // a town, which its word makes a place whether or not a
            // gazetteer lists it
            let part_of_town = after_the && followed_by(PARTS_OF_TOWNS);
            let is_town = |end: usize| self.is_listed_town(&text[at..end]);
            let run_end = end;
            let end = if is_town(end) {
                Some(end)
            } else {
                plain_end.filter(|&e| is_town(e))
            };
            // a town no gazetteer has, where the run can be nothing else
            let end = end.or_else(|| {
                let after_place_word =
                    !after_the && !bracketed && matches!(before, "in" | "near" | "from");
                let unlisted = (after_place_word || of_place || part_of_town)
                    && self.is_unlisted_town(text, at, run_end, before == "from");
                unlisted.then_some(run_end)
            });
            let closed = |e: &usize| !bracketed || text[*e..].starts_with(')');
            let placed_after_the = || site() || part_of_town;
            if let Some(end) = end
                .filter(|_| !after_the || placed_after_the())
                .filter(closed)
            {
                out.push(Found {
                    start: at,
                    end,
                    kind: PhiKind::City,
                });
            }
        }
    }

    /// A county ("Washoe County", "CUYAHOGA COUNTY"), as the development
    /// sets count it: a place; and a town beside its state's code without
    /// a ZIP ("Sioux Falls, SD", "Place: Independence, VA"), where
    /// punctuation, a number or the line's end follows the code, not a
    /// word ("Paramedic, MN lic."). The capitalised words before the word
    /// that places them, up to two before "County" and three before a
    /// state, the first of which may be a name ("Per County" is none).
    /// Read word by word: as regexes that begin at every capitalised word
    /// these took 4% of the scrubber's time.
    fn counties_and_states(&self, text: &str, words: &[(usize, &str)], out: &mut Vec<Found>) {
        for (i, &(at, word)) in words.iter().enumerate() {
            let (most, shape): (usize, fn(&str) -> bool) = match word {
                "County" => (2, capitalised),
                "COUNTY" => (2, |w| {
                    w.len() >= 3 && w.bytes().all(|b| b.is_ascii_uppercase())
                }),
                // two capitals first: most words are none, and a search
                // of the list for every word cost more than the rule
                code if code.len() == 2
                    && code.bytes().all(|b| b.is_ascii_uppercase())
                    && TOWN_STATES.contains(&code)
                    && ends_state(&text[at + code.len()..]) =>
                {
                    (3, capitalised)
                }
                _ => continue,
            };
            let county = most == 2;
            // the words before, back from the placing word: before
            // "County" spaces, before a state's code a comma and spaces,
            // between the place's words one space
            let spaces = |g: &str| !g.is_empty() && g.bytes().all(|b| b == b' ' || b == b'\t');
            let mut first = i;
            while first > 0 && i - first < most {
                let (prev_at, prev) = words[first - 1];
                let gap = &text[prev_at + prev.len()..words[first].0];
                let joined = match (first == i, county) {
                    (true, true) => spaces(gap),
                    (true, false) => gap.strip_prefix(',').is_some_and(spaces),
                    (false, _) => gap == " " || gap == "\t",
                };
                if !joined || !shape(prev) || !word_starts(text, prev_at) {
                    break;
                }
                first -= 1;
            }
            if first == i {
                continue;
            }
            let (start, name) = words[first];
            if DETERMINERS.contains(&name.to_ascii_lowercase().as_str()) || !self.may_be_name(name)
            {
                continue;
            }
            let end = if county {
                at + word.len()
            } else {
                let (last_at, last) = words[i - 1];
                last_at + last.len()
            };
            out.push(Found {
                start,
                end,
                kind: PhiKind::City,
            });
            if county {
                if let Some(office) = county_office(text, words, i) {
                    out.push(Found {
                        start,
                        end: office,
                        kind: PhiKind::Name,
                    });
                }
            }
        }
    }

    /// Organisations by the word that says what they are: a run of
    /// capitalised words with a head word ("Lowcountry Eye Care", "Fenwick
    /// High School", "St Vincent's", "Haus am Rosental") and at least one
    /// word that is not a generic word of services and departments ("Wound
    /// Care Clinic" and "Family Medicine" are no names). A run that begins
    /// a sentence or a line needs that word after its first.
    fn organisations(&self, text: &str, words: &[(usize, &str)], out: &mut Vec<Found>) {
        let mut i = 0;
        while i < words.len() {
            let word = words[i].1;
            // an acronym before a name in title case begins it ("UNM
            // Hospital", "CGMC Wound Center")
            let acronym_first = is_acronym(word)
                && words.get(i + 1).is_some_and(|&(n, w)| {
                    &text[words[i].0 + word.len()..n] == " " && is_title_case(w)
                });
            if is_upper_word(word) && !acronym_first {
                i = self.upper_case_organisation(text, words, i, out);
                continue;
            }
            if !is_title_case(word) && !acronym_first {
                i += 1;
                continue;
            }
            // the run: title-case words, with the small words of names between
            let mut last = i;
            let mut j = i + 1;
            while let Some(&(n, w)) = words.get(j) {
                let (pat, pw) = words[j - 1];
                let gap = &text[pat + pw.len()..n];
                // "St. Mary's", "J. Okafor", "Hagedorn Bros. Farms": a
                // period joins after an abbreviation only
                let joined = matches!(gap, " " | " & " | "-")
                    || (gap == ". "
                        && (matches!(pw, "St" | "Mt" | "Ft" | "Bros") || pw.len() == 1));
                if !joined {
                    break;
                }
                // (a word's hyphenated tail in small letters: "Co-op")
                if is_title_case(w)
                    || is_upper_word(w) && w.len() <= 4
                    || gap == "-" && w.bytes().all(|b| b.is_ascii_lowercase())
                {
                    last = j;
                // (no joiner is longer than five bytes: most words are
                // settled by their length, not by the list)
                } else if w.len() > 5 || !ORG_JOINERS.contains(&w) {
                    break;
                }
                j += 1;
            }
            // a head in lower case after the name, as Nordic notes write
            // it: "Kroken sykehjem", "Tromsø legekontor"
            if let Some(&(n, w)) = words.get(last + 1) {
                let (pat, pw) = words[last];
                if &text[pat + pw.len()..n] == " " && LOWER_HEADS.contains(&w) {
                    last += 1;
                }
            }
            let org = |w: &str| {
                let mut bits = self
                    .org_words
                    .get(without_possessive(w))
                    .copied()
                    .unwrap_or(0);
                if compound_head(w) {
                    bits |= HEAD | GENERIC_WORD;
                }
                bits
            };
            // "Seen at Bayshore Methodist", "Member of Mt. Zion AME": the
            // words before a small word may be the sentence's, not the
            // name's, unless a head word is among them ("Bank of America");
            // the name is weighed without them (and they are put back
            // below where they are the name's)
            let first_head = (i..=last).find(|&k| org(words[k].1) & HEAD != 0);
            // (the words before the first head are none)
            let start = first_head
                .and_then(|h| (i..h).rev().find(|&k| ORG_JOINERS.contains(&words[k].1)))
                .map_or(i, |k| k + 1);
            let at = words[start].0;
            let run = &words[start..=last];
            let head = first_head.is_some();
            // a letterhead: the name alone at a line's start, then a
            // separator ("Lakeshore Mercy Hospital, 4 East Neuro",
            // "Corrib Hospice — Community Palliative Care Team"); its first
            // word is the name's, unless it is a verb of a plan ("Continue
            // Physical Therapy, 2x/week")
            let (end_at, end_w) = words[last];
            let is_letterhead = |start: usize| {
                starts_sentence(text, words[start].0)
                    && last > start
                    && is_line_start(text, words[start].0)
                    && ends_letterhead(&text[end_at + end_w.len()..])
                    && !PLAN_VERBS.contains(&words[start].1)
            };
            let letterhead = is_letterhead(start);
            let skip = usize::from(starts_sentence(text, at) && !letterhead);
            // a first name that is a word too names a place as well
            // ("Trinity Heart Institute", "Mercy Hospital")
            let distinctive = run.iter().skip(skip).any(|(_, w)| {
                is_title_case(w)
                    && org(w) & GENERIC_WORD == 0
                    && (self.may_be_name(w) || first_name_in_prose(self.flags_of(w)))
            })
                // a place of care named by its acronym ("IHM Center"), not
                // by a clinical one ("HIV Clinic", "ICU")
                || INSTITUTIONS.contains(&words[last].1)
                    && run.iter().any(|(_, w)| {
                        is_acronym(w) && !CLINICAL_ACRONYMS.contains(w)
                    });
            // a firm's partners or trades joined by an ampersand say it
            // is one without a head where a word of it is a listed name
            // ("Sanchez Feed & Tack", "LeBlanc & Sons"; "Nausea &
            // Vomiting" has none), and it ends before a small word after
            // the ampersand ("... & Tack on Oct 30")
            let ampersand = run
                .windows(2)
                .position(|pair| &text[pair[0].0 + pair[0].1.len()..pair[1].0] == " & ");
            let (end_at, end_w) = match ampersand {
                Some(k) if !head => run[k + 1..]
                    .iter()
                    .take_while(|(_, w)| !ORG_JOINERS.contains(w))
                    .last()
                    .copied()
                    .unwrap_or((end_at, end_w)),
                _ => (end_at, end_w),
            };
            let listed = || {
                run.iter().skip(skip).any(|(_, w)| {
                    is_title_case(w)
                        && self.may_be_name(w)
                        && self.flags_of(w) & (ANY_FIRST | ANY_SURNAME) != 0
                })
            };
            if run.len() >= 2 && (head || ampersand.is_some() && listed()) && distinctive {
                // inside a sentence or on a letterhead the words before the
                // small word are the name's too ("at Prince of Peace
                // Catholic Church", "Sol del Valle Home Care"), unless they
                // are another thing's before "and" ("has Power of Attorney
                // and Home Care")
                let whole = start > i
                    && words[start - 1].1 != "and"
                    && (!starts_sentence(text, words[i].0) || is_letterhead(i));
                out.push(Found {
                    start: if whole { words[i].0 } else { at },
                    end: end_at + end_w.len(),
                    kind: PhiKind::Name,
                });
            }
            i = last + 1;
        }
    }

    /// An organisation in capitals, as letterheads and forms print it
    /// ("MAYO CLINIC", "HOLLINS CORNER DRUG", "WABASHA COUNTY AMBULANCE"):
    /// words in capitals a space apart, one of them a head word and one a
    /// name or a town of the lists ("CARDIOLOGY CLINIC" and "SPIRITUAL
    /// CARE NOTE" are none), or a letterhead's that ends in its
    /// institution (`INSTITUTIONS`). Returns the index of the word after
    /// the run.
    fn upper_case_organisation(
        &self,
        text: &str,
        words: &[(usize, &str)],
        i: usize,
        out: &mut Vec<Found>,
    ) -> usize {
        let mut last = i;
        let mut j = i + 1;
        while let Some(&(n, w)) = words.get(j) {
            let (pat, pw) = words[j - 1];
            if !matches!(&text[pat + pw.len()..n], " " | " & " | "-") || !is_upper_word(w) {
                break;
            }
            last = j;
            j += 1;
        }
        // most words in capitals stand alone (BP, MRI, ED)
        if last == i {
            return i + 1;
        }
        // as the title-case lists write each word: "HOSPITAL" is "Hospital"
        let mut titled = String::new();
        let (mut head, mut distinctive, mut may_be_name, mut last_head, mut ends_in_head) =
            (false, false, false, false, false);
        for (_, w) in &words[i..=last] {
            // (each part of a hyphenated word: "SPEECH-LANGUAGE" is "Speech-Language")
            titled.clear();
            let mut after_hyphen = true;
            for c in w.chars() {
                if after_hyphen {
                    titled.push(c);
                } else {
                    titled.extend(c.to_lowercase());
                }
                after_hyphen = c == '-';
            }
            let org = self.org_words.get(titled.as_str()).copied().unwrap_or(0);
            head |= org & HEAD != 0;
            ends_in_head = org & HEAD != 0;
            last_head = INSTITUTIONS.contains(&titled.as_str());
            if distinctive || org & GENERIC_WORD != 0 {
                continue;
            }
            // a header in capitals is made of words too ("SPIRITUAL CARE
            // NOTE"): the name must be a listed name or town, or, where
            // the run ends in its head, a word that may be a name as in
            // title case ("YARRA BEND PATHOLOGY", "EEK CLINIC", "CLAY
            // COUNTY REGIONAL MEDICAL CENTER")
            let flags = self.flags_of(w);
            may_be_name |= flags & NO_NAME == 0 || first_name_in_prose(flags);
            titled.make_ascii_lowercase();
            let town = if titled.is_ascii() {
                self.towns.contains_key(titled.as_str())
            } else {
                self.towns.contains_key(&fold_lower(w))
            };
            distinctive = flags & NO_NAME == 0 && (flags & (ANY_FIRST | ANY_SURNAME) != 0 || town);
        }
        // or a letterhead in capitals: the name alone at a line's start,
        // its head word last, then the line's end or a separator
        // ("ALLEGHENY HEIGHTS HOSPITAL - Care Management Dept.", "LEEWARD
        // KIDNEY CENTER – HEMODIALYSIS TREATMENT RECORD"), where a word
        // that may be a name and is no generic one is enough
        let (end_at, end_w) = words[last];
        let rest = &text[end_at + end_w.len()..];
        let letterhead = last_head
            && may_be_name
            && is_line_start(text, words[i].0)
            && (ends_letterhead(rest) || rest.starts_with(" - "));
        // (never a form's heading with a small word: "HOME HEALTH START OF
        // CARE", "PLAN OF CARE")
        let joined = || {
            words[i..=last]
                .iter()
                .any(|(_, w)| w.len() <= 4 && ORG_JOINERS.iter().any(|j| j.eq_ignore_ascii_case(w)))
        };
        if head && distinctive || letterhead || ends_in_head && may_be_name && !joined() {
            out.push(Found {
                start: words[i].0,
                end: end_at + end_w.len(),
                kind: PhiKind::Name,
            });
        }
        last + 1
    }
}

/// The words before a town ("in", "near", "out of") that `Names::towns`
/// looks after.
const PLACE_WORDS: &[&str] = &[
    "in", "to", "from", "near", "outside", "of", "around", "toward", "towards", "via", "visiting",
    "into", // and as European notes write them
    "en", "em", "aus", "nach", "bei", "uit", "naar", "bij", "à", "dans", "vers", "desde",
];

/// The parts of a town or a country whose name follows "of" ("the
/// townland of Ballygrennan", "the parish of Llanfihangel"): `Names::towns`
/// takes the name as a place, listed or not.
const PLACE_BEFORE_OF: &[&str] = &[
    "townland",
    "village",
    "hamlet",
    "parish",
    "suburb",
    "municipality",
    "commune",
    "township",
    "borough",
    "district",
    "neighbourhood",
    "neighborhood",
    "town",
    "city",
];

/// The parts of a town whose name comes before them, after "the" ("the
/// Nowa Huta estate", "the Hyde Park district"); never "quarter", which
/// follows "the First" and "the upper outer" as often.
const PARTS_OF_TOWNS: &[&str] = &[
    "neighbourhood",
    "neighborhood",
    "district",
    "estate",
    "suburb",
    "township",
    "barrio",
    "colonia",
    "borough",
];

/// The points of the compass a town's or a quarter's name may end in.
const COMPASS: &[&str] = &["North", "South", "East", "West"];

/// The specimens LOINC's names of laboratory tests end in after "in"
/// ("Hemoglobin [Mass/volume] in Blood", "Oxygen saturation in Arterial
/// blood by Pulse oximetry"): never a town after "in".
const SPECIMENS: &[&str] = &[
    "Serum",
    "Plasma",
    "Blood",
    "Urine",
    "Arterial",
    "Venous",
    "Capillary",
    "Cord",
    "Stool",
    "Feces",
    "Saliva",
    "Sputum",
    "Body",
    "Cerebral",
    "Synovial",
    "Pleural",
    "Peritoneal",
    "Amniotic",
    "Tissue",
    "Specimen",
    "Bone",
    "Breath",
    "Exhaled",
    "Red",
    "Platelets",
];

/// The abbreviations a town's name may begin with ("Mt. Vernon").
const TOWN_ABBREVIATIONS: &[&str] = &["Mt", "Ft", "St"];

/// The words a town follows after a comma ("her village, Igbeti").
const APPOSITION_WORDS: &[&str] = &["village", "town", "hometown", "pueblo", "city"];

/// The small words inside the names of towns ("Casalecchio di Reno",
/// "Arcos de Valdevez", "Stratford upon Avon", "Meadows of Dan").
const TOWN_JOINERS: &[&str] = &[
    "of", "di", "de", "del", "della", "da", "do", "dos", "das", "du", "des", "la", "le", "les",
    "sur", "upon", "on", "am", "an", "der", "im", "y",
];

/// The words after "the" and a town that say the town is a place of care
/// ("the Tulsa clinic", "the Flatbush unit").
const SITE_WORDS: &[&str] = &[
    "clinic", "office", "hospital", "unit", "branch", "site", "campus", "practice", "center",
    "centre", "ED", "ER",
];

/// The heads German, Dutch and Nordic notes write as the end of one word
/// ("Hausarztpraxis", "Universitetshospital", "Thuiszorg",
/// "Træningscenter"), and Welsh, Irish and French heads that are no
/// English word ("Meddygfa", "Séipéal", "EHPAD"): `compound_head`.
const COMPOUND_HEADS: &[&str] = &[
    "praxis",
    "centralen",
    "sundhedshus",
    "lægehus",
    "praktijk",
    "hospital",
    "hospitalet",
    "sykehus",
    "sykehjem",
    "sjukhus",
    "sygehus",
    "plejehjem",
    "ziekenhuis",
    "centrum",
    "zentrum",
    "klinik",
    "klinikum",
    "kliniek",
    "pflege",
    "dienst",
    "zorg",
    "heim",
    "hjem",
    "apotheke",
    "apotek",
    "apotheek",
    "senter",
    "center",
    "legekontor",
    "vårdcentral",
    "kirke",
    "kirche",
    "kerk",
    "kyrka",
    "meddygfa",
    "fferyllfa",
    "ysbyty",
    "séipéal",
    "ospidéal",
    "pharmacie",
    "cabinet",
    "ambulances",
    "ehpad",
    "chu",
];

/// The heads that Nordic notes write in lower case after a name.
const LOWER_HEADS: &[&str] = &[
    "sykehjem",
    "sykehus",
    "legekontor",
    "legesenter",
    "helsesenter",
    "apotek",
    "sjukhus",
    "vårdcentral",
    "kirke",
    "kyrka",
    "plejehjem",
    "sygehus",
];

/// Whether a capitalised word is a head of `COMPOUND_HEADS`, whole or
/// as its end ("Sjællands Universitetshospital").
fn compound_head(word: &str) -> bool {
    // asked of every capitalised word of a run: the last three bytes
    // first, against the heads' (one search of a short sorted list), and
    // the heads compared only where those agree
    static ENDS: OnceLock<Vec<[u8; 3]>> = OnceLock::new();
    let ends = ENDS.get_or_init(|| {
        let mut e: Vec<[u8; 3]> = COMPOUND_HEADS.iter().map(|h| last_three(h)).collect();
        e.sort_unstable();
        e.dedup();
        e
    });
    word.len() >= 3
        && ends.binary_search(&last_three(word)).is_ok()
        && COMPOUND_HEADS.iter().any(|h| {
            word.len() >= h.len()
                && word.is_char_boundary(word.len() - h.len())
                && word[word.len() - h.len()..].eq_ignore_ascii_case(h)
        })
}

/// The last three bytes of a word of three bytes or more, ASCII letters
/// in lower case.
fn last_three(word: &str) -> [u8; 3] {
    let b = &word.as_bytes()[word.len() - 3..];
    [
        b[0].to_ascii_lowercase(),
        b[1].to_ascii_lowercase(),
        b[2].to_ascii_lowercase(),
    ]
}

/// Whether `at` begins its line, but for spaces and a list's number or bullet.
fn is_line_start(text: &str, at: usize) -> bool {
    let line = text[..at].rsplit('\n').next().unwrap_or_default();
    line.chars().all(|c| {
        c.is_whitespace() || c.is_ascii_digit() || matches!(c, '.' | ')' | '-' | '*' | '•')
    })
}

/// A word of two to five capital letters ("UNM", "IHM").
fn is_acronym(word: &str) -> bool {
    (2..=5).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_uppercase())
}

/// The acronyms of services, conditions and places of care that stand
/// before a head without naming one ("HIV Clinic", "ED Center").
const CLINICAL_ACRONYMS: &[&str] = &[
    "AIDS", "AL", "ALF", "ALS", "ASC", "BH", "CCU", "CF", "CHF", "CKD", "COPD", "CT", "CV", "CVA",
    "DM", "ECG", "ED", "EEG", "EKG", "EMS", "ENT", "EP", "ER", "ESRD", "GI", "GP", "GYN", "HF",
    "HH", "HIV", "IBD", "ICU", "IR", "IV", "LTC", "MAT", "MD", "MH", "MRI", "MS", "NH", "NHS",
    "NICU", "OB", "OBGYN", "OP", "OR", "OT", "OUD", "PCP", "PET", "PFT", "PICU", "PT", "PTSD",
    "RN", "SLP", "SNF", "ST", "STD", "STI", "SUD", "TB", "TIA", "UC", "UK", "US", "UTI", "VA",
];

/// Where a sentence ends inside or at the end of `text[start..end]`, a
/// run of capitalised words: at a period after a word that is no initial
/// and abbreviates no place or firm, before a space or the run's end
/// ("Walgreens. Pharmacy", "NC. Redirected", "Eye Care."; "Hagedorn Bros.
/// Farms", "St. Mary's", "J. Okafor", "Heart Rhythm Assoc." go on); `end`
/// if none does.
fn sentence_end_within(text: &str, start: usize, end: usize) -> usize {
    let run = &text[start..end];
    run.match_indices('.')
        .filter(|&(i, _)| matches!(run.as_bytes().get(i + 1), None | Some(b' ')))
        .find(|&(i, _)| {
            let word = run[..i].rsplit(|c: char| !c.is_alphanumeric()).next();
            word.is_some_and(|w| w.chars().count() > 1 && !NAME_ABBREVIATIONS.contains(&w))
        })
        .map_or(end, |(i, _)| start + i)
}

/// The abbreviations inside or at the end of a place's or a firm's name,
/// before their period.
const NAME_ABBREVIATIONS: &[&str] = &[
    "St", "Mt", "Ft", "Ss", "Co", "Dr", "Jr", "Sr", "Bros", "Inc", "Ltd", "Corp", "Assn", "Assoc",
    "Dept", "Univ", "Hosp", "Ctr", "Inst", "Svcs", "Mfg", "Intl", "Natl", "Ave", "Rd", "Blvd",
];

/// Whether the word at `at` begins a sentence: after a sentence's end, at
/// the text's start, or at a line's unless the line before wraps one.
fn starts_sentence(text: &str, at: usize) -> bool {
    let before = text[..at].trim_end_matches([' ', '\t']);
    match before.chars().next_back() {
        None => true,
        // a line break begins a sentence unless the line before wraps
        // one, ending in a small letter or a comma ("day centre Tues/Fri
        // at\n  Cregagh Day Centre")
        Some('\n') => !before[..before.len() - 1]
            .trim_end_matches([' ', '\t', '\r'])
            .ends_with(|c: char| c.is_lowercase() || c == ','),
        // a dash is a bullet's at a line's start, and inside a line a
        // separator ("MD - Ocmulgee Family Practice")
        Some('-' | '*') => {
            let rest = before[..before.len() - 1].trim_end_matches([' ', '\t']);
            rest.is_empty() || rest.ends_with('\n')
        }
        Some(c) => matches!(c, '.' | '!' | '?'),
    }
}

/// Whether what follows a name ends a letterhead's name: the line's end, a
/// comma, a middle dot, a dash, a bar or a run of spaces.
fn ends_letterhead(rest: &str) -> bool {
    let line = rest.split('\n').next().unwrap_or_default();
    line.trim().is_empty()
        || [",", " ·", " —", " –", " |", "  ", "\t"]
            .iter()
            .any(|p| line.starts_with(p))
}

/// The head words that end a letterhead's name in capitals: the places
/// themselves, not the services a section of a form is titled by ("HOME
/// HEALTH START OF CARE", "PATIENT TRANSPORT").
const INSTITUTIONS: &[&str] = &[
    "Hospital",
    "Hospitals",
    "Clinic",
    "Clinics",
    "Centre",
    "Center",
    "Hospice",
    "Hall",
    "Polyclinic",
    "Practice",
    "Surgery",
    "Pharmacy",
    "School",
    "Church",
    "Temple",
    "Mosque",
];

/// The verbs a plan begins a line with before a service ("Continue
/// Physical Therapy", "Refer Cardiology Clinic"): never a name's first word.
const PLAN_VERBS: &[&str] = &[
    "Continue",
    "Consult",
    "Refer",
    "Referred",
    "Recommend",
    "Start",
    "Started",
    "Resume",
    "Call",
    "Called",
    "Follow",
    "Schedule",
    "Scheduled",
    "Contact",
    "Contacted",
    "Discussed",
    "Transfer",
    "Transferred",
    "See",
    "Seen",
    "Hold",
    "Check",
    "Order",
    "Ordered",
    "Arrange",
    "Arranged",
    "Request",
    "Requested",
    "Needs",
    "Notify",
    "Notified",
    "Update",
    "Updated",
    "Attend",
    "Attends",
    "Attended",
    "Visit",
    "Visited",
    "Await",
    "Awaiting",
    "Pending",
];

/// Small words inside an organisation's name, in English and in the
/// languages of European notes ("Hospital General Universitario del
/// Túria", "Thuiszorg Stad en Ommeland", "Lægerne i Bruuns Galleri").
const ORG_JOINERS: &[&str] = &[
    "of", "and", "the", "for", "de", "la", "le", "les", "du", "des", "am", "an", "der", "zum",
    "zur", "on", "at", "del", "della", "delle", "di", "da", "do", "dos", "das", "en", "i", "og",
    "och", "y", "e", "et", "und", "im", "op", "aan",
];

/// Heads that are generic words too: they say a run is an organisation
/// named for a place ("Upstate Regional", "Mather Pines Senior Living",
/// "Iowa Bone & Joint", "Bergstrom Meats") but are no name by themselves
/// ("Sent Rx"), so another word of the run must be (`HEAD` and
/// `GENERIC_WORD` both).
const GENERIC_HEADS: &[&str] = &[
    "Pathology",
    "Laboratory",
    "Laboratories",
    "Genetics",
    "Rheumatology",
    "Telemedicine",
    "Rescue",
    "Regional",
    "General",
    "Community",
    "Living",
    "Joint",
    "Hall",
    "Hostel",
    "Gym",
    "Pantry",
    "Studio",
    "Tavern",
    "Opticians",
    "Gardens",
    "Garden",
    "Post-Acute",
    "League",
    "Fire",
    "VFD",
    "VAMC",
    "Rx",
    "Meats",
    "Seafood",
    "Fabricators",
    // services and employers ("Range Removal Service", "Wiregrass
    // Federal Credit Union", "Delta Southern Freight Lines", "Carthage
    // Cold Storage", "Suncoast Companions")
    "Service",
    "Union",
    "Freight",
    "Freightways",
    "Trucking",
    "Storage",
    "Companions",
];

/// Words and abbreviations of notes that stand where initials do: in
/// brackets after a time ("(ED)", "(pm)"), at a line's end ("-- ok"),
/// beside a slash ("IV/po").
const NOT_INITIALS: &[&str] = &[
    "am", "pm", "est", "edt", "cst", "cdt", "mst", "mdt", "pst", "pdt", "hst", "utc", "gmt", "bst",
    "cet", "cest", "ed", "er", "or", "icu", "ccu", "pacu", "nicu", "picu", "micu", "sicu", "iv",
    "po", "im", "sc", "sq", "sl", "pr", "prn", "bid", "tid", "qid", "qd", "qhs", "hs", "ac", "pc",
    "mg", "ml", "kg", "dl", "mcg", "hr", "hrs", "min", "mins", "wk", "wks", "mo", "yr", "yrs",
    "bp", "obs", "lr", "ns", "the", "and", "for", "was", "not", "yes", "via", "per", "off", "all",
    "any", "has", "had", "are", "its", "his", "her", "she", "him", "who", "see", "can", "may",
    "now", "day", "on", "in", "at", "by", "to", "of", "is", "it", "as", "no", "ok", "dr", "mr",
    "ms", "mrs", "rn", "md", "do", "np", "pa", "pt", "ot", "st", "rt", "us", "we", "me", "my",
    "he", "up", "so", "go", "nil", "wnl", "na", "tbd", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "tues", "wed", "thu", "thur", "thurs",
    "fri", "sat", "sun", "new", "old", "done", "seen", "sent", "sign", "same", "none", "both",
    "left", "late", "early", "call", "home", "pcp", "gp", "cm", "sw", "ems", "lab", "team", "unit",
    "ward", "desk", "me", "you", "them",
];

/// Whether `word` is one of `NOT_INITIALS`, in any case.
fn is_note_abbreviation(word: &str) -> bool {
    NOT_INITIALS.iter().any(|n| n.eq_ignore_ascii_case(word))
}

/// The words that say a run of capitalised words is an organisation.
const ORG_HEADS: &[&str] = &[
    "Hospital",
    "Hospitals",
    "Clinic",
    "Clinics",
    "Centre",
    "Center",
    "Health",
    "Healthcare",
    "Practice",
    "Pharmacy",
    "Drug",
    "Drugs",
    "Apothecary",
    "Chemist",
    "Ambulance",
    "Care",
    "Services",
    "School",
    "University",
    "College",
    "Academy",
    "Home",
    "Homes",
    "House",
    "Residence",
    "Manor",
    "Lodge",
    "Village",
    "Church",
    "Club",
    "Police",
    "Transport",
    "LLP",
    "LLC",
    "PLLC",
    "Inc",
    "Ltd",
    "Company",
    "Co",
    "Corp",
    "Corporation",
    "Plant",
    "Program",
    "Programme",
    "Associates",
    "Group",
    "Partners",
    "Institute",
    "Hospice",
    "Jail",
    "Prison",
    "Shelter",
    "MHP",
    "Apts",
    "Apartments",
    "Villas",
    "Towers",
    "Condos",
    "Condominiums",
    "Foundation",
    "Agency",
    "Society",
    "Trust",
    "Cardiology",
    "Orthotics",
    "Restaurant",
    "Bank",
    "Store",
    "Stores",
    "Market",
    "Factory",
    "Mill",
    "Farms",
    "Library",
    "Infirmary",
    "Sanatorium",
    "Surgery",
    "Dialysis",
    "Rehabilitation",
    "Medical",
    "St",
    "Saint",
    "Hôpital",
    "Hopital",
    "Klinik",
    "Klinikum",
    "Clinique",
    "Haus",
    "Maison",
    "Résidence",
    "Villa",
    "Ziekenhuis",
    // practices named by their specialty ("Foothills Internal Medicine",
    // "Pasco Heart & Vascular", "Lakeview Gardens Rehab"): heads that are
    // generic too, so "Family Medicine" alone is still no name
    "Medicine",
    "Rehab",
    "Therapy",
    "Physiotherapy",
    "Orthopedics",
    "Orthopaedics",
    "Vascular",
    "Neurology",
    "Oncology",
    "Urology",
    "Dermatology",
    "Pediatrics",
    "Geriatrics",
    "Psychiatry",
    "Podiatry",
    "Optometry",
    "Audiology",
    "Dental",
    "Dentistry",
    "Chiropractic",
    "Imaging",
    "Radiology",
    "Diagnostics",
    "Wellness",
    "Counseling",
    "Counselling",
    "Assoc",
    "Assn",
    "Association",
    // services and employers
    "EMS",
    "PD",
    "FD",
    "Transit",
    "Ambulette",
    "Campus",
    "Correctional",
    "Mining",
    "Shop",
    "Supply",
    "Supplies",
    // congregations
    "Parish",
    "Chapel",
    "Cathedral",
    "Mosque",
    "Temple",
    "Synagogue",
    "Congregation",
    "Ministries",
    "Tabernacle",
    "AME",
    "Baptist",
    "Methodist",
    "Lutheran",
    "Presbyterian",
    "Episcopal",
    "Pentecostal",
    "Lady",
    // a place of care named for its founder or its place ("Lakeshore
    // Memorial", "Memorial Home Health"); see also `GENERIC_HEADS`
    "Memorial",
    // employers and places of a life
    "Elementary",
    "Works",
    "Fund",
    "Elks",
    "Legion",
    "Bakery",
    "Cafe",
    "Café",
    "Diner",
    "Hotel",
    "Motel",
    "Inn",
    "Ranch",
    "Dairy",
    "Cemetery",
    "Funeral",
    "Mortuary",
    "Logistics",
    "Warehouse",
    "Industries",
    "Foods",
    "Motors",
    "Construction",
    "Railroad",
    "Railway",
    "Council",
    "Authority",
    // the heads European names put first ("Ospedale San Giovanni Bosco",
    // "Farmacia Nizza Millefonti", "EHPAD Les Jardins d'Arménie")
    "Ospedale",
    "Szpital",
    "Przychodnia",
    "Farmacia",
    "Restaurante",
    "Ristorante",
    "Boulangerie",
    "Cabinet",
    "Druckerei",
    "Lægerne",
    "Lægehuset",
    "Skole",
    "Skola",
    "Förskolan",
    "EHPAD",
    "RSA",
    "DPS",
    "Centro",
    "Ajuntament",
    "Ayuntamiento",
    "Mairie",
    "Policlinico",
    "Poliklinik",
    "Krankenhaus",
    "Spital",
    "Clínica",
    "Clinica",
    "Residencia",
    "Residenza",
    "Iglesia",
    "Église",
    "Chiesa",
    "Kościół",
    "Parafia",
    "Escuela",
    "Scuola",
    "École",
    "Schule",
    "Fundación",
    "Fondazione",
    "Stiftung",
    "Stichting",
    "Fundacja",
    "Caritas",
];

/// Words of services, departments and places of care that make no name
/// of an organisation by themselves ("Wound Care Clinic").
const GENERIC: &[&str] = &[
    "Medical",
    "Medicine",
    "Internal",
    "Family",
    "General",
    "Regional",
    "Community",
    "Health",
    "Healthcare",
    "Care",
    "Primary",
    "Urgent",
    "Emergency",
    "Home",
    "Homes",
    "Nursing",
    "Skilled",
    "Assisted",
    "Living",
    "Senior",
    "Heart",
    "Failure",
    "Wound",
    "Eye",
    "Vision",
    "Dental",
    "Cancer",
    "Pain",
    "Sleep",
    "Diabetes",
    "Kidney",
    "Renal",
    "Dialysis",
    "Infusion",
    "Physical",
    "Occupational",
    "Speech",
    "Therapy",
    "Rehab",
    "Rehabilitation",
    "Cardiology",
    "Cardiac",
    "Oncology",
    "Neurology",
    "Orthopedic",
    "Orthopaedic",
    "Orthopedics",
    "Pediatric",
    "Pediatrics",
    "Women",
    "Children",
    "Behavioral",
    "Mental",
    "Hospice",
    "Palliative",
    "Geriatric",
    "Geriatrics",
    "Transitional",
    "Surgical",
    "Surgery",
    "Ambulatory",
    "Outpatient",
    "Inpatient",
    "Day",
    "Specialty",
    "Social",
    "Work",
    "Services",
    "Service",
    "Program",
    "Programme",
    "Center",
    "Centre",
    "Clinic",
    "Hospital",
    "University",
    "State",
    "National",
    "County",
    "City",
    "Public",
    "Memory",
    "Adult",
    "Imaging",
    "Radiology",
    "Lab",
    "Pharmacy",
    "Transport",
    "Ambulance",
    "Group",
    "Practice",
    "Unit",
    "Intensive",
    "Critical",
    "Ward",
    "Floor",
    "Department",
    "Dept",
    "Office",
    "Team",
    "Support",
    "House",
    "Residence",
    "Village",
    "Plan",
    "Patient",
    "Patients",
    "Clinical",
    "Nurse",
    "Case",
    "Management",
    "Discharge",
    "Follow",
    "Visit",
    "Note",
    "Report",
    "Summary",
    "Respiratory",
    "Pulmonary",
    "Gastroenterology",
    "Infectious",
    "Disease",
    "Diseases",
    "Endocrinology",
    "Psychiatry",
    "Psychiatric",
    "Vascular",
    "Podiatry",
    "Ophthalmology",
    "Dermatology",
    "Urology",
    "Obstetrics",
    "Gynecology",
    "Maternity",
    "Labor",
    "Delivery",
    "Trauma",
    "Stroke",
    "Spine",
    "Joint",
    "Bone",
    "Breast",
    "Blood",
    "Hematology",
    "Nephrology",
    "Liver",
    "Transplant",
    "Anticoagulation",
    "Medication",
    "Medications",
    "Equipment",
    "Supply",
    "Oxygen",
    "Hearing",
    "Meals",
    "Wheels",
    "Protective",
    "Private",
    "Agency",
    "Long",
    "Term",
    "Acute",
    "Extended",
    "Respite",
    "Personal",
    "Comfort",
    "Intermediate",
    "Continuing",
    "Observation",
    "Step",
    "Down",
    "Main",
    "New",
    "Old",
    "North",
    "South",
    "East",
    "West",
    "Central",
    "Upper",
    "Lower",
    "Inc",
    "Ltd",
    "LLC",
    "Co",
    "The",
    "St",
    "Saint",
    "Institute",
    "Foundation",
    "Trust",
    "Society",
    "High",
    "Middle",
    "Elementary",
    "Secondary",
    "Residential",
    "Independent",
    "Retirement",
    // the adjectives of a specialty before a head that is one too
    "Sports",
    "Nuclear",
    "Preventive",
    "Integrative",
    "Addiction",
    "Functional",
    "Interventional",
    "Hand",
    "Foot",
    "Ankle",
    "Cosmetic",
    "Aesthetic",
    "Manual",
    "Massage",
    "Music",
    "Art",
    "Cardiopulmonary",
    "Vestibular",
    "Pelvic",
    "Aquatic",
    "Neuro",
    "Ortho",
    "Orthopaedics",
    "Physiotherapy",
    "Dentistry",
    "Chiropractic",
    "Diagnostics",
    "Wellness",
    "Counseling",
    "Counselling",
    "Radiation",
    // the words of a service or a department that a form's heading in
    // capitals names ("GENETIC COUNSELING", "CHEMICAL PATHOLOGY",
    // "BEREAVEMENT PROGRAM", "SPECIAL NEEDS DENTISTRY"), which a run
    // ending in its head must have a word besides
    "Genetic",
    "Genomic",
    "Molecular",
    "Chemical",
    "Anatomic",
    "Anatomical",
    "Forensic",
    "Microbiology",
    "Virology",
    "Biochemistry",
    "Cytology",
    "Histopathology",
    "Immunology",
    "Allergy",
    "Bereavement",
    "Grief",
    "Spiritual",
    "Pastoral",
    "Chaplaincy",
    "Nutrition",
    "Nutritional",
    "Dietetic",
    "Dietetics",
    "Special",
    "Needs",
    "Representative",
    "Speech-Language",
    "Non-Emergency",
    "Virtual",
    "Telehealth",
    "Mobile",
    "Outreach",
    "Education",
    "Educational",
    "Diabetic",
    "Thoracic",
    "Cardiothoracic",
    "Plastic",
    "Reconstructive",
    "Maxillofacial",
    "Oral",
    "Paediatric",
    "Neonatal",
    "Perinatal",
    "Prenatal",
    "Antenatal",
    "Postnatal",
    "Fertility",
    "Reproductive",
    "Sexual",
    "Travel",
    "Environmental",
    "Infection",
    "Prevention",
    "Control",
    "Quality",
];

/// "ED", "MORALES", "O'BRIEN", "QUIÑONES": a word in capitals (two letters
/// or more, an apostrophe or a hyphen inside).
/// What a table's header cell says its column holds.
#[derive(Clone, Copy)]
enum Column {
    /// People ("Staff", "By", "Nurse", "Initials"); where `listed`, only
    /// a name a list has ("Name" may head a drug's).
    Person { listed: bool },
    /// Ages ("Age", "Age / notes").
    Age,
    /// The towns people live in ("Lives / lived", "Town", "Residence").
    Town,
}

impl Column {
    fn of(cell: &str) -> Option<Column> {
        const PEOPLE: [&str; 17] = [
            "by",
            "staff",
            "nurse",
            "rn",
            "initials",
            "init",
            "signed",
            "sign",
            "signature",
            "caller",
            "carer",
            "caregiver",
            "clinician",
            "worker",
            "checked by",
            "given by",
            "seen by",
        ];
        let cell = cell.trim().trim_end_matches(':');
        if cell.len() > 16 {
            return None;
        }
        let first = cell.split([' ', '/']).next().unwrap_or_default();
        if PEOPLE.iter().any(|h| h.eq_ignore_ascii_case(cell)) {
            Some(Column::Person { listed: false })
        } else if cell.eq_ignore_ascii_case("name") || cell.eq_ignore_ascii_case("names") {
            Some(Column::Person { listed: true })
        } else if first.eq_ignore_ascii_case("age") {
            Some(Column::Age)
        } else {
            ["lives", "town", "city", "residence", "hometown"]
                .iter()
                .any(|h| h.eq_ignore_ascii_case(first))
                .then_some(Column::Town)
        }
    }
}

/// The titles a dictation in capitals writes before a name: fewer than
/// `patterns::TITLES`, for in capitals "SR" is a sinus rhythm and "FR" a
/// French scale.
const UPPER_TITLES: [&str; 6] = ["MR", "MRS", "MS", "MISS", "DR", "PROF"];

fn is_upper_word(word: &str) -> bool {
    let b = word.as_bytes();
    // asked of every word: most fail at their first byte
    if b.len() < 2 || (b[0].is_ascii() && !b[0].is_ascii_uppercase()) {
        return false;
    }
    if b.iter()
        .all(|&c| c.is_ascii_uppercase() || c == b'\'' || c == b'-')
    {
        return true;
    }
    // "QUIÑONES", "Ó'NEILL"
    !word.is_ascii()
        && word.chars().next().is_some_and(char::is_uppercase)
        && word
            .chars()
            .all(|c| c.is_uppercase() || matches!(c, '\'' | '’' | '-'))
}

/// The words of `datasets/names/not-names.txt`, lower case.
pub fn not_name_words() -> Vec<&'static str> {
    let mut w: Vec<&'static str> = list_words(NOT_NAMES).collect();
    w.sort_unstable();
    w.dedup();
    w
}

/// The words of a bundled list: whitespace-separated, `#` starts a comment.
fn list_words(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(str::split_whitespace)
}

/// "Kathleen's" reads "Kathleen".
fn without_possessive(word: &str) -> &str {
    word.strip_suffix("'s")
        .or_else(|| word.strip_suffix("’s"))
        .unwrap_or(word)
}

fn only_space(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c == ' ' || c == '\t')
}

/// Whether the sentence that `before` ends in begins with a small letter:
/// the first letter after the last full stop, question or exclamation
/// mark or line break.
fn sentence_begins_lower(before: &str) -> bool {
    let start = before.rfind(['.', '!', '?', '\n']).map_or(0, |i| i + 1);
    before[start..]
        .chars()
        .find(|c| c.is_alphabetic())
        .is_some_and(char::is_lowercase)
}

/// Whether a word's list bits make it a first name beside a relation or
/// after a speech verb: a listed first name that is no word of the note's
/// structure or title (`STRUCTURE_WORD`).
fn first_name_in_prose(flags: u8) -> bool {
    flags & ANY_FIRST != 0 && flags & STRUCTURE_WORD == 0
}

/// Whether the last word of `window` (before spaces, a comma or a period)
/// begins with a capital letter.
fn last_word_capitalised(window: &str) -> bool {
    let trimmed = window.trim_end_matches([' ', '\t', ',', '.']);
    let start = trimmed
        .rfind(|c: char| !(c.is_alphanumeric() || matches!(c, '\'' | '’' | '-')))
        .map_or(0, |i| {
            i + trimmed[i..].chars().next().map_or(1, char::len_utf8)
        });
    trimmed[start..].starts_with(char::is_uppercase)
}

/// Spaces with one line break among them: a sentence wrapped to the next line.
fn wrapped(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_whitespace()) && s.matches('\n').count() == 1
}

/// The codes of the states a town stands beside without its ZIP: not
/// those that are also credentials or words (MD, PA, MA, MS, DC, ME, OR,
/// IN, OK, HI, ID, CT).
const TOWN_STATES: [&str; 39] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "DE", "FL", "GA", "IA", "IL", "KS", "KY", "LA", "MI", "MN",
    "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "RI", "SC", "SD", "TN", "TX",
    "UT", "VT", "VA", "WA", "WV", "WI", "WY",
];

/// Words that are no place's first word ("The County", "Per County").
const DETERMINERS: [&str; 14] = [
    "the", "this", "that", "per", "each", "any", "every", "our", "your", "their", "his", "her",
    "same", "other",
];

/// What may follow a state's code after a town: spaces, then punctuation,
/// a number or the line's end ("SD (605", "VA\n", "MO 64836").
fn ends_state(rest: &str) -> bool {
    let rest = rest.trim_start_matches([' ', '\t']);
    rest.chars()
        .next()
        .is_none_or(|c| c == '\n' || c.is_ascii_digit() || ",.;:()|/-".contains(c))
}

/// A capital and small letters only: "Washoe", "Sioux".
fn capitalised(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(char::is_uppercase) && {
        let rest = chars.as_str();
        !rest.is_empty() && rest.chars().all(char::is_lowercase)
    }
}

/// Where the name of a county's office or service ends when one follows
/// the county's word at `words[i]`: "Houston County Sheriff's Office",
/// "Fond du Lac County ADRC", "Kern County Department of Human Services",
/// "CUYAHOGA COUNTY PROBATE COURT": the capitalised words after it (in
/// capitals after "COUNTY"), the small words of names between them, up
/// to six. `None` where no such word follows ("Washoe County, NV", "Kern
/// County since 2001") or a state's code does ("Marion County IA").
fn county_office(text: &str, words: &[(usize, &str)], i: usize) -> Option<usize> {
    let upper = words[i].1 == "COUNTY";
    let shape = |w: &str| {
        if upper {
            is_upper_word(w) && w.len() >= 3
        } else {
            is_title_case(w) || is_acronym(w) && !TOWN_STATES.contains(&w)
        }
    };
    let mut end = None;
    for j in i + 1..words.len().min(i + 7) {
        let (pat, pw) = words[j - 1];
        let (n, w) = words[j];
        if !matches!(&text[pat + pw.len()..n], " " | " & ") {
            break;
        }
        if shape(w) {
            end = Some(n + w.len());
        } else if end.is_none() || !ORG_JOINERS.contains(&w) {
            break;
        }
    }
    end
}

/// Whether a word at `at` begins at a word boundary (no letter, digit or
/// "_" before it).
fn word_starts(text: &str, at: usize) -> bool {
    text[..at]
        .chars()
        .next_back()
        .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
}

/// "Kathleen", "O'Connell", "McDonald": a capital, then not all capitals
/// (an all-capitals word is an abbreviation: ED, MI, PA).
fn is_title_case(word: &str) -> bool {
    let Some((&first, rest)) = word.as_bytes().split_first() else {
        return false;
    };
    // asked of every word, often more than once: most fail at their first
    // byte, and most of the rest pass at their second
    if first.is_ascii() {
        if !first.is_ascii_uppercase() {
            return false;
        }
        if rest.iter().any(u8::is_ascii_lowercase) {
            return true;
        }
        if rest.is_ascii() {
            return false;
        }
    }
    // "Ólafur", "ÉMILE" and "Łukasz", a character at a time
    let mut chars = word.chars();
    chars.next().is_some_and(char::is_uppercase)
        && word.chars().count() >= 2
        && word.chars().skip(1).any(char::is_lowercase)
}

/// Words (letters, apostrophes and inner hyphens) and their byte offsets.
fn word_spans(text: &str) -> Vec<(usize, &str)> {
    if text.is_ascii() {
        return ascii_word_spans(text);
    }
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let part = c.is_alphabetic() || c == '\'' || c == '’' || (c == '-' && start.is_some());
        match (start, part) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                out.push((s, text[s..i].trim_end_matches(['-', '\'', '’'])));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text[s..].trim_end_matches(['-', '\'', '’'])));
    }
    out
}

/// `word_spans` of an all-ASCII text: the runs of letters, apostrophes and
/// hyphens, less the hyphens a run begins with (a hyphen joins only a word
/// already begun) and those and the apostrophes it ends with.
fn ascii_word_spans(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::with_capacity(text.len() / 6);
    let bytes = text.as_bytes();
    let part = |c: byte_runs::Classes| c.letters | c.apostrophes | c.hyphens;
    byte_runs::runs(bytes, part, |mut start, end| {
        while start < end && bytes[start] == b'-' {
            start += 1;
        }
        if start < end {
            out.push((start, text[start..end].trim_end_matches(['-', '\''])));
        }
    });
    out
}

/// Lower case without accents: "Tomás" and "TOMAS" both read "tomas".
pub fn fold_lower(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_lower_into(s, &mut out);
    out
}

/// `fold_lower`, appended to `out` (a buffer reused word after word).
pub fn fold_lower_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        let from = out.len();
        out.push_str(s);
        out[from..].make_ascii_lowercase();
        return;
    }
    for c in s.chars() {
        push_folded(c, out);
    }
}

/// `text` folded, with the byte offset in `text` of every byte of the
/// result, so a match in the folded text maps back to the original.
pub fn fold_with_offsets(text: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut at = Vec::with_capacity(text.len() + 1);
    let mut i = 0;
    while let Some(&b) = text.as_bytes().get(i) {
        // nearly every byte of a note is ASCII: one byte in, one out
        if b.is_ascii() {
            out.push(char::from(b.to_ascii_lowercase()));
            at.push(i);
            i += 1;
            continue;
        }
        let c = text[i..].chars().next().expect("i is a char boundary");
        let before = out.len();
        push_folded(c, &mut out);
        at.extend(std::iter::repeat_n(i, out.len() - before));
        i += c.len_utf8();
    }
    at.push(text.len());
    (out, at)
}

fn push_folded(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    let base = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å'
        | 'Ā' | 'Ă' | 'Ą' => "a",
        'æ' | 'Æ' => "ae",
        'ç' | 'ć' | 'č' | 'Ç' | 'Ć' | 'Č' => "c",
        'ď' | 'đ' | 'Ď' | 'Đ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' | 'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ė' | 'Ę'
        | 'Ě' => "e",
        'ğ' | 'Ğ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'ı' | 'İ' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' => "i",
        'ł' | 'Ł' => "l",
        'ñ' | 'ń' | 'ň' | 'Ñ' | 'Ń' | 'Ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō'
        | 'Ő' => "o",
        'œ' | 'Œ' => "oe",
        'ř' | 'Ř' => "r",
        'ś' | 'š' | 'ş' | 'ș' | 'Ś' | 'Š' | 'Ş' | 'Ș' => "s",
        'ß' => "ss",
        'ť' | 'ţ' | 'ț' | 'Ť' | 'Ţ' | 'Ț' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' | 'Ů' | 'Ű' => {
            "u"
        }
        'ý' | 'ÿ' | 'Ý' | 'Ÿ' => "y",
        'ź' | 'ż' | 'ž' | 'Ź' | 'Ż' | 'Ž' => "z",
        '’' => "'",
        _ => {
            out.extend(c.to_lowercase());
            return;
        }
    };
    out.push_str(base);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<&str> {
        let mut found = Vec::new();
        Names::builtin().find(text, &mut found);
        let found = super::super::patterns::merge(found);
        found.iter().map(|f| &text[f.start..f.end]).collect()
    }

    #[test]
    fn relatives_and_household_without_a_title() {
        assert_eq!(
            names("Her daughter Kathleen (cell on file) visited."),
            ["Kathleen"]
        );
        assert_eq!(names("Wife Rosa can be reached at home."), ["Rosa"]);
        assert_eq!(names("Husband Imran drove her in."), ["Imran"]);
        assert_eq!(
            names("lives with son Brendan O'Connell and his dog"),
            ["Brendan O'Connell"]
        );
        assert_eq!(
            names("Emergency contact: Nguyen Thi Lan"),
            ["Nguyen Thi Lan"]
        );
    }

    #[test]
    fn the_speakers_of_a_conversation_a_note_copies() {
        let thread = "[03-12-2026 07:42] prashanth: good morning doctor.\n\
                      [03-12-2026 08:10] DR: Noted.\n\
                      [03-12-2026 21:10] prashanth: ok thanks sister.\n";
        assert_eq!(names(thread), ["prashanth", "prashanth"]);
        let export = "02/12/2026, 14:47 - Lottie P-H: hi dr\n\
                      02/12/2026, 14:50 - Pt: ok\n\
                      03/12/2026, 10:20 - Lottie P-H: better\n\
                      03/12/2026, 10:21 - Pt: good";
        assert_eq!(names(export), ["Lottie P-H", "Lottie P-H"]);
        let log = "Tir 01.12.2026 08:10 — SPL Marte: Morning care.\n\
                   Ons 02.12 08:25 — SPL Marte: Slept badly.";
        assert_eq!(names(log), ["SPL Marte", "SPL Marte"]);
        // a topic after a time, once each; a role in capitals twice
        let shift = "08:00 - Breakfast: ate half\n12/3 08:30 - Vitals: stable\n\
                     [09:01] PATIENT: yes\n[09:02] PATIENT: no";
        assert!(names(shift).is_empty(), "{:?}", names(shift));
    }

    #[test]
    fn clinicians_by_role_and_by_credential() {
        assert_eq!(names("PCP: Howard Feld, MD"), ["Howard Feld"]);
        assert_eq!(names("Seen by Anita Shah NP today."), ["Anita Shah"]);
        assert_eq!(names("Signed: Okonkwo Adeyemi, RN"), ["Okonkwo Adeyemi"]);
        // credentials and degrees in a chain
        assert_eq!(
            names("Genetic counselor: Hyrum Oakeson, MS, CGC\nINDICATION"),
            ["Hyrum Oakeson"]
        );
        assert_eq!(
            names("Dictated: Marguerite Oyelowo MSN, RN, CNL"),
            ["Marguerite Oyelowo"]
        );
        assert!(names("Dx: MS, MD to see").is_empty());
        assert_eq!(names("d/w attending Dr. Liang"), ["Liang"]);
        assert_eq!(
            names("Referral from Noor Al-Khatib, DDS"),
            ["Noor Al-Khatib"]
        );
        assert_eq!(names("No concerns. Logged by Duc Trinh."), ["Duc Trinh"]);
        assert_eq!(names("children Hodan (9) and"), ["Hodan"]);
        // a credential after a clinical word, and "by" before one, make no name
        assert!(names("Logged by Cardiology. Hx HTN, DDS").is_empty());
        // more roles: therapists, workers, advocates, the law's, faiths'
        for (text, want) in [
            ("Audiologist: Mairi MacLellan, A-0388", "Mairi MacLellan"),
            ("Support worker Dawn Pryce visits Tuesdays.", "Dawn Pryce"),
            ("Guardian: Lorraine Obi (court-appointed)", "Lorraine Obi"),
            ("Rabbi Feldman will visit.", "Feldman"),
        ] {
            assert_eq!(names(text), [want], "{text}");
        }
        assert!(names("NV Psychologist Lic. PY0817").is_empty());
    }

    #[test]
    fn names_surname_first_in_lower_case_and_as_initials() {
        assert_eq!(names("PCP: Tran, Minh-Chau, MD | Ins"), ["Tran, Minh-Chau"]);
        assert_eq!(
            names("Attending: OKONKWO, CHIDI MD\nRoom"),
            ["OKONKWO, CHIDI"]
        );
        assert_eq!(
            names("ATTEND DR: Caudill,Everett W MD"),
            ["Caudill,Everett W"]
        );
        assert_eq!(
            names("Submitting physician: Thibodeaux, Landry, MD"),
            ["Thibodeaux, Landry"]
        );
        assert_eq!(names("can my sister keisha bring me?"), ["keisha"]);
        assert_eq!(names("hi tamika this is the clinic"), ["tamika"]);
        assert_eq!(names("Copy to: Fontenot"), ["Fontenot"]);
        assert_eq!(names("lives alone; dtr Basia in town"), ["Basia"]);
        assert_eq!(names("ok thanks\n-- dj\n"), ["dj"]);
        assert_eq!(names("job 448172 transcriptionist kmb"), ["kmb"]);
        // a role is a word of its own: "sho" of "showed" is none
        assert!(names("CT 12/03/2026 showed").is_empty());
        assert_eq!(names("(goes by \"Chano\")"), ["Chano"]);
        // lower-case words that are no census first name stay
        assert_eq!(
            names("TILLOTSON, DWAYNE R   MRN: 4410827"),
            ["TILLOTSON, DWAYNE R"]
        );
        // an initial of two bytes is an initial, and no slice inside it
        // (this panicked)
        assert_eq!(names("Read by É. Okafor, radiologist"), ["É. Okafor"]);
        // a grandparent in the words of the family
        assert_eq!(names("her kuia Ngāhuia came in"), ["Ngāhuia"]);
        assert_eq!(
            names("cared for by his kokum, Mary Beardy"),
            ["Mary Beardy"]
        );
        assert!(names("my wife usually writes for me").is_empty());
        assert!(names("hi there, thanks again").is_empty());
        assert!(names("the interpreter was late").is_empty());
        // a title in small letters, before a first name or a surname; a
        // surname that is a word is none, nor a street's "Dr"
        assert_eq!(names("can dr salinas see her"), ["salinas"]);
        assert_eq!(names("called nurse jen at agency"), ["jen"]);
        assert_eq!(names("\"hi ms lakisha this is"), ["lakisha"]);
        for text in [
            "dr appt tomorrow, nurse visit ok",
            "dr will call, mr scan done",
            "off S Greeley Hwy by the Southwest Dr light",
        ] {
            assert!(names(text).is_empty(), "{text}: {:?}", names(text));
        }
        // a relative in the words of Spanish, French and Italian notes
        assert_eq!(names("su hija Maribel la cuida"), ["Maribel"]);
        assert_eq!(names("nonc lou and tante eunice here"), ["lou", "eunice"]);
        assert_eq!(names("vive con la figlia Rosa"), ["Rosa"]);
    }

    #[test]
    fn names_in_capitals_after_a_title_in_capitals() {
        assert_eq!(
            names("REFERRING: DR. KERWIN ST. HILL, PENAL"),
            ["KERWIN ST. HILL"]
        );
        assert_eq!(names("CC: DR. ST. HILL; FILE"), ["ST. HILL"]);
        assert_eq!(
            names("WITH HIS WIFE MRS. INDRANI DEOPERSAD AND DAUGHTER"),
            ["INDRANI DEOPERSAD"]
        );
        // without the title's period, a listed name only
        assert_eq!(names("[09:03] DR CAMACHO-ADA: Hafa adai"), ["CAMACHO-ADA"]);
        // a first name, a middle initial and a surname, as an address
        // block writes them
        assert_eq!(
            names("Dear sir\n\nCLIFFORD E ABSHER\nRR 3 BOX 227"),
            ["CLIFFORD", "E ABSHER"]
        );
        for text in [
            "NO DR BILATERALLY.",
            "MR ANGIOGRAM NEGATIVE.",
            "MS FLARE IN 2019.",
        ] {
            assert!(names(text).is_empty(), "{text}: {:?}", names(text));
        }
    }

    #[test]
    fn the_people_ages_and_towns_of_a_table_by_its_header() {
        let log = "| Date        | Staff     | Type |\n\
                   |-------------|-----------|------|\n\
                   | 11/12/2025  | BW        | call |\n\
                   | 04/02/2026  | Tasha M.  | card |\n\
                   |             |           | N/A  |\n";
        assert_eq!(names(log), ["BW", "Tasha M."]);
        let card = " Day | 1 | 2 | 3 | 4 |\n Obs | ✓ | S | ✓ | X |\n By  | LM | vid | JR | ED |\n";
        assert_eq!(names(card), ["LM", "JR"]);
        // a header's other cells are no people
        let dialysis = " Nurse | Date       | Pre-wt | Nurse\n - | 22/11/2026 | 58.4   | Shazia\n";
        assert_eq!(names(dialysis), ["Shazia"]);
        // a pedigree's ages over 89 and towns; no age under 90, nor a
        // number with its unit
        let pedigree = " Gen | Relation   | Name          | Age  | Lives / lived\n\
                        II-3 | great-aunt | Ila Rasmussen | 93   | Manti, Christiansen Lane\n\
                        II-4 | uncle      | Kelvin Olsen  | 71   | Eagle Mountain\n\
                        II-5 | aunt       | Ann Olsen     | 95 kg | same\n";
        let mut found = Vec::new();
        Names::builtin().find(pedigree, &mut found);
        let found: Vec<(PhiKind, &str)> = super::super::patterns::merge(found)
            .iter()
            .map(|f| (f.kind, &pedigree[f.start..f.end]))
            .filter(|(k, _)| *k != PhiKind::Name)
            .collect();
        assert_eq!(
            found,
            [
                (PhiKind::Age, "93"),
                (PhiKind::City, "Manti"),
                (PhiKind::City, "Eagle Mountain")
            ]
        );
        // a drug under "Name", a cell that is no name or initials after
        // "Signed", a route that begins with "By"
        let meds = "| Name | Dose |\n| Metformin | 500 mg |\n| Signed | N/A | pending |\n\
                    | Route | By mouth |\n";
        assert!(names(meds).is_empty(), "{:?}", names(meds));
    }

    #[test]
    fn carers_by_the_abbreviation_of_their_role() {
        assert_eq!(
            names("CHR: Loretta Iron Shell   With:"),
            ["Loretta Iron Shell"]
        );
        assert_eq!(
            names("|  FF/PM Ruby Castillo, badge 3390"),
            ["Ruby Castillo"]
        );
        assert_eq!(
            names("Lady health worker Shabana (LHW Programme) to visit"),
            ["Shabana"]
        );
        assert!(names("PM Meds given. CHR Stage 3").is_empty());
        // an initial and a surname, or two names or more, that no list has
        for (text, want) in [
            ("13:58   PCT: M. Lente      -- TB", "M. Lente"),
            ("(after ROM, by CNM K. Delacroix): 4/70", "K. Delacroix"),
            ("Dr Lim Boon Keng / MO Ng Kai Xuan\n", "Ng Kai Xuan"),
            (
                "w/ Rochelle CM, pall care NP Hope Lindgren-Sayed. Bring",
                "Hope Lindgren-Sayed",
            ),
            (
                "Handed over by RN Ffion (nights) to RN Dafydd Bevan and",
                "Dafydd Bevan",
            ),
        ] {
            assert!(names(text).contains(&want), "{text}: {:?}", names(text));
        }
        for text in [
            "RN Care Plan reviewed",
            "PT Initial Evaluation",
            "CNS Team Leader aware",
            "the clinic at 301 NP Ave, Fargo",
        ] {
            assert!(names(text).is_empty(), "{text}: {:?}", names(text));
        }
    }

    #[test]
    fn a_surname_before_marriage_and_a_credential_after_a_name() {
        for (text, want) in [
            ("Eulalie Marie Prud'homme, née Guidry, \"Mamère", "Guidry"),
            ("of Mrs VERNIER Marguerite, née CHAPUIS, born", "CHAPUIS"),
            (
                "Re: Mrs Araxie TCHAKMAKIAN, married name ROUX, born",
                "ROUX",
            ),
            (
                "Assistant: Tavita Faleolo, CSFA\nAnesthesia",
                "Tavita Faleolo",
            ),
            (
                "Observer: Jordan Reyes-Kim, MS3 (pt consented)",
                "Jordan Reyes-Kim",
            ),
            (
                "walks ~15 m with physio (Fraser Thom, PT). Falls",
                "Fraser Thom",
            ),
            ("Requested by: Bec Lawrie, RAN\n", "Bec Lawrie"),
        ] {
            assert!(names(text).contains(&want), "{text}: {:?}", names(text));
        }
        // no name after the words, a knee, a patient after a comma
        for text in [
            "maiden name unknown; knee Bilateral",
            "Ambulating with walker, PT to follow up",
            "PT consult. Outpatient PT closer to home",
        ] {
            assert!(names(text).is_empty(), "{text}: {:?}", names(text));
        }
    }

    #[test]
    fn every_rule_compiles() {
        let n = Names::builtin();
        assert_eq!(n.context.len(), 22);
        // one rule of two shapes, each with its group (the signature's
        // initials, and one letter only before a quote's end)
        let two_groups = n.context.iter().filter(|(re, ..)| re.captures_len() > 2);
        assert_eq!(two_groups.count(), 1);
        assert!(n.context_windows.is_built());
        assert_eq!(n.after_name.len(), 2);
        let count = |bit: u8| n.flags.values().filter(|f| *f & bit != 0).count();
        // the census lists and the world's
        assert!(count(FIRST) > 5000 && count(SURNAME) == 10_000);
        assert!(count(ANY_FIRST) > 19_000 && count(ANY_SURNAME) > 23_000);
        // the detector's features are the census lists' alone
        assert_eq!(n.word_flags("marieke"), 0);
        assert_eq!(n.word_flags("kathleen"), FIRST);
    }

    #[test]
    fn a_scrubbed_note_has_no_names_left() {
        assert!(names("seen by Dr. [NAME] on [DATE]. Wife [NAME] called.").is_empty());
    }

    #[test]
    fn employers_and_facilities_after_their_context_words() {
        assert_eq!(
            names("He works at Harbor Freight Tools as a clerk."),
            ["Harbor Freight Tools"]
        );
        assert_eq!(
            names("Transferred from St. Mary's Medical Center overnight."),
            ["St. Mary's Medical Center"]
        );
        assert!(names("discharged to home with services").is_empty());
    }

    #[test]
    fn typists_and_signers_initials() {
        assert_eq!(
            names("Dictated 12/01/26, transcribed 12/02/26 (rlk), signed"),
            ["rlk"]
        );
        assert_eq!(names("12/04/2026 13:14   (SDA)   Dictated"), ["SDA"]);
        assert_eq!(names("5.12.26 10:34   (KM/DB)"), ["KM/DB"]);
        assert_eq!(names("11:05   Transcribed jw\n"), ["jw"]);
        assert_eq!(names("transcribed lmh 12/3/26; signed"), ["lmh"]);
        assert_eq!(names("T: 09:15   TRANSCRIBED BY: KMJ\n"), ["KMJ"]);
        assert_eq!(names("ext 4   (ATW/jl 03/12/26)"), ["ATW/jl"]);
        assert_eq!(names("Cosign N/A    (initials on MAR: HBN)"), ["HBN"]);
        assert_eq!(
            names("(initials on the therapy chart: GR, AN, IFD)"),
            ["GR, AN, IFD"]
        );
        // abbreviations where initials stand are none
        assert!(names("Seen 12/01 (ED), admitted 12:30 (pm) to 4B").is_empty());
        assert!(names("5 mg IV/po at 14:00 (ICU). Typed by the clerk.").is_empty());
        assert!(names("Labs 12/02 (am) fine; given 2/2 (bid)").is_empty());
    }

    #[test]
    fn a_signer_by_initials_and_a_surname_no_list_has() {
        assert_eq!(
            names("by K. Milne, SN / received by D. Buchan, CN   5.12.26"),
            ["K. Milne", "D. Buchan"]
        );
        assert_eq!(names("Signed - A. Ndiaye - ward 4"), ["A. Ndiaye"]);
        assert_eq!(names("K. Lewis RGN, Band 6"), ["K. Lewis"]);
        assert_eq!(names("comm. ctr. - R. Kuta.\n"), ["R. Kuta"]);
        assert_eq!(
            names("Yours faithfully,\nA. O. Adeyemi\n"),
            ["A. O. Adeyemi"]
        );
        // a letter and a period end a sentence, and a plan's verb is none
        assert!(names("Started vitamin D. Continue at discharge.").is_empty());
        assert!(names("Hepatitis B. Negative. Plan: A. Continue aspirin.").is_empty());
    }

    #[test]
    fn a_first_name_after_a_carers_role() {
        assert_eq!(names("HCA Dawn helped her wash."), ["Dawn"]);
        assert_eq!(names("Report from RN: Keisha at 07:00"), ["Keisha"]);
        assert!(names("PT Eval done. RN Note reviewed. OT Assessment pending.").is_empty());
    }

    #[test]
    fn organisations_named_for_a_place_with_a_generic_head() {
        for (text, org) in [
            (
                "Referred to Trinity Heart Institute in March.",
                "Trinity Heart Institute",
            ),
            (
                "lives at Laurelwood Retirement Community now",
                "Laurelwood Retirement Community",
            ),
            (
                "moved to Mather Pines Senior Living last year",
                "Mather Pines Senior Living",
            ),
            ("Last admit Upstate Regional (CHF).", "Upstate Regional"),
            ("EMS took him to Lakeshore Memorial.", "Lakeshore Memorial"),
            (
                "Follow-up ortho Iowa Bone & Joint in 2 weeks",
                "Iowa Bone & Joint",
            ),
            (
                "a friend from the Hope Street Boxing Gym visits",
                "Hope Street Boxing Gym",
            ),
        ] {
            assert_eq!(names(text), [org], "{text}");
        }
        // generic words alone name no place
        for text in [
            "referred to the Center for Independent Living",
            "Needs help with Activities of Daily Living.",
            "seen in the Heart Failure Clinic, then Cardiac Rehab",
        ] {
            assert!(names(text).is_empty(), "{text}: {:?}", names(text));
        }
    }

    #[test]
    fn towns_with_an_abbreviation_near_and_where_a_life_was_lived() {
        assert_eq!(
            names("grandson in Mt. Vernon; sister lives in Ft. Defiance."),
            ["Mt. Vernon", "Ft. Defiance"]
        );
        assert_eq!(names("van broke down near Prewitt on the way"), ["Prewitt"]);
        assert_eq!(
            names("husband died in Jhapa district; came from the camps in Damak, Nepal"),
            ["Jhapa", "Damak"]
        );
        assert_eq!(names("Son ranches out by Lamoille (cell)"), ["Lamoille"]);
        // a sentence's "Near", and "near the ..."
        assert!(names("Near Term. He lives near the Wound Clinic.").is_empty());
        // a town of the list alone in brackets, not a drug or a company
        assert_eq!(
            names(
                "funeral home Oakey's (Roanoke) per family; given (Lasix) by (Boston Scientific)"
            ),
            ["Roanoke"]
        );
    }

    #[test]
    fn organisations_by_an_acronym_and_after_a_dash_inside_a_line() {
        assert_eq!(
            names("PCP: see above, MD - Ocmulgee Family Practice, 3780"),
            ["Ocmulgee Family Practice"]
        );
        assert_eq!(names("AVF (2024, UNM Hospital vascular)"), ["UNM Hospital"]);
        assert_eq!(
            names("wound clinic, CGMC Wound Center, 840"),
            ["CGMC Wound Center"]
        );
        assert_eq!(names("the party is at the KC Hall tonight"), ["KC Hall"]);
        assert_eq!(
            names("referred to Memorial Home Health"),
            ["Memorial Home Health"]
        );
        assert!(names("Seen in the HIV Clinic, then the ED Center.").is_empty());
        // a head is no name by itself
        assert!(names("Sent Rx to the pharmacy").is_empty());
        assert!(names("- Continue Physical Therapy twice weekly").is_empty());
    }

    #[test]
    fn initials_after_a_military_time_a_signature_and_a_role() {
        assert_eq!(names("RN   12/04/2026 1931   (JMK)"), ["JMK"]);
        assert_eq!(
            names("pgr 509-555-0166   12/02/2026 1452   -- FOB\n"),
            ["FOB"]
        );
        assert_eq!(names("Resident note signed BOL 11:47"), ["BOL"]);
        assert_eq!(
            names("Routed to YAR. Closed by RBW RN 12/04/26."),
            ["YAR", "RBW"]
        );
        assert_eq!(names("(scribed in part by JRK)"), ["JRK"]);
        assert_eq!(names("Student: SPT   (initials CV/MQ)"), ["CV/MQ"]);
        assert_eq!(names("MD   12/03/2026 11:48    MA: BH\n"), ["BH"]);
        assert!(names("Report routed to PCP. Note signed by the attending.").is_empty());
    }

    #[test]
    fn towns_by_their_context_and_state() {
        let text = "Daughter lives in Grand Rapids; son moved to Tucson, AZ. Born in Winston-Salem, North Carolina.";
        let mut found = Vec::new();
        Names::builtin().find(text, &mut found);
        found.sort_by_key(|f| f.start);
        let mut towns: Vec<&str> = found
            .iter()
            .filter(|f| f.kind == PhiKind::City)
            .map(|f| &text[f.start..f.end])
            .collect();
        towns.sort();
        towns.dedup();
        assert_eq!(towns, ["Grand Rapids", "Tucson", "Winston-Salem"]);
        let mut found = Vec::new();
        let text = "seen for Chest Pain, MI ruled out; lives in Assisted Living";
        Names::builtin().find(text, &mut found);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn census_first_names_with_the_word_after_them() {
        assert_eq!(names("Called Kathleen Ryan back."), ["Kathleen", "Ryan"]);
        assert_eq!(names("Spoke to patient; Brendan agrees."), ["Brendan"]);
        assert_eq!(names("Message left for J. Miller."), ["J. Miller"]);
        assert_eq!(
            names("Miller, Howard reviewed the film."),
            ["Miller, Howard"]
        );
    }

    #[test]
    fn eponyms_months_abbreviations_and_structure_are_no_names() {
        for text in [
            "History of Parkinson's disease and Crohn's.",
            "Foley catheter removed; Graves disease stable.",
            "Seen in the ED for an MI; PA and lateral films.",
            "Mother: Deceased. Father: Alive.",
            "Follow up in May. Will call with results.",
            "Apgar scores 8 and 9. Whipple procedure in 2019.",
            "Consult Cardiology; case discussed with Pharmacy.",
        ] {
            assert!(names(text).is_empty(), "{text}: {:?}", names(text));
        }
    }

    #[test]
    fn names_in_capitals_and_surnames_with_an_initial() {
        assert_eq!(
            names("PATIENT: WHITEHORSE, CLARENCE   MRN: 1"),
            ["WHITEHORSE, CLARENCE"]
        );
        assert_eq!(
            names("CAREGIVER: GRANDSON TYLER WHITEHORSE"),
            ["TYLER", "WHITEHORSE"]
        );
        assert_eq!(names("RE: Okonjo, Wendell  DOB"), ["Okonjo, Wendell"]);
        assert_eq!(names("who would help (Smith J, next door)"), ["Smith J"]);
        assert_eq!(names("Signed: A. Oyelaran-Diaz, MD"), ["A. Oyelaran-Diaz"]);
        assert_eq!(names("Seen today by Agnes M. for intake"), ["Agnes M."]);
        // capitals beyond ASCII, and an apostrophe inside them
        assert_eq!(names("Pt: QUIÑONES, ANSELMO (95)"), ["QUIÑONES, ANSELMO"]);
        assert_eq!(names("RE: O'BRIEN, MAURA"), ["O'BRIEN, MAURA"]);
        // a word that may be a name before its head, as in title case
        assert_eq!(names("Transfer to ÀRAMÓN CLINIC today"), ["ÀRAMÓN CLINIC"]);
        for text in [
            "ASA DAILY, TIA WORKUP, ANA POSITIVE",
            "HOME HEALTH SKILLED NURSING VISIT",
            "Vitamin D 1000 units; Hepatitis B vaccine",
        ] {
            assert!(names(text).is_empty(), "{text}: {:?}", names(text));
        }
    }

    #[test]
    fn a_letterhead_in_capitals_ends_in_its_institution() {
        for (text, want) in [
            (
                "ALLEGHENY HEIGHTS HOSPITAL - Care Management Dept., 6th fl",
                "ALLEGHENY HEIGHTS HOSPITAL",
            ),
            (
                "Fax\nLEEWARD KIDNEY CENTER – HEMODIALYSIS RECORD",
                "LEEWARD KIDNEY CENTER",
            ),
            ("BAYOU COUNTRY HOSPICE\nVisit note", "BAYOU COUNTRY HOSPICE"),
            // anywhere, where the run ends in its head and a word of it
            // may be a name, as in title case
            ("YARRA BEND PATHOLOGY · NATA", "YARRA BEND PATHOLOGY"),
            ("EEK CLINIC (village clinic)", "EEK CLINIC"),
            (
                "CLAY COUNTY REGIONAL MEDICAL CENTER - EMERGENCY",
                "CLAY COUNTY REGIONAL MEDICAL CENTER",
            ),
            (
                "FAX – NEW RIVER ORTHOPAEDICS, 310",
                "NEW RIVER ORTHOPAEDICS",
            ),
        ] {
            assert_eq!(names(text), [want], "{text}");
        }
        for text in [
            // a section's title, no institution last, or a service's
            // words before its head
            "HOME HEALTH START OF CARE - OASIS",
            "NON-EMERGENCY PATIENT TRANSPORT\n",
            "GENETIC COUNSELING; CHEMICAL PATHOLOGY; SPEECH-LANGUAGE PATHOLOGY",
            "SPECIAL NEEDS DENTISTRY\nBEREAVEMENT PROGRAM",
            // generic words alone, and a clinic named by its service
            "COMMUNITY HEALTH CENTER - intake",
            "CARDIOLOGY CLINIC - FOLLOW UP",
            // not alone on its line
            "TRANSFERRED FROM BAYOU COUNTRY HOSPICE TODAY",
        ] {
            assert!(names(text).is_empty(), "{text}: {:?}", names(text));
        }
    }

    #[test]
    fn a_neighbours_house_by_its_name_and_where_a_life_was_lived() {
        assert_eq!(
            names("his neighbour Tamsin Rowe from Chy-an-Dowr next door drives him"),
            ["Tamsin Rowe", "Chy-an-Dowr"]
        );
        assert_eq!(
            names("neighbour Mrs Gwenda Hughes at Ty'n Llan does her shopping"),
            ["Gwenda Hughes", "Ty'n Llan"]
        );
        assert_eq!(names("lived in the Holylands for 50 years"), ["Holylands"]);
        // a neighbour at no place with a name
        for text in ["the neighbour at the door", "neighbour in ED with her"] {
            assert!(names(text).is_empty(), "{text}: {:?}", names(text));
        }
    }

    #[test]
    fn towns_of_the_gazetteer_after_a_place_word() {
        let text = "She drove to Glasgow? No: to Knoxville, then near Owensboro and out of Nashville. History of Parkinson disease; in March; to Cardiology.";
        // Glasgow is on the not-names list (the coma scale), so not a town
        assert_eq!(towns(text), ["Knoxville", "Owensboro", "Nashville"]);
    }

    #[test]
    fn towns_of_the_gazetteer_before_a_place_of_care() {
        let text = "Seen at the Tulsa clinic, then the Hermantown office; the Memory clinic and the Union Pacific yard.";
        assert_eq!(towns(text), ["Tulsa", "Hermantown"]);
    }

    #[test]
    fn towns_no_gazetteer_has_after_in_near_or_from() {
        let text = "Rehab bed in Evarts - pt wants to go. Sister, 93, in Meadows of Dan; cousin near Wanblee. The family came from Birtamod. BP on a machine in Kahawa West.";
        assert_eq!(
            towns(text),
            [
                "Evarts",
                "Meadows of Dan",
                "Wanblee",
                "Birtamod",
                "Kahawa West"
            ]
        );
        for text in [
            "Answers in French, counselled in Malayalam.",
            "Brother killed in Korea in March 1951, never in Puerto Rico.",
            "Records in Epic; lot in MAR; placed in ED; independent in ADLs.",
            "Interviewed alone in Rm 318; mother is in Ward 6 South.",
            "Seen in Ward West; transferred in North Wing.",
            "Drain placed in Morison's pouch.",
            "A call from Sarah; flying in Tuesday.",
            "Aunt is in Tung Tau Care Home now.",
            "Ride from Trust-arranged taxi.",
            "Glucose [Mass/volume] in Serum or Plasma; Hemoglobin A1c/Hemoglobin.total in Blood",
            "Oxygen saturation in Arterial blood by Pulse oximetry",
        ] {
            assert!(towns(text).is_empty(), "{text}: {:?}", towns(text));
        }
    }

    #[test]
    fn parts_of_towns_by_the_word_that_names_them() {
        let text = "Lives in a flat in the Nowa Huta estate. Farm in the townland of Ballygrennan two miles out; she moved to the Ardmore neighbourhood; born in the village of Kilcummin; a lift in the Nowa Huta\nestate \"Centrum C\".";
        assert_eq!(
            towns(text),
            [
                "Nowa Huta",
                "Ballygrennan",
                "Ardmore",
                "Kilcummin",
                "Nowa Huta"
            ]
        );
        // an acronym, an organisation's word, a quarter of a year, a word
        // of the note before "of"; "the City of Hope" is a hospital
        for text in [
            "Seen in the ICU district; sales in the First quarter.",
            "Phoned the Medicaid district office; the Council estate.",
            "Transferred to City of Hope; the Story of Ruth was read.",
            "He is the Head of Nursing; the Department of Health.",
        ] {
            assert!(towns(text).is_empty(), "{text}: {:?}", towns(text));
        }
    }

    /// The towns `Names::find` finds in `text`, in order.
    fn towns(text: &str) -> Vec<&str> {
        let mut found = Vec::new();
        Names::builtin().find(text, &mut found);
        found.sort_by_key(|f| f.start);
        let mut towns: Vec<&str> = found
            .iter()
            .filter(|f| f.kind == PhiKind::City)
            .map(|f| &text[f.start..f.end])
            .collect();
        // two rules may find the same town
        towns.dedup();
        towns
    }

    #[test]
    fn counties_and_towns_beside_their_states_code() {
        for (text, want) in [
            ("Court, Washoe County, Dept. 7", vec!["Washoe County"]),
            (
                "PROBATE COURT OF CUYAHOGA COUNTY, OHIO",
                vec!["CUYAHOGA COUNTY"],
            ),
            (
                "Sanford USD Medical Center, Sioux Falls, SD (605",
                vec!["Sioux Falls"],
            ),
            ("Place: Independence, VA", vec!["Independence"]),
            ("Rt 2 Box 318, Seneca, MO 64865", vec!["Seneca"]),
            (
                "12-2 - daughter bernadette called from wilmington @ 302",
                vec!["wilmington"],
            ),
            ("he wants to go to mysuru for the wedding", vec!["mysuru"]),
        ] {
            assert_eq!(towns(text), want, "{text}");
        }
        // where a county's office or service ends (its start is the
        // county's, as `counties_and_states` finds it)
        for (text, want) in [
            (
                "Contact with Houston County Sheriff's Office, Inv. T. Kirkland",
                "Houston County Sheriff's Office",
            ),
            (
                "filed at Kern County Department of Human Services - pending",
                "Kern County Department of Human Services",
            ),
            (
                "Referral to Fond du Lac County ADRC + AODA",
                "Lac County ADRC",
            ),
            (
                "ST. LOUIS COUNTY MEDICAL EXAMINER'S OFFICE",
                "LOUIS COUNTY MEDICAL EXAMINER'S OFFICE",
            ),
        ] {
            let words = word_spans(text);
            let i = words
                .iter()
                .position(|(_, w)| w.eq_ignore_ascii_case("county"));
            let end = county_office(text, &words, i.unwrap());
            let start = text.find(want).unwrap();
            assert_eq!(end, Some(start + want.len()), "{text}");
        }
        // near misses: a comma, a small word, a state's code, the county
        // at the line's end, a joiner with nothing after it
        for text in [
            "Washoe County, NV",
            "in Kern County since 2001",
            "Marion County IA",
            "lives in Kern County",
            "Kern County and then",
        ] {
            let words = word_spans(text);
            let i = words.iter().position(|(_, w)| *w == "County");
            assert_eq!(county_office(text, &words, i.unwrap()), None, "{text}");
        }
        // near misses: a county of a determiner, a clinician's credential
        // and a state's licence after a comma, a state's code before a word
        for text in [
            "Per County policy; The County said",
            "Dr Smith, MD and Jones, PA",
            "Paramedic, MN lic. P-1",
            "Oxygen, NC at 2L",
            // words of the language that are towns too, small or short
            "went in early to check on her, back to normal",
            "lives in mobile home park; pain better from reading",
            "Belongings bagged: helmet given to warden. Collateral from warden",
        ] {
            assert!(towns(text).is_empty(), "{text}: {:?}", towns(text));
        }
    }

    #[test]
    fn firms_by_an_ampersand_between_their_words() {
        for (text, want) in [
            (
                "Pt works mornings at Sanchez Feed & Tack on E. Platte Ave",
                "Sanchez Feed & Tack",
            ),
            (
                "5. Work note x 2 wk to Hughes Auto & Diesel; FMLA",
                "Hughes Auto & Diesel",
            ),
            ("I will call LeBlanc & Sons and Dr Landry", "LeBlanc & Sons"),
        ] {
            assert!(names(text).contains(&want), "{text}: {:?}", names(text));
        }
        for text in [
            "Nausea & Vomiting improved.",
            "seen today for Pain & Anxiety, stable",
            "exam: Heart & Lungs clear",
        ] {
            assert!(names(text).is_empty(), "{text}: {:?}", names(text));
        }
    }

    #[test]
    fn organisations_by_their_head_word() {
        assert_eq!(
            names("Offloading shoe from Valley Orthotics; optometrist at Lowcountry Eye Care."),
            ["Valley Orthotics", "Lowcountry Eye Care"]
        );
        assert_eq!(
            names("Referrals to: Lambeth House; Poydras Home; St. Anna's Residence."),
            ["Lambeth House", "Poydras Home", "St. Anna's Residence"]
        );
        assert_eq!(
            names("He taught at Fenwick High School."),
            ["Fenwick High School"]
        );
        for text in [
            "Seen in Wound Care Clinic; Family Medicine follow-up.",
            "Discharged Home with Home Health Care.",
            "Heart Failure Clinic in 2 weeks. Cardiac Rehab.",
        ] {
            assert!(names(text).is_empty(), "{text}: {:?}", names(text));
        }
    }

    #[test]
    fn organisations_with_small_words_inside_a_sentence_and_firms_words() {
        for (text, want) in [
            (
                "drives them to church at Prince of Peace Catholic Church since",
                "Prince of Peace Catholic Church",
            ),
            (
                "her aide comes from Angels of Mercy Home Care; wife",
                "Angels of Mercy Home Care",
            ),
            (
                "referred to Sol del Valle Home Care (956-555-0165)",
                "Sol del Valle Home Care",
            ),
            (
                "with brother Curtis as Hagedorn Bros. Farms LLC. Works winters",
                "Hagedorn Bros. Farms LLC",
            ),
            (
                "Husband works 2nd shift at Lakeside Cheese Co-op; family",
                "Lakeside Cheese Co-op",
            ),
            (
                "direct deposit to Wiregrass Federal Credit Union acct",
                "Wiregrass Federal Credit Union",
            ),
        ] {
            assert!(names(text).contains(&want), "{text}: {:?}", names(text));
        }
        // a sentence's first words before the small word are its own, and
        // another thing's before "and"
        assert_eq!(
            names("Member of Mt. Zion AME since 1970."),
            ["Mt. Zion AME"]
        );
        assert_eq!(
            names("Daughter has Power of Attorney and Mercy Home Care."),
            ["Mercy Home Care"]
        );
    }

    #[test]
    fn a_place_after_at_inside_a_sentence() {
        for (text, want) in [
            ("Pt works part-time at Publix in Coral Gables.", "Publix"),
            (
                "INR was 2.6 at the Parkview anticoag clinic on 11/24.",
                "Parkview",
            ),
            (
                "sister died at 101 at Park Vista in Youngstown.",
                "Park Vista",
            ),
        ] {
            assert!(names(text).contains(&want), "{text}: {:?}", names(text));
        }
        // the sentence ends before the next one's first word and its
        // period, unless the period is an abbreviation's
        assert_eq!(
            names("picked up at Walgreens. Pharmacy called back."),
            ["Walgreens"]
        );
        assert_eq!(
            names("Last interrogation at Georgia Heart Rhythm Assoc."),
            ["Georgia Heart Rhythm Assoc."]
        );
        // an acronym, a feast, a time, a sentence's own "At"
        for text in [
            "2/6 murmur heard best at RUSB.",
            "plans to visit family at Christmas.",
            "seen at 0800 today.",
            "At Rest, no distress.",
        ] {
            assert!(names(text).is_empty(), "{text}: {:?}", names(text));
        }
    }

    #[test]
    fn a_messages_writer_after_its_last_word_or_a_dash() {
        for (text, want) in [
            ("el lunes lo llevo yo. gracias - mari\"", "mari"),
            ("agency nurse booked.\nDiolch — FJ\n", "FJ"),
            ("she wants the lady doctor. - G\"\nRouted", "G"),
            ("tyler@example.com. - T.S. 11/29/26\"", "T.S."),
            ("pt's note: \"vovó i'm sorry - andy\".", "andy"),
            ("12/5 - sat. covered by deshawn. she watched tv", "deshawn"),
        ] {
            assert_eq!(names(text), [want], "{text}");
        }
        // a grade, a word of the note, a verb after the thanks
        for text in [
            "Grade 2. - A\n",
            "Vitals stable. - OK\n",
            "thanks - will call back",
        ] {
            assert!(names(text).is_empty(), "{text}: {:?}", names(text));
        }
    }

    #[test]
    fn the_ascii_paths_read_as_the_unicode_ones() {
        let text = "Pt O'Connell-Smith, ED; Mary-Kate's x-ray -- 'quoted' ab- McDonald A";
        let unicode = |t: &str| -> Vec<(usize, String)> {
            // the same text made non-ASCII at its end, so the general path runs
            let t = format!("{t} é");
            let mut w: Vec<(usize, String)> = word_spans(&t)
                .into_iter()
                .map(|(i, w)| (i, w.to_string()))
                .collect();
            w.pop();
            w
        };
        let ascii: Vec<(usize, String)> = word_spans(text)
            .into_iter()
            .map(|(i, w)| (i, w.to_string()))
            .collect();
        assert_eq!(ascii, unicode(text));
        // texts of random letters, apostrophes, hyphens and others
        for text in byte_runs::random_texts(b"aZ-'- .9\n") {
            let ascii: Vec<(usize, String)> = word_spans(&text)
                .into_iter()
                .map(|(i, w)| (i, w.to_string()))
                .collect();
            assert_eq!(ascii, unicode(&text), "{text:?}");
        }
        for (_, w) in &ascii {
            let general = {
                let mut c = w.chars();
                c.next().is_some_and(char::is_uppercase)
                    && w.chars().count() >= 2
                    && w.chars().skip(1).any(char::is_lowercase)
            };
            assert_eq!(is_title_case(w), general, "{w}");
        }
        // words with other letters, where the first bytes do not settle it
        for w in [
            "Ólafur", "ÓLAFUR", "Añez", "AÑEZ", "Añ", "AÑ", "É", "Éa", "ÉA", "Łukasz", "aÑ", "A",
            "AB", "Ab", "", "ĲSSEL", "Ĳssel",
        ] {
            let mut c = w.chars();
            let general = c.next().is_some_and(char::is_uppercase)
                && w.chars().count() >= 2
                && w.chars().skip(1).any(char::is_lowercase);
            assert_eq!(is_title_case(w), general, "{w}");
        }
    }

    #[test]
    fn folding_drops_accents_and_keeps_offsets() {
        assert_eq!(fold_lower("Tomás Núñez-Ødegård"), "tomas nunez-odegard");
        let text = "Sr. José Müller";
        let (folded, at) = fold_with_offsets(text);
        let s = folded.find("muller").unwrap();
        let e = s + "muller".len();
        assert_eq!(&text[at[s]..at[e]], "Müller");
    }

    #[test]
    fn names_beside_their_relation_practices_compound_heads_and_letterheads() {
        // a listed first name that is a word too, where a relation names it
        assert_eq!(names("Her daughter Grace visited."), ["Grace"]);
        assert_eq!(names("Spoke with Bud (son) by phone."), ["Bud"]);
        assert_eq!(names("Dawn, her sister, brought clothes."), ["Dawn"]);
        assert_eq!(
            names("Faith and Hope (twin granddaughters) visited."),
            ["Faith and Hope"]
        );
        assert_eq!(names("Discussed with Summer (RN)."), ["Summer"]);
        assert_eq!(names("Case discussed w/ Moss, CNS."), ["Moss"]);
        assert_eq!(names("He told Hope: no more."), ["Hope"]);
        assert_eq!(
            names("her son Willem van 't Hof visits"),
            ["Willem van 't Hof"]
        );
        // practices by their specialty, compound heads, a lower-case head
        assert_eq!(
            names("PCP is at Foothills Internal Medicine in town."),
            ["Foothills Internal Medicine"]
        );
        assert_eq!(
            names("Seen at Bayshore Methodist ED last week."),
            ["Bayshore Methodist ED"]
        );
        assert_eq!(
            names("Seen at Hausarztpraxis Kreuzplatz today."),
            ["Hausarztpraxis Kreuzplatz"]
        );
        assert_eq!(
            names("She lives at Kroken sykehjem now."),
            ["Kroken sykehjem"]
        );
        // a letterhead's first word is the name's
        assert_eq!(
            names("Lakeshore Mercy Hospital, 4 East Neuro"),
            ["Lakeshore Mercy Hospital"]
        );
        // employers and the heads European names put first, with the
        // small words of their languages
        for (text, want) in [
            (
                "works nights at Green Mountain Stone Works in Barre",
                "Green Mountain Stone Works",
            ),
            (
                "a school secretary at Lyndhurst Elementary; can take",
                "Lyndhurst Elementary",
            ),
            (
                "He reports the pharmacy is Farmacia Nizza Millefonti and",
                "Farmacia Nizza Millefonti",
            ),
            (
                "Home care: Thuiszorg Stad en Ommeland, team Oost",
                "Thuiszorg Stad en Ommeland",
            ),
            (
                "GP informed: Lægerne i Bruuns Galleri, Dr",
                "Lægerne i Bruuns Galleri",
            ),
            (
                "Her GP is at Vårdcentralen Hjällbo (Dr",
                "Vårdcentralen Hjällbo",
            ),
        ] {
            assert_eq!(names(text), [want], "{text}");
        }
        // a wrapped line between the place word and the town
        assert_eq!(towns("Daughter lives in\nHolywood, Co. Down"), ["Holywood"]);
        for text in [
            "Hypertension (father), diabetes (mother)",
            "Parkinson's (father) and Crohn's (sister)",
            "Family Medicine follow-up in 2 weeks",
            "Continue Physical Therapy, 2x/week",
            "Die Hausarztpraxis ist zu.",
            "Patient states pain 6/10; Family reports confusion.",
            "Wound Care Clinic",
            "Continue Home Care en route",
        ] {
            assert!(names(text).is_empty(), "{text}: {:?}", names(text));
        }
    }

    #[test]
    fn world_names_titles_closings_and_towns_with_small_words() {
        assert_eq!(names("Her daughter Marieke visited."), ["Marieke"]);
        assert_eq!(names("Ayaan called back."), ["Ayaan"]);
        assert_eq!(names("Can you call? Will do."), Vec::<&str>::new());
        assert_eq!(
            names("Re: mevrouw H. van der Bijl-Oosterhout"),
            ["H. van der Bijl-Oosterhout"]
        );
        assert_eq!(
            names("Odontóloga: Dra. Lucía Benavente Oria, col."),
            ["Lucía Benavente Oria"]
        );
        assert_eq!(names("Pastor Rev. Cumberbatch spoke"), ["Cumberbatch"]);
        assert_eq!(
            names("Mit freundlichen Grüßen,\nG. Pammer-Novak"),
            ["G. Pammer-Novak"]
        );
        assert_eq!(names("Kind regards, Anita Shah"), ["Anita Shah"]);
        assert_eq!(names("Cb in the pm. —LM"), ["LM"]);
        assert_eq!(names("In regards to Foley removal."), Vec::<&str>::new());
        assert!(
            towns("daughter lives in Casalecchio di Reno; son").contains(&"Casalecchio di Reno")
        );
        assert!(towns("Born in Arcos de Valdevez; widowed").contains(&"Arcos de Valdevez"));
        assert_eq!(towns("in Boston on Monday"), ["Boston"]);
        assert_eq!(towns("her village, Igbeti, at"), ["Igbeti"]);
        assert_eq!(towns("her daughter in Ōamaru rang"), ["Ōamaru"]);
        assert_eq!(towns("moved to Two Harbors last year"), ["Two Harbors"]);
    }
}
