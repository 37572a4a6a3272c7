//! Company names: normalisation keys and similarity for the company-dedupe suggestions.
//!
//! A name's key folds case and accents, turns `&` into "and", drops punctuation, a leading "The"
//! and trailing legal-form words (a table, [`LEGAL_FORMS`]), and joins spelled-out initials
//! ("L.L.C." → "llc"). Similarity mixes Jaro-Winkler on the whole key with a token overlap in which
//! generic words ([`GENERIC_WORDS`]) count for little, so that two firms sharing "Financial
//! Services" do not look alike.

use unicode_normalization::UnicodeNormalization;

/// Legal-form words removed from the end of a name (after punctuation is dropped).
pub const LEGAL_FORMS: &[&str] = &[
    "inc",
    "incorporated",
    "llc",
    "corp",
    "corporation",
    "co",
    "company",
    "ltd",
    "limited",
    "lp",
    "llp",
    "pllc",
    "plc",
    "pc",
    "pa",
    "lc",
    "gmbh",
    "ag",
    "sa",
    "nv",
    "bv",
];

/// Words that say little about which firm is meant; they weigh [`GENERIC_WEIGHT`] in the overlap.
pub const GENERIC_WORDS: &[&str] = &[
    "and",
    "of",
    "services",
    "service",
    "group",
    "solutions",
    "financial",
    "consulting",
    "consultants",
    "systems",
    "technologies",
    "technology",
    "international",
    "global",
    "holdings",
    "partners",
    "associates",
    "management",
    "enterprises",
    "industries",
    "national",
    "american",
    "united",
    "bank",
    "supply",
    "products",
    "resources",
    "office",
    "business",
    "government",
    "public",
    "network",
    "networks",
    "solution",
    "usa",
    "us",
    "america",
];

/// Weight of a generic word (other words weigh 1).
pub const GENERIC_WEIGHT: f64 = 0.15;

/// A name's normalised form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameKey {
    /// Normalised tokens joined by single spaces: equal keys mean "the same company name".
    pub key: String,
    /// The tokens.
    pub tokens: Vec<String>,
    /// Whether each token is a generic word ([`GENERIC_WORDS`]), looked up once here rather than
    /// for every comparison (that lookup was a seventh of the suggestions' time).
    generic: Vec<bool>,
}

/// The key of `name`; `None` for a blank name (or one made only of punctuation and legal forms).
pub fn normalise(name: &str) -> Option<NameKey> {
    let folded: String = name
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect();
    let mut spaced = String::with_capacity(folded.len() + 8);
    for c in folded.chars() {
        match c {
            '&' | '+' => spaced.push_str(" and "),
            '\'' | '’' | '`' => {}
            c if c.is_alphanumeric() => spaced.push(c),
            _ => spaced.push(' '),
        }
    }
    // Join runs of single letters: "l l c" -> "llc", "a b c" -> "abc".
    let mut tokens: Vec<String> = Vec::new();
    let mut initials = String::new();
    for word in spaced.split_whitespace() {
        if word.chars().count() == 1 && word.chars().all(char::is_alphabetic) {
            initials.push_str(word);
            continue;
        }
        if !initials.is_empty() {
            tokens.push(std::mem::take(&mut initials));
        }
        tokens.push(word.to_owned());
    }
    if !initials.is_empty() {
        tokens.push(initials);
    }
    if tokens.len() > 1 && tokens[0] == "the" {
        tokens.remove(0);
    }
    while tokens.len() > 1 && tokens.last().is_some_and(|t| LEGAL_FORMS.contains(&t.as_str())) {
        tokens.pop();
    }
    if tokens.is_empty() || (tokens.len() == 1 && LEGAL_FORMS.contains(&tokens[0].as_str())) {
        return None;
    }
    let generic = tokens.iter().map(|t| GENERIC_WORDS.contains(&t.as_str())).collect();
    Some(NameKey { key: tokens.join(" "), tokens, generic })
}

fn weight(generic: bool) -> f64 {
    if generic { GENERIC_WEIGHT } else { 1.0 }
}

