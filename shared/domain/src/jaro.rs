//! Jaro-Winkler similarity, equal to `strsim::jaro_winkler` to the bit, with a fast path for the
//! common case of company names: ASCII strings of at most 64 bytes are compared as bytes, with the
//! match flags and each byte's positions in `u64` bit sets instead of a heap-allocated vector and
//! a scan of the window for every character. Anything else goes to `strsim`. The algorithm is strsim's own (greedy matching within the window, transpositions
//! counted in order), so results never differ; a test checks that on random strings.

/// Jaro-Winkler similarity of `a` and `b` in 0..=1 (1 for equal strings).
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    if a.len() > 64 || b.len() > 64 || !a.is_ascii() || !b.is_ascii() {
        return strsim::jaro_winkler(a, b);
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let sim = jaro_ascii(a, b);
    if sim > 0.7 {
        let prefix = a.iter().take(4).zip(b).take_while(|(x, y)| x == y).count();
        sim + 0.1 * prefix as f64 * (1.0 - sim)
    } else {
        sim
    }
}

/// Jaro similarity of two ASCII strings of at most 64 bytes.
fn jaro_ascii(a: &[u8], b: &[u8]) -> f64 {
    let (a_len, b_len) = (a.len(), b.len());
    if a_len == 0 && b_len == 0 {
        return 1.0;
    } else if a_len == 0 || b_len == 0 {
        return 0.0;
    }
    let range = (a_len.max(b_len) / 2).saturating_sub(1);
    // Where each byte occurs in `b`: the first unmatched occurrence inside the window is the
    // lowest set bit of (occurrences & window & unmatched), which is the `j` strsim's scan finds.
    let mut at = [0u64; 128];
    for (j, &y) in b.iter().enumerate() {
        at[y as usize] |= 1 << j;
    }
    let (mut a_flags, mut b_flags) = (0u64, 0u64);
    let mut matches = 0usize;
    for (i, &x) in a.iter().enumerate() {
        let low = i.saturating_sub(range);
        let high = b_len.min(i + range + 1);
        if low >= high {
            continue;
        }
        let window = (u64::MAX >> (64 - (high - low))) << low;
        let free = at[x as usize] & window & !b_flags;
        if free != 0 {
            a_flags |= 1 << i;
            b_flags |= free & free.wrapping_neg();
            matches += 1;
        }
    }
    if matches == 0 {
        return 0.0;
    }
    // The matched characters of each, in order, paired up: every pair that differs is half a
    // transposition.
    let mut transpositions = 0usize;
    let (mut left, mut right) = (a_flags, b_flags);
    while left != 0 {
        let (i, j) = (left.trailing_zeros() as usize, right.trailing_zeros() as usize);
        left &= left - 1;
        right &= right - 1;
        if a[i] != b[j] {
            transpositions += 1;
        }
    }
    transpositions /= 2;
    ((matches as f64 / a_len as f64)
        + (matches as f64 / b_len as f64)
        + ((matches - transpositions) as f64 / matches as f64))
        / 3.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_strsim_to_the_bit() {
        let mut rng = fastrand::Rng::with_seed(7);
        let alphabets: [&[u8]; 3] = [b"ab", b"abcde", b"abcdefghijklmnopqrstuvwxyz 0123456789"];
        for _ in 0..200_000 {
            let alphabet = alphabets[rng.usize(..alphabets.len())];
            let max = if rng.bool() { 12 } else { 64 };
            let word = |rng: &mut fastrand::Rng| -> String {
                let n = rng.usize(..=max);
                (0..n).map(|_| alphabet[rng.usize(..alphabet.len())] as char).collect()
            };
            let (a, b) = (word(&mut rng), word(&mut rng));
            assert_eq!(jaro_winkler(&a, &b).to_bits(), strsim::jaro_winkler(&a, &b).to_bits(), "{a:?} {b:?}");
        }
        for (a, b) in [
            ("martha", "marhta"),
            ("dixon", "dicksonx"),
            ("acme holdings", "acme holding"),
            ("", ""),
            ("", "a"),
            ("zürich re", "zurich re"),
            (&"x".repeat(65), &"x".repeat(64)),
        ] {
            assert_eq!(jaro_winkler(a, b).to_bits(), strsim::jaro_winkler(a, b).to_bits(), "{a:?} {b:?}");
        }
        assert_eq!(jaro_winkler("acme", "acme"), 1.0);
    }
}
