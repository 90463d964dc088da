//! The search tokenizer (issue 10): what a message is indexed as and what
//! a query looks for, the same function for both.
//!
//! Korean (and Chinese, Japanese) text does not put spaces between a word
//! and what is glued to it ("회의는" is "회의" + the particle "는"), so
//! splitting on spaces, as PostgreSQL's text search does, never finds
//! "회의" in "회의는". Here a run of Hangul, Han or Kana is indexed as its
//! overlapping character bigrams ("회의는" → "회의", "의는") plus the whole
//! run; a query's run must match all of its bigrams, so "회의" finds
//! "회의는" and "세시" finds "세시에". Other scripts are split into words
//! (Unicode letters and digits), lowercased, with accents folded ("Café" →
//! "cafe"). Everything else (spaces, punctuation, emoji) separates tokens.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The longest query, in characters; longer ones are cut.
pub const MAX_QUERY_CHARS: usize = 256;

/// The longest token, in characters: longer words and runs are cut here,
/// in documents and queries alike (PostgreSQL refuses lexemes over 2 KB,
/// and nobody searches by the 65th letter of a word).
pub const MAX_TOKEN_CHARS: usize = 64;

fn capped(token: String) -> String {
    if token.chars().count() > MAX_TOKEN_CHARS {
        token.chars().take(MAX_TOKEN_CHARS).collect()
    } else {
        token
    }
}

/// Whether `c` belongs to a script written without spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF   // Hangul Jamo
        | 0x3130..=0x318F // Hangul compatibility Jamo
        | 0xAC00..=0xD7AF // Hangul syllables
        | 0x3040..=0x309F // Hiragana
        | 0x30A0..=0x30FF // Katakana
        | 0x3400..=0x4DBF // Han extension A
        | 0x4E00..=0x9FFF // Han
        | 0xF900..=0xFAFF // Han compatibility
    )
}

/// A word character of the other scripts, after folding.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

/// One character lowercased with its accents removed (CJK as it is), so
/// that positions stay those of the original characters.
fn fold(c: char) -> String {
    if is_cjk(c) {
        // NFD would split a Hangul syllable into its Jamo.
        return c.to_string();
    }
    c.to_lowercase()
        .collect::<String>()
        .nfd()
        .filter(|m| !is_combining_mark(*m))
        .collect()
}

/// One run of the text: CJK characters, or a word of another script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The folded run.
    pub text: String,
    pub cjk: bool,
    /// Where it is in the original text, in characters.
    pub start: usize,
    pub end: usize,
}

/// The runs of `text`, in order.
pub fn runs(text: &str) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    let mut current: Option<Run> = None;
    for (i, c) in text.chars().enumerate() {
        let kind = if is_cjk(c) {
            Some(true)
        } else if is_word(c) {
            Some(false)
        } else {
            None
        };
        match (kind, current.as_mut()) {
            (Some(cjk), Some(run)) if run.cjk == cjk => {
                run.text.push_str(&fold(c));
                run.end = i + 1;
            }
            (Some(cjk), _) => {
                if let Some(done) = current.take() {
                    runs.push(done);
                }
                current = Some(Run {
                    text: fold(c),
                    cjk,
                    start: i,
                    end: i + 1,
                });
            }
            (None, _) => {
                if let Some(done) = current.take() {
                    runs.push(done);
                }
            }
        }
    }
    if let Some(done) = current {
        runs.push(done);
    }
    runs
}

fn bigrams(run: &str) -> Vec<String> {
    let chars: Vec<char> = run.chars().collect();
    chars.windows(2).map(|w| w.iter().collect()).collect()
}

/// What a message's text is indexed as: each word; each CJK run whole and
/// as its bigrams. Sorted, once each.
pub fn document_tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    for run in runs(text) {
        if run.cjk {
            tokens.extend(bigrams(&run.text));
        }
        tokens.push(capped(run.text));
    }
    tokens.sort();
    tokens.dedup();
    tokens
}

/// What a query looks for, all of it required: each word; each CJK run's
/// bigrams (a one-character run, itself). Empty when the query is shorter
/// than two characters after trimming, or has no letters at all.
pub fn query_tokens(query: &str) -> Vec<String> {
    let query: String = query.trim().chars().take(MAX_QUERY_CHARS).collect();
    if query.chars().count() < 2 {
        return Vec::new();
    }
    let mut tokens = Vec::new();
    for run in runs(&query) {
        if run.cjk && run.text.chars().count() >= 2 {
            tokens.extend(bigrams(&run.text));
        } else {
            tokens.push(capped(run.text));
        }
    }
    tokens.sort();
    tokens.dedup();
    tokens
}

// A token quoted as a tsquery lexeme.
fn lexeme(token: &str) -> String {
    format!("'{}'", token.replace('\\', "\\\\").replace('\'', "''"))
}