/// Share of `a`'s token weight found in `b` (a token matches its most similar token of `b` when
/// their Jaro-Winkler similarity is at least 0.9, counted at that similarity), and the same of
/// `b` in `a`: the smaller of the two. One table of token similarities serves both directions
/// (Jaro-Winkler is symmetric). An equal token is a similarity of 1 without computing it; a pair
/// of ASCII tokens one more than twice as long as the other is skipped, since their similarity
/// cannot reach 0.9 (Jaro ≤ (2 + short/long) / 3 < 5/6, so with the largest prefix bonus
/// Jaro-Winkler ≤ 0.6·Jaro + 0.4 < 0.9), so it could only count as 0 anyway.
fn mutual_cover(a_key: &NameKey, b_key: &NameKey) -> f64 {
    let (a, b) = (&a_key.tokens, &b_key.tokens);
    const INLINE: usize = 16;
    let (mut inline_a, mut inline_b) = ([0.0f64; INLINE], [0.0f64; INLINE]);
    let (mut heap_a, mut heap_b) = (Vec::new(), Vec::new());
    let (best_a, best_b): (&mut [f64], &mut [f64]) = if a.len() <= INLINE && b.len() <= INLINE {
        (&mut inline_a[..a.len()], &mut inline_b[..b.len()])
    } else {
        heap_a.resize(a.len(), 0.0);
        heap_b.resize(b.len(), 0.0);
        (&mut heap_a, &mut heap_b)
    };
    for (i, t) in a.iter().enumerate() {
        for (j, u) in b.iter().enumerate() {
            let s = if t == u {
                1.0
            } else if t.is_ascii() && u.is_ascii() && (2 * t.len() < u.len() || 2 * u.len() < t.len()) {
                continue;
            } else {
                crate::jaro::jaro_winkler(t, u)
            };
            best_a[i] = best_a[i].max(s);
            best_b[j] = best_b[j].max(s);
        }
    }
    share(&a_key.generic, best_a).min(share(&b_key.generic, best_b))
}

/// The share of the tokens' weight matched, given whether each is generic and its best similarity.
fn share(generic: &[bool], best: &[f64]) -> f64 {
    let total: f64 = generic.iter().map(|&g| weight(g)).sum();
    if total == 0.0 {
        return 0.0;
    }
    let found: f64 = generic.iter().zip(best).map(|(&g, &b)| if b >= 0.9 { b * weight(g) } else { 0.0 }).sum();
    found / total
}

/// Similarity of two keys in 0..=1: 1 for equal keys.
pub fn similarity(a: &NameKey, b: &NameKey) -> f64 {
    if a.key == b.key {
        return 1.0;
    }
    let whole = crate::jaro::jaro_winkler(&a.key, &b.key);
    0.3 * whole + 0.7 * mutual_cover(a, b)
}

/// A proposed clean name.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// The reviewed clean name proposed.
    pub clean: String,
    /// Similarity in 0..=1.
    pub score: f64,
    /// The keys are equal, or reviewers gave this clean name to this key: the strongest evidence
    /// for an automatic approval.
    pub exact_key: bool,
    /// No key is equal, and this clean name's key is one typing slip from the name's
    /// ([`crate::typo::one_slip`]) while no other candidate's is: the second evidence an
    /// automatic approval may accept. "Candidates" are the clean names compared: all of them in
    /// [`suggest`], the shortlist (the 25 most alike by trigrams) in [`CandidateIndex`]; the keys
    /// of reviewed original names are not compared for slips.
    pub one_slip: bool,
}

/// Keeps `one_slip` (set on every candidate one slip away) only where it is the single one and no
/// key is equal.
fn keep_single_slip(scored: &mut [Suggestion]) {
    let slips = scored.iter().filter(|s| s.one_slip).count();
    if slips > 1 || scored.iter().any(|s| s.exact_key) {
        scored.iter_mut().for_each(|s| s.one_slip = false);
    }
}

/// The best `n` suggestions for `name` among `candidates` (clean name, its key), best first.
pub fn suggest(name: &NameKey, candidates: &[(String, NameKey)], n: usize) -> Vec<Suggestion> {
    let mut scored: Vec<Suggestion> = candidates
        .iter()
        .map(|(clean, key)| Suggestion {
            clean: clean.clone(),
            score: similarity(name, key),
            exact_key: key.key == name.key,
            one_slip: crate::typo::one_slip(&name.key, &key.key),
        })
        .collect();
    keep_single_slip(&mut scored);
    scored.sort_by(|x, y| y.score.total_cmp(&x.score).then_with(|| x.clean.cmp(&y.clean)));
    scored.truncate(n);
    scored
}

