//! What typing in a text box means once the text has moved on: a caret carried across
//! someone else's edit, and my edit replayed on text that has changed since I saw it (the
//! page's box runs ahead of the document the worker holds).

/// Where a caret at `caret` of `old` belongs once `old` has become `new` (any unit: UTF-16
/// for a browser's caret, chars for text): before the changed span it stays, after it it
/// shifts by the change in length, inside it it goes to the end of the new text.
pub fn transform_caret<T: PartialEq>(old: &[T], new: &[T], caret: usize) -> usize {
    let (prefix, suffix) = common_ends(old, new);
    if caret <= prefix {
        caret
    } else if caret >= old.len() - suffix {
        (caret + new.len()).saturating_sub(old.len()).min(new.len())
    } else {
        new.len() - suffix
    }
}

/// The lengths of the longest common prefix and (not overlapping it) suffix.
fn common_ends<T: PartialEq>(a: &[T], b: &[T]) -> (usize, usize) {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let most = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(most)
        .take_while(|(x, y)| x == y)
        .count();
    (prefix, suffix)
}

/// The text once my edit (`was` typed into `typed`) is made on `now`, the text as it is
/// (`was` plus edits I had not seen): my changed span moves with theirs, and their words
/// outside it stay.
pub fn rebase_typing(was: &str, typed: &str, now: &str) -> String {
    if now == was {
        return typed.to_string();
    }
    let (was, typed, now): (Vec<char>, Vec<char>, Vec<char>) = (
        was.chars().collect(),
        typed.chars().collect(),
        now.chars().collect(),
    );
    let (prefix, suffix) = common_ends(&was, &typed);
    let inserted = &typed[prefix..typed.len() - suffix];
    let start = transform_caret(&was, &now, prefix);
    let end = transform_caret(&was, &now, was.len() - suffix).max(start);
    now[..start]
        .iter()
        .chain(inserted)
        .chain(&now[end..])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn a_remote_insert_before_my_caret_shifts_it_and_one_after_leaves_it() {
        // I am typing after "Reduce"; someone inserts "Please " at the start.
        let (old, new) = (u("Reduce harm"), u("Please Reduce harm"));
        assert_eq!(transform_caret(&old, &new, 6), 13);
        // Someone appends at the end: my caret stays.
        let new = u("Reduce harm now");
        assert_eq!(transform_caret(&old, &new, 6), 6);
    }

    #[test]
    fn a_remote_delete_around_my_caret_puts_it_at_the_end_of_the_new_text_there() {
        let (old, new) = (u("Reduce repeat harm"), u("Reduce harm"));
        assert_eq!(transform_caret(&old, &new, 10), 7);
        assert_eq!(transform_caret(&old, &new, 18), 11);
        assert_eq!(transform_caret(&old, &new, 0), 0);
    }

    #[test]
    fn caret_transform_never_points_past_the_end() {
        let cases = [
            ("", "a"),
            ("abc", ""),
            ("aaa", "aa"),
            ("ab", "ba"),
            ("é😀", "😀"),
        ];
        for (a, b) in cases {
            let (old, new) = (u(a), u(b));
            for c in 0..=old.len() {
                assert!(
                    transform_caret(&old, &new, c) <= new.len(),
                    "{a:?} -> {b:?} at {c}"
                );
            }
        }
    }

    #[test]
    fn my_typing_lands_after_words_added_before_it_that_i_had_not_seen() {
        assert_eq!(
            rebase_typing("Review cases", "Review cases daily", "Urgent: Review cases"),
            "Urgent: Review cases daily"
        );
    }

    #[test]
    fn words_added_after_my_typing_stay_after_it() {
        assert_eq!(
            rebase_typing("Review cases", "Review all cases", "Review cases (Police)"),
            "Review all cases (Police)"
        );
    }

    #[test]
    fn my_deletion_removes_only_what_i_deleted() {
        assert_eq!(
            rebase_typing(
                "Review high-risk cases",
                "Review cases",
                "Urgent: Review high-risk cases"
            ),
            "Urgent: Review cases"
        );
    }

    #[test]
    fn with_nothing_unseen_the_text_is_what_i_typed() {
        assert_eq!(rebase_typing("ab", "abc", "ab"), "abc");
        assert_eq!(rebase_typing("é", "éà", "xé"), "xéà");
    }
}
