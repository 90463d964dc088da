//! Small input checks shared by the domain operations. Each returns a 422
//! [`AppError::Validation`] naming the field.

use crate::domain::error::{AppError, AppResult};

/// Trims `value` and checks its length in characters is within `min..=max`.
pub fn text_field(field: &str, value: &str, min: usize, max: usize) -> AppResult<String> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len < min {
        return Err(AppError::validation(
            field,
            if min == 1 {
                format!("{field} must not be empty.")
            } else {
                format!("{field} must be at least {min} characters.")
            },
        ));
    }
    if len > max {
        return Err(AppError::validation(
            field,
            format!("{field} must be at most {max} characters."),
        ));
    }
    Ok(trimmed.to_owned())
}

/// An optional text that an empty string clears: `None` when `value` is
/// empty after trimming, else the trimmed text of at most `max` characters.
pub fn clearable(field: &str, value: &str, max: usize) -> AppResult<Option<String>> {
    text_field(field, value, 0, max).map(|text| Some(text).filter(|t| !t.is_empty()))
}

/// For a body field where `null` means something (clear it) and absence
/// means "leave it": `#[serde(default, deserialize_with = "present")]` on
/// an `Option<Option<T>>` gives `None` when absent, `Some(None)` for
/// `null`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// A password of 8 to 128 characters (not trimmed: spaces count).
pub fn password(field: &str, value: &str) -> AppResult<()> {
    if (8..=128).contains(&value.chars().count()) {
        Ok(())
    } else {
        Err(AppError::validation(
            field,
            format!("{field} must be 8 to 128 characters."),
        ))
    }
}

/// A search query as typed: trimmed, a leading `@` dropped, lower case.
pub fn search_text(query: &str) -> String {
    let text = query.trim();
    text.strip_prefix('@').unwrap_or(text).trim().to_lowercase()
}

/// `text` with the `LIKE` wildcards (`%`, `_`) and the escape character
/// escaped, so that a pattern built from it matches them literally.
pub fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A page size within `1..=max`, `default` when absent.
pub fn limit(value: Option<i64>, default: i64, max: i64) -> AppResult<i64> {
    match value {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(AppError::validation(
            "limit",
            format!("limit must be between 1 and {max}."),
        )),
    }
}

/// A lower-cased email address with one `@`, a non-empty local part and a
/// dotted domain, at most 254 characters.
pub fn email(value: &str) -> AppResult<String> {
    let email = value.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if valid {
        Ok(email)
    } else {
        Err(AppError::validation(
            "email",
            "email is not a valid address.",
        ))
    }
}

/// 3–32 characters of ASCII letters, digits and `_` (a leading `@` is dropped).
pub fn username(value: &str) -> AppResult<String> {
    let name = value.trim().trim_start_matches('@');
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if (3..=32).contains(&name.len()) && ok_chars {
        Ok(name.to_owned())
    } else {
        Err(AppError::validation(
            "username",
            "username must be 3 to 32 letters, digits or underscores.",
        ))
    }
}

/// The path (`text`, `profile.bio`, `items[2]`) of the first string in
/// `value`, key or value, that holds a NUL character; `None` when there is
/// none. PostgreSQL refuses U+0000 in text, so every JSON body and client
/// frame is checked here before it reaches the domain (issue 6, item 4).
pub fn nul_path(value: &serde_json::Value) -> Option<String> {
    fn walk(value: &serde_json::Value, path: &mut String) -> bool {
        match value {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            serde_json::Value::Object(fields) => fields.iter().any(|(key, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                let found = key.contains('\0') || walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = String::new();
    walk(value, &mut path).then(|| {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path
        }
    })
}

/// 422 for a NUL character in `field`.
pub fn nul_error(field: impl Into<String>) -> AppError {
    let field = field.into();
    AppError::Validation {
        detail: format!("{field} must not contain NUL characters."),
        field,
        code: "validation_error",
    }
}

/// Refuses a NUL character in a JSON document (see [`nul_path`]).
///
/// Errors: 422 `validation_error` naming the field.
pub fn reject_nul(value: &serde_json::Value) -> AppResult<()> {
    match nul_path(value) {
        Some(field) => Err(nul_error(field)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_are_found_with_their_path() {
        let value = serde_json::json!({"a": 1, "b": {"c": ["ok", "x\u{0}y"]}});
        assert_eq!(nul_path(&value).as_deref(), Some("b.c[1]"));
        assert_eq!(
            nul_path(&serde_json::json!({"text": "a\u{0}"})).as_deref(),
            Some("text")
        );
        assert_eq!(
            nul_path(&serde_json::json!("\u{0}")).as_deref(),
            Some("body")
        );
        assert_eq!(
            nul_path(&serde_json::json!({"text": "fine", "n": [1, null]})),
            None
        );
        assert!(reject_nul(&serde_json::json!({"k\u{0}": 1})).is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(
            email(" A@Example.COM ").ok().as_deref(),
            Some("a@example.com")
        );
        for bad in ["", "a", "a@b", "@b.c", "a@@b.c", "a b@c.d", "a@.c", "a@c."] {
            assert!(email(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn usernames() {
        assert_eq!(username("@bob_1").ok().as_deref(), Some("bob_1"));
        for bad in ["ab", "has space", "ünï", &"x".repeat(33)] {
            assert!(username(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn limits() {
        assert_eq!(limit(None, 50, 100).ok(), Some(50));
        assert_eq!(limit(Some(100), 50, 100).ok(), Some(100));
        assert!(limit(Some(0), 50, 100).is_err());
        assert!(limit(Some(101), 50, 100).is_err());
    }

    #[test]
    fn text_fields_count_characters_not_bytes() {
        assert!(text_field("name", "  한국  ", 1, 2).is_ok());
        assert!(text_field("name", "   ", 1, 2).is_err());
        assert!(text_field("name", "한국어", 1, 2).is_err());
    }
}