/// Reviewed clean names indexed for suggestion: exact keys in a hash map, and trigrams of the keys
/// to pick a few candidates before scoring (so a name is scored against dozens of clean names, not
/// thousands). Reviewed decisions teach it: the key of a reviewed original name leads to the clean
/// name it was given (see [`CandidateIndex::with_reviews`]).
#[derive(Debug, Clone, Default)]
pub struct CandidateIndex {
    names: Vec<(String, NameKey)>,
    by_key: std::collections::HashMap<String, usize>,
    grams: std::collections::HashMap<[char; 3], Vec<u32>>,
    /// Word spellings learned from reviews ("svcs" → "services"); `None` when reviews disagree.
    words: std::collections::HashMap<String, Option<String>>,
}

/// Candidates scored per name.
const SHORTLIST: usize = 25;

/// Trigram postings counted per name, at most (beyond the rarest [`MIN_GRAMS`] trigrams).
const POSTINGS_BUDGET: usize = 3_000;

/// Trigrams always counted, however common.
const MIN_GRAMS: usize = 4;

fn trigrams(key: &str) -> Vec<[char; 3]> {
    let padded: Vec<char> = format!("  {key} ").chars().collect();
    let mut grams: Vec<[char; 3]> = padded.windows(3).map(|w| [w[0], w[1], w[2]]).collect();
    grams.sort_unstable();
    grams.dedup();
    grams
}

impl CandidateIndex {
    /// Indexes `clean_names` (blank ones are skipped; the first of equal keys wins).
    pub fn new<I: IntoIterator<Item = String>>(clean_names: I) -> CandidateIndex {
        let mut index = CandidateIndex::default();
        for clean in clean_names {
            let Some(key) = normalise(&clean) else { continue };
            if index.by_key.contains_key(&key.key) {
                continue;
            }
            let i = index.names.len();
            for g in trigrams(&key.key) {
                index.grams.entry(g).or_default().push(i as u32);
            }
            index.by_key.insert(key.key.clone(), i);
            index.names.push((clean, key));
        }
        index
    }

    /// Indexes `clean_names`, then learns from reviewed decisions `(original name, clean name)`:
    /// a later name whose key equals a reviewed original's key is an exact match for that
    /// original's clean name. A clean name's own key is never taken over by a decision, and of
    /// two decisions for one key the first wins (give them in a stable order).
    pub fn with_reviews<I, R>(clean_names: I, reviews: R) -> CandidateIndex
    where
        I: IntoIterator<Item = String>,
        R: IntoIterator<Item = (String, String)>,
    {
        let mut index = CandidateIndex::new(clean_names);
        for (original, clean) in reviews {
            let (Some(from), Some(to)) = (normalise(&original), normalise(&clean)) else { continue };
            if index.by_key.contains_key(&from.key) {
                continue;
            }
            let target = match index.by_key.get(&to.key) {
                Some(&i) => i,
                None => {
                    let i = index.names.len();
                    for g in trigrams(&to.key) {
                        index.grams.entry(g).or_default().push(i as u32);
                    }
                    index.by_key.insert(to.key.clone(), i);
                    index.names.push((clean, to));
                    i
                }
            };
            index.learn_word(&from, &index.names[target].1.clone());
            index.by_key.insert(from.key, target);
        }
        index
    }

    /// Learns a word's spelling from a decision whose original differs from its clean name in
    /// exactly one word ("Apex Financial Svcs" → "Apex Financial Services": `svcs` is
    /// `services`). A word reviews spelled two ways is not used.
    fn learn_word(&mut self, from: &NameKey, to: &NameKey) {
        if from.tokens.len() != to.tokens.len() {
            return;
        }
        let mut differ = from.tokens.iter().zip(&to.tokens).filter(|(a, b)| a != b);
        let (Some((a, b)), None) = (differ.next(), differ.next()) else { return };
        let entry = self.words.entry(a.clone()).or_insert_with(|| Some(b.clone()));
        if entry.as_deref() != Some(b.as_str()) {
            *entry = None;
        }
    }

    /// The clean name a key leads to: its own, a reviewed original's, or (with the words
    /// reviews taught respelled) one of those.
    fn settled(&self, name: &NameKey) -> Option<usize> {
        if let Some(&i) = self.by_key.get(&name.key) {
            return Some(i);
        }
        if self.words.is_empty() {
            return None;
        }
        let mut changed = false;
        let respelled: Vec<&str> = name
            .tokens
            .iter()
            .map(|t| match self.words.get(t) {
                Some(Some(w)) => {
                    changed = true;
                    w.as_str()
                }
                _ => t.as_str(),
            })
            .collect();
        if !changed {
            return None;
        }
        self.by_key.get(&respelled.join(" ")).copied()
    }