/// A `tsquery` that requires every token (each quoted as a lexeme, so that
/// PostgreSQL's parser never splits or changes it).
pub fn tsquery(tokens: &[String]) -> String {
    tokens
        .iter()
        .map(|t| lexeme(t))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// What a user (name, username) or a chat (title, handle) is indexed as:
/// the tokens of its parts together, as [`document_tokens`] makes them.
pub fn name_tokens(parts: &[Option<&str>]) -> Vec<String> {
    let text = parts
        .iter()
        .flatten()
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    document_tokens(&text)
}

/// A `tsquery` that requires every token as a prefix (`'ali':*` finds
/// "alice"): names are searched as they are typed.
pub fn prefix_tsquery(tokens: &[String]) -> String {
    tokens
        .iter()
        .map(|t| format!("{}:*", lexeme(t)))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// `text` with the parts a query matched wrapped in `<em>`…`</em>`: the
/// query's runs found in the text's runs (a word equal to a query word, a
/// CJK stretch equal to a query's CJK run).
pub fn highlight(text: &str, query: &str) -> String {
    let wanted: Vec<Run> = runs(query);
    let chars: Vec<char> = text.chars().collect();
    let mut marked = vec![false; chars.len()];
    for run in runs(text) {
        for q in &wanted {
            if run.cjk && q.cjk {
                let run_chars: Vec<char> = run.text.chars().collect();
                let q_chars: Vec<char> = q.text.chars().collect();
                if q_chars.is_empty() || q_chars.len() > run_chars.len() {
                    continue;
                }
                for at in 0..=run_chars.len() - q_chars.len() {
                    if run_chars[at..at + q_chars.len()] == q_chars[..] {
                        for m in &mut marked[run.start + at..run.start + at + q_chars.len()] {
                            *m = true;
                        }
                    }
                }
            } else if !run.cjk && !q.cjk && run.text == q.text {
                for m in &mut marked[run.start..run.end] {
                    *m = true;
                }
            }
        }
    }
    let mut out = String::new();
    let mut open = false;
    for (c, m) in chars.iter().zip(&marked) {
        if *m && !open {
            out.push_str("<em>");
            open = true;
        } else if !*m && open {
            out.push_str("</em>");
            open = false;
        }
        out.push(*c);
    }
    if open {
        out.push_str("</em>");
    }
    out
}

/// Whether a document with `doc` tokens matches a query with `query`
/// tokens (what the index answers; for tests and in-memory checks).
pub fn matches(doc: &[String], query: &[String]) -> bool {
    !query.is_empty() && query.iter().all(|t| doc.contains(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finds(text: &str, query: &str) -> bool {
        matches(&document_tokens(text), &query_tokens(query))
    }

    /// `parley-admin reindex` joins a message's tokens with spaces.
    #[test]
    fn no_token_holds_whitespace() {
        let text = "Hello\u{a0}wörld\t회의는\u{3000}세시 日本語テキスト ＡＢＣ x\u{2003}y";
        for token in document_tokens(text) {
            assert!(!token.chars().any(char::is_whitespace), "{token:?}");
        }
    }

    #[test]
    fn korean_is_found_inside_words_with_particles() {
        let text = "안녕하세요 오늘 회의는 세시에 시작합니다";
        for query in ["회의", "회의는", "세시", "안녕", "시작합니다", "오늘 회의"]
        {
            assert!(finds(text, query), "{query}");
        }
        assert!(finds("학교에 갔어요", "학교"));
        assert!(finds("Rust 세미나 일정", "rust"));
        assert!(finds("Rust 세미나 일정", "세미나"));
        assert!(finds("Rust 세미나 일정", "RUST 일정"));
        // Similar text that does not hold the query.
        assert!(!finds("회사에서 의논합니다", "회의"));
        assert!(!finds("학생이 교실에", "학교"));
        assert!(!finds(text, "회의실"));
    }

    #[test]
    fn english_accents_and_emoji_behave() {
        assert!(finds("The Café opens at nine 🎉", "cafe"));
        assert!(finds("The Café opens at nine 🎉", "CAFÉ"));
        assert!(finds("meeting-notes: draft", "notes"));
        assert!(!finds("meetings", "meeting"), "words match whole");
        assert!(finds("party 🎉 tonight", "party tonight"));
        assert_eq!(query_tokens("🎉🎉"), Vec::<String>::new());
        assert_eq!(query_tokens(" a "), Vec::<String>::new());
        assert_eq!(query_tokens("회"), Vec::<String>::new());
    }

    #[test]
    fn japanese_and_chinese_are_bigrams_too() {
        assert!(finds("東京都に住んでいます", "東京"));
        assert!(finds("我们明天开会", "开会"));
    }

    #[test]
    fn long_words_are_cut_alike_in_documents_and_queries() {
        let word = "x".repeat(4000);
        let doc = document_tokens(&word);
        assert!(doc.iter().all(|t| t.chars().count() <= MAX_TOKEN_CHARS));
        assert!(finds(&word, &"x".repeat(200)));
        let run = "가".repeat(3000);
        assert!(
            document_tokens(&run)
                .iter()
                .all(|t| t.chars().count() <= MAX_TOKEN_CHARS)
        );
    }

    #[test]
    fn long_queries_are_cut() {
        let long = "가".repeat(1000);
        assert!(query_tokens(&long).len() <= MAX_QUERY_CHARS);
    }

    #[test]
    fn highlights_mark_what_matched() {
        assert_eq!(
            highlight("오늘 회의는 세시에", "회의"),
            "오늘 <em>회의</em>는 세시에"
        );
        assert_eq!(
            highlight("The Café opens", "cafe"),
            "The <em>Café</em> opens"
        );
        assert_eq!(highlight("nothing here", "zzz"), "nothing here");
    }

    #[test]
    fn tsqueries_quote_every_lexeme() {
        assert_eq!(tsquery(&["회의".into(), "it's".into()]), "'회의' & 'it''s'");
        assert_eq!(
            prefix_tsquery(&["ali".into(), "김".into()]),
            "'ali':* & '김':*"
        );
    }
}
