//! One typing slip between two keys: the evidence, short of equal keys, for approving a company
//! name automatically.
//!
//! "One slip" is an optimal-string-alignment distance of 1: one character inserted, dropped or
//! replaced, or two neighbouring characters swapped ("Internatonal", "Capitol", "Northwind" /
//! "North Wind"). Short keys are left out: among five-letter names one slip is as often another
//! company ("Stark" / "Stack") as a typo. The cut-off follows the search engines' typo tolerance
//! (Meilisearch allows one typo from 5 characters, Typesense and Algolia from 4); here it is
//! stricter, because an approval is not a search result a person looks at.

/// Keys shorter than this (in characters) are never one slip from anything.
pub const MIN_LEN: usize = 6;

/// Whether `a` and `b` differ by exactly one slip, both being at least [`MIN_LEN`] characters.
pub fn one_slip(a: &str, b: &str) -> bool {
    // Cheap refusals first (this runs for every candidate of every name): a slip changes the
    // length by one character, at most 4 bytes, and a key has at least as many bytes as characters.
    if a.len().abs_diff(b.len()) > 4 || a.len().min(b.len()) < MIN_LEN {
        return false;
    }
    if a.is_ascii() && b.is_ascii() {
        return apart(a.as_bytes(), b.as_bytes());
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    apart(&a, &b)
}

fn apart<T: Eq>(a: &[T], b: &[T]) -> bool {
    if a.len().min(b.len()) < MIN_LEN || a.len().abs_diff(b.len()) > 1 || a == b {
        return false;
    }
    let i = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    match a.len().cmp(&b.len()) {
        std::cmp::Ordering::Greater => a[i + 1..] == b[i..],
        std::cmp::Ordering::Less => a[i..] == b[i + 1..],
        std::cmp::Ordering::Equal => {
            a[i + 1..] == b[i + 1..]
                || (i + 1 < a.len() && a[i] == b[i + 1] && a[i + 1] == b[i] && a[i + 2..] == b[i + 2..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_slip_counts_once() {
        assert!(one_slip("shi internatonal", "shi international"), "dropped");
        assert!(one_slip("massive dynamics", "massive dynamic"), "added");
        assert!(one_slip("capitol office", "capital office"), "replaced");
        assert!(one_slip("tialspin toys", "tailspin toys"), "swapped");
        assert!(one_slip("north wind traders", "northwind traders"), "a space is a character");
        assert!(one_slip("litwarex", "litware"), "at the end");
        assert!(one_slip("xlitware", "litware"), "at the start");
        assert!(one_slip("zürich versicherung", "zurich versicherung"), "non-ASCII");
    }

    #[test]
    fn two_slips_equal_keys_and_short_keys_do_not() {
        assert!(!one_slip("summit consulting grp", "summit consulting group"), "two letters");
        assert!(!one_slip("tailpsin toys", "tailspin tyos"), "two swaps");
        assert!(!one_slip("abcdef", "badcfe"));
        assert!(!one_slip("litware", "litware"), "equal keys are not a slip");
        assert!(!one_slip("stark", "stack"), "five letters");
        assert!(!one_slip("tyell", "tyrell"), "the shorter has five letters");
        assert!(!one_slip("initech", "initech systems"));
        assert!(!one_slip("", "a"));
    }

    /// The direct check agrees with the textbook dynamic programme on random short strings over a
    /// small alphabet (where slips of every kind are common).
    #[test]
    fn agrees_with_the_optimal_string_alignment_distance() {
        fn osa(a: &[u8], b: &[u8]) -> usize {
            let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
            for (i, row) in d.iter_mut().enumerate() {
                row[0] = i;
            }
            for (j, cell) in d[0].iter_mut().enumerate() {
                *cell = j;
            }
            for i in 1..=a.len() {
                for j in 1..=b.len() {
                    let cost = usize::from(a[i - 1] != b[j - 1]);
                    d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
                    if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                        d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                    }
                }
            }
            d[a.len()][b.len()]
        }
        let mut rng = fastrand::Rng::with_seed(7);
        let word = |rng: &mut fastrand::Rng| -> String {
            let len = rng.usize(4..10);
            (0..len).map(|_| *rng.choice(b"abc ").unwrap() as char).collect()
        };
        let mut slips = 0;
        for _ in 0..200_000 {
            let a = word(&mut rng);
            // Half the pairs are a slip or two from `a`, the rest unrelated.
            let b = if rng.bool() {
                let mut b: Vec<u8> = a.clone().into_bytes();
                for _ in 0..rng.usize(1..3) {
                    match rng.u8(0..4) {
                        0 if !b.is_empty() => drop(b.remove(rng.usize(..b.len()))),
                        1 => b.insert(rng.usize(..=b.len()), *rng.choice(b"abc ").unwrap()),
                        2 if !b.is_empty() => {
                            let i = rng.usize(..b.len());
                            b[i] = *rng.choice(b"abc ").unwrap();
                        }
                        _ if b.len() > 1 => {
                            let i = rng.usize(..b.len() - 1);
                            b.swap(i, i + 1);
                        }
                        _ => {}
                    }
                }
                String::from_utf8(b).unwrap()
            } else {
                word(&mut rng)
            };
            let expected = a.len().min(b.len()) >= MIN_LEN && osa(a.as_bytes(), b.as_bytes()) == 1;
            assert_eq!(one_slip(&a, &b), expected, "{a:?} / {b:?}");
            slips += usize::from(expected);
        }
        assert!(slips > 10_000, "the pairs exercise the slips ({slips})");
    }
}