    /// Number of distinct clean names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no clean name is indexed.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The best `n` suggestions for `name`, best first; an equal key always comes first.
    pub fn suggest(&self, name: &NameKey, n: usize) -> Vec<Suggestion> {
        self.suggest_counting(name, n, &mut vec![0u16; self.names.len()])
    }

    /// [`suggest`](Self::suggest) for many names at once, in input order (`None` in, nothing
    /// out), spread over the machine's cores: each thread takes a contiguous share and reuses
    /// one counter array for all its names.
    pub fn suggest_all(&self, names: &[Option<NameKey>], n: usize) -> Vec<Vec<Suggestion>> {
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
        // Below a few hundred names a thread costs more than it saves.
        let chunk = names.len().div_ceil(threads).max(256);
        let run = |part: &[Option<NameKey>]| {
            let mut counts = vec![0u16; self.names.len()];
            part.iter()
                .map(|k| k.as_ref().map(|k| self.suggest_counting(k, n, &mut counts)).unwrap_or_default())
                .collect::<Vec<_>>()
        };
        if names.len() <= chunk {
            return run(names);
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = names.chunks(chunk).map(|part| scope.spawn(move || run(part))).collect();
            handles.into_iter().flat_map(|h| h.join().expect("a suggestion thread panicked")).collect()
        })
    }

    /// [`suggest`](Self::suggest) with a counter array of one slot per clean name, all zero,
    /// which is left all zero again.
    fn suggest_counting(&self, name: &NameKey, n: usize, counts: &mut [u16]) -> Vec<Suggestion> {
        // Dense counters: one slot per clean name, only the touched ones are read back.
        let mut touched: Vec<u32> = Vec::new();
        // The rarest trigrams first, and the common ones ("ser", "ion") only while the budget
        // lasts: they say little about which name it is, and cost the most to count.
        let mut postings: Vec<&[u32]> =
            trigrams(&name.key).iter().filter_map(|g| self.grams.get(g).map(Vec::as_slice)).collect();
        postings.sort_by_key(|p| p.len());
        let mut budget = POSTINGS_BUDGET;
        for (i, list) in postings.into_iter().enumerate() {
            if i >= MIN_GRAMS && list.len() > budget {
                break;
            }
            budget = budget.saturating_sub(list.len());
            for &id in list {
                let c = &mut counts[id as usize];
                if *c == 0 {
                    touched.push(id);
                }
                *c = c.saturating_add(1);
            }
        }
        let mut shortlist: Vec<(u32, u16)> =
            touched.iter().map(|&id| (id, std::mem::take(&mut counts[id as usize]))).collect();
        let by_count = |a: &(u32, u16), b: &(u32, u16)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
        if shortlist.len() > SHORTLIST {
            shortlist.select_nth_unstable_by(SHORTLIST, by_count);
            shortlist.truncate(SHORTLIST);
        }
        let exact = self.settled(name);
        if let Some(exact) = exact
            && !shortlist.iter().any(|(id, _)| *id as usize == exact)
        {
            shortlist.push((exact as u32, 0));
        }
        let mut scored: Vec<Suggestion> = shortlist
            .iter()
            .map(|(id, _)| {
                let (clean, key) = &self.names[*id as usize];
                // Equal keys, or a key reviewers already gave this clean name.
                let settled = exact == Some(*id as usize);
                let score = if settled { 1.0 } else { similarity(name, key) };
                let one_slip = !settled && crate::typo::one_slip(&name.key, &key.key);
                Suggestion { clean: clean.clone(), score, exact_key: settled, one_slip }
            })
            .collect();
        keep_single_slip(&mut scored);
        scored.sort_by(|x, y| {
            y.exact_key.cmp(&x.exact_key).then(y.score.total_cmp(&x.score)).then_with(|| x.clean.cmp(&y.clean))
        });
        scored.truncate(n);
        scored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> String {
        normalise(s).map(|k| k.key).unwrap_or_default()
    }

    /// The similarity as first written: both directions computed apart, with strsim.
    fn reference_similarity(a: &NameKey, b: &NameKey) -> f64 {
        fn ref_weight(token: &str) -> f64 {
            if GENERIC_WORDS.contains(&token) { GENERIC_WEIGHT } else { 1.0 }
        }
        fn covered(a: &[String], b: &[String]) -> f64 {
            let total: f64 = a.iter().map(|t| ref_weight(t)).sum();
            if total == 0.0 {
                return 0.0;
            }
            let found: f64 = a
                .iter()
                .map(|t| {
                    let best = b.iter().map(|u| strsim::jaro_winkler(t, u)).fold(0.0, f64::max);
                    if best >= 0.9 { best * ref_weight(t) } else { 0.0 }
                })
                .sum();
            found / total
        }
        if a.key == b.key {
            return 1.0;
        }
        let whole = strsim::jaro_winkler(&a.key, &b.key);
        0.3 * whole + 0.7 * covered(&a.tokens, &b.tokens).min(covered(&b.tokens, &a.tokens))
    }

    #[test]
    fn similarity_equals_the_reference_to_the_bit() {
        let words = [
            "acme",
            "acmee",
            "acm",
            "holdings",
            "holding",
            "group",
            "grp",
            "services",
            "svcs",
            "co",
            "company",
            "international",
            "intl",
            "north",
            "nort",
            "star",
            "stark",
            "stack",
            "zürich",
            "zurich",
            "a",
            "bb",
            "technologies",
            "tech",
            "partners",
            "partner",
            "global",
            "logistics",
            "logistic",
            "and",
        ];
        let mut rng = fastrand::Rng::with_seed(3);
        let name = |rng: &mut fastrand::Rng| {
            let most = if rng.u8(..10) == 0 { 20 } else { 5 };
            let n = rng.usize(1..=most);
            let words: Vec<&str> = (0..n).map(|_| words[rng.usize(..words.len())]).collect();
            normalise(&words.join(" "))
        };
        for _ in 0..50_000 {
            let (Some(a), Some(b)) = (name(&mut rng), name(&mut rng)) else { continue };
            assert_eq!(similarity(&a, &b).to_bits(), reference_similarity(&a, &b).to_bits(), "{} | {}", a.key, b.key);
        }
    }

    #[test]
    fn suggestions_for_many_names_at_once_equal_one_by_one() {
        let clean: Vec<String> = (0..2_000).map(|i| format!("Company {i} Holdings")).collect();
        let index = CandidateIndex::new(clean);
        let names: Vec<Option<NameKey>> = (0..1_500)
            .map(|i| if i % 100 == 7 { None } else { normalise(&format!("Compny {} Holding", i * 7 % 2_000)) })
            .collect();
        let all = index.suggest_all(&names, 3);
        assert_eq!(all.len(), names.len());
        for (name, got) in names.iter().zip(&all) {
            let one = name.as_ref().map(|k| index.suggest(k, 3)).unwrap_or_default();
            assert_eq!(got, &one, "{name:?}");
        }
        assert!(all[7].is_empty() && !all[8].is_empty());
    }

    #[test]
    fn common_trigrams_past_the_budget_do_not_hide_the_right_name() {
        // Thousands of names share "services" (and its trigrams); the typo is found by its rare ones.
        let mut names: Vec<String> = (0..5_000).map(|i| format!("Alpha{i} Services")).collect();
        names.push("Quixotic Services".into());
        let index = CandidateIndex::new(names);
        let best = index.suggest(&normalise("Quixotc Services").unwrap(), 1).remove(0);
        assert_eq!(best.clean, "Quixotic Services");
        assert!(!best.exact_key);
    }

    #[test]
    fn reviewed_decisions_teach_the_index() {
        let index = CandidateIndex::with_reviews(
            ["International Business Machines".to_owned(), "Acme".to_owned()],
            [
                ("I.B.M. Corp".to_owned(), "International Business Machines".to_owned()),
                ("Acme Holdings".to_owned(), "Acme".to_owned()),
                // A clean name's own key is never taken over; the first decision of a key wins.
                ("Acme Inc".to_owned(), "International Business Machines".to_owned()),
                ("IBM".to_owned(), "Acme".to_owned()),
                ("Globex Intl".to_owned(), "Globex".to_owned()),
            ],
        );
        let best = |s: &str| index.suggest(&normalise(s).unwrap(), 1).remove(0);
        let ibm = best("IBM Corporation");
        assert_eq!((ibm.clean.as_str(), ibm.exact_key, ibm.score), ("International Business Machines", true, 1.0));
        assert!(best("ACME HOLDINGS").exact_key && best("ACME HOLDINGS").clean == "Acme");
        assert_eq!(best("Acme, Inc.").clean, "Acme");
        assert_eq!(best("Globex Intl.").clean, "Globex", "a decision's clean name is indexed too");
        assert!(!best("Initech").exact_key, "an unknown key is only a suggestion");
        // One word differed in a decision: that spelling is learned for other names too.
        let taught = CandidateIndex::with_reviews(
            [
                "Apex Financial Services".to_owned(),
                "Summit Financial Services".to_owned(),
                "Stark Industries".to_owned(),
            ],
            [
                ("Apex Financial Svcs".to_owned(), "Apex Financial Services".to_owned()),
                ("Stark Ind".to_owned(), "Stark Industries".to_owned()),
                ("Stark Indy".to_owned(), "Stark Industries".to_owned()),
            ],
        );
        let first = |s: &str| taught.suggest(&normalise(s).unwrap(), 1).remove(0);
        let summit = first("Summit Financial Svcs.");
        assert_eq!((summit.clean.as_str(), summit.exact_key), ("Summit Financial Services", true));
        assert!(!first("Summit Financial Grp").exact_key, "a word never reviewed is not guessed");
    }

    #[test]
    fn the_seeded_acme_spellings_share_one_key() {
        for v in ["Acme Inc", "Acme, Inc.", "ACME INC", "Acme Inc ", "The Acme Company", "Acme L.L.C.", "Ácme Inc."] {
            assert_eq!(key(v), "acme", "{v}");
        }
        assert_eq!(key("Acme Corporation"), "acme");
        assert_eq!(key("Smith & Wesson"), key("Smith and Wesson"));
        assert_eq!(key("McDonald's Corp."), "mcdonalds");
        assert_eq!(key("A.B.C. Supply Co."), "abc supply");
        assert_eq!(normalise("   "), None);
        assert_eq!(normalise("Inc."), None);
        assert_eq!(key("The Company Store"), "company store", "a legal form inside the name stays");
    }

    #[test]
    fn generic_words_count_for_little() {
        let a = normalise("Summit Financial Services Group").unwrap();
        let same = normalise("Summit Financial Svcs Group").unwrap();
        let other = normalise("Apex Financial Services Group").unwrap();
        assert!(similarity(&a, &same) > similarity(&a, &other));
        assert!(similarity(&a, &other) < 0.6, "{}", similarity(&a, &other));
    }

    #[test]
    fn suggestions_are_ranked_and_flag_exact_keys() {
        let cands: Vec<(String, NameKey)> =
            ["Acme", "Globex", "Initech"].iter().map(|c| (c.to_string(), normalise(c).unwrap())).collect();
        let s = suggest(&normalise("ACME, INC.").unwrap(), &cands, 2);
        assert_eq!(s[0].clean, "Acme");
        assert!(s[0].exact_key && s[0].score == 1.0);
        assert_eq!(s.len(), 2);
        let typo = suggest(&normalise("Globx LLC").unwrap(), &cands, 1);
        assert_eq!(typo[0].clean, "Globex");
        assert!(!typo[0].exact_key);
        assert!(!typo[0].one_slip, "a five-letter key is never a slip");
        let slip = suggest(&normalise("Initeck").unwrap(), &cands, 3);
        assert!(slip[0].clean == "Initech" && slip[0].one_slip && !slip[0].exact_key);
        assert!(slip[1..].iter().all(|s| !s.one_slip));
        let near: Vec<(String, NameKey)> =
            ["Initech", "Initeck"].iter().map(|c| (c.to_string(), normalise(c).unwrap())).collect();
        let equal = suggest(&normalise("Initech Inc").unwrap(), &near, 2);
        assert!(equal[0].exact_key && equal[1].clean == "Initeck");
        assert!(!equal.iter().any(|s| s.one_slip), "an equal key leaves no room for a slip");
        let two = suggest(&normalise("Initecj").unwrap(), &near, 2);
        assert!(two.iter().all(|s| !s.one_slip && !s.exact_key), "one slip from both: neither");
    }

    #[test]
    fn the_index_agrees_with_exhaustive_scoring() {
        let clean: Vec<String> =
            ["Acme", "Globex", "Initech", "Acme Financial Services", "Apex Financial Services", "Initech"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let index = CandidateIndex::new(clean.clone());
        assert_eq!(index.len(), 5, "equal keys are indexed once");
        let all: Vec<(String, NameKey)> = clean.iter().map(|c| (c.clone(), normalise(c).unwrap())).collect();
        for q in ["ACME INC", "Acme Finacial Svcs", "Initek", "Globex Corporation", "Apex Financial"] {
            let key = normalise(q).unwrap();
            assert_eq!(index.suggest(&key, 1)[0].clean, suggest(&key, &all, 1)[0].clean, "{q}");
        }
        assert!(index.suggest(&normalise("zzzz").unwrap(), 3).is_empty(), "no shared trigram, no suggestion");
    }
}
