//! Showing text that a peer chose (a key's name, a request's method and
//! target, a caller's executable) where a person reads it: a confirm prompt,
//! a log line, a refusal's reason, the `signet list` table.
//!
//! One rule, [`escape`], so that such text can never forge a line (a
//! newline, a carriage return), move the cursor or recolour a terminal
//! (control characters), reorder or hide what is shown (Unicode bidi
//! overrides, zero-width and other invisible format characters), or flood
//! the screen (it is cut at [`MAX_SHOWN`] characters). Printable text,
//! non-ASCII letters included, is shown as it is.
//!
//! [`escape_controls`] applies the same rule to a whole line already made
//! of escaped pieces (signetd's log lines, as the last step before they
//! are written): it escapes the same characters, but leaves `"` and `\`
//! and the length alone, so a line stays one line whatever a piece that
//! was not escaped at its source held.

/// The most characters of one piece of text that are shown.
pub const MAX_SHOWN: usize = 200;

/// Format characters (Unicode category Cf) and separators that change how
/// the text around them is displayed without being visible themselves.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{061C}'
        | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}')
}

/// A character [`escape`] and [`escape_controls`] write as an escape: a
/// control character (C0, DEL, C1) or an invisible format character.
fn hidden(c: char) -> bool {
    c.is_control() || invisible(c)
}

/// Why a name a peer chose cannot be a key's name (or comment).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// Longer than the limit.
    #[error("{len} bytes long, more than the {max} allowed")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// It holds a control or invisible character.
    #[error("it contains the control or invisible character {0:?}")]
    Hidden(char),
}

/// Checks a key's name or comment as a peer sent it (`ADD_IDENTITY`'s
/// comment, `import@signet`'s name): at most `max` bytes, and no character
/// [`escape`] would have to hide (control characters, bidi overrides,
/// invisible format characters), so that what `signet list`, a prompt or a
/// log shows is the name itself.
pub fn check_label(text: &str, max: usize) -> Result<(), LabelError> {
    if text.len() > max {
        return Err(LabelError::TooLong {
            len: text.len(),
            max,
        });
    }
    match text.chars().find(|c| hidden(*c)) {
        Some(c) => Err(LabelError::Hidden(c)),
        None => Ok(()),
    }
}

/// `text` made safe to show: control and invisible characters written as
/// escapes (`\n`, `\u{1b}`, `\u{202e}`), `"` and `\` escaped (so that the
/// escapes are unambiguous and quoted text stays quoted), and anything past
/// [`MAX_SHOWN`] characters replaced by `…`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(4 * MAX_SHOWN));
    for (i, c) in text.chars().enumerate() {
        if i == MAX_SHOWN {
            out.push('…');
            break;
        }
        if hidden(c) || c == '"' || c == '\\' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `line` with every control and invisible character written as an escape
/// (`\n`, `\u{1b}`), and nothing else changed: for a line composed of
/// pieces that [`escape`] should already have escaped (a log line), so
/// that a piece that was not cannot start another line, move the cursor
/// or hide text. Borrowed unchanged when there is nothing to escape.
pub fn escape_controls(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 16);
    // Writing to a String cannot fail.
    let _ = write_escaped_controls(&mut out, line);
    std::borrow::Cow::Owned(out)
}

/// [`escape_controls`] written to `out` as it goes, without an allocation
/// (signetd's log formatter writes every field through it).
pub fn write_escaped_controls(out: &mut impl std::fmt::Write, text: &str) -> std::fmt::Result {
    let mut plain = 0;
    for (i, c) in text.char_indices() {
        if hidden(c) {
            out.write_str(&text[plain..i])?;
            for e in c.escape_default() {
                out.write_char(e)?;
            }
            plain = i + c.len_utf8();
        }
    }
    out.write_str(&text[plain..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_cannot_be_forged() {
        let forged = escape("ci\"\nRequested by uid 0: /usr/bin/sudo");
        assert!(!forged.contains('\n'));
        assert_eq!(forged, "ci\\\"\\nRequested by uid 0: /usr/bin/sudo");
        assert_eq!(escape("a\rb\tc\u{1b}[31m"), "a\\rb\\tc\\u{1b}[31m");
    }

    #[test]
    fn whole_lines_keep_quotes_and_length_but_not_controls() {
        let line = format!("key=\"a\\\"b\" {} end", "x".repeat(MAX_SHOWN));
        assert_eq!(escape_controls(&line), line.as_str());
        assert!(matches!(
            escape_controls(&line),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            escape_controls("refused k\nRequested by uid 0\r\u{1b}[2K\0\u{202e}"),
            "refused k\\nRequested by uid 0\\r\\u{1b}[2K\\u{0}\\u{202e}"
        );
    }

    #[test]
    fn invisible_and_reordering_characters_are_shown() {
        assert_eq!(escape("evil\u{202e}gpj.exe"), "evil\\u{202e}gpj.exe");
        assert_eq!(escape("a\u{200b}b"), "a\\u{200b}b");
        assert_eq!(escape("x\u{2028}y"), "x\\u{2028}y");
    }

    #[test]
    fn labels_are_bounded_and_visible() {
        assert_eq!(
            check_label("ci-bot José's laptop /home/u/.ssh/id", 64),
            Ok(())
        );
        assert_eq!(check_label("", 64), Ok(()));
        assert_eq!(
            check_label(&"a".repeat(65), 64),
            Err(LabelError::TooLong { len: 65, max: 64 })
        );
        assert_eq!(check_label("a\nb", 64), Err(LabelError::Hidden('\n')));
        assert_eq!(
            check_label("evil\u{202e}", 64),
            Err(LabelError::Hidden('\u{202e}'))
        );
    }

    #[test]
    fn printable_text_is_kept_and_long_text_cut() {
        assert_eq!(escape("plain-name.1 José's key"), "plain-name.1 José's key");
        let long = "a".repeat(MAX_SHOWN + 50);
        let shown = escape(&long);
        assert_eq!(shown.chars().count(), MAX_SHOWN + 1);
        assert!(shown.ends_with('…'));
        assert_eq!(escape(&"b".repeat(MAX_SHOWN)), "b".repeat(MAX_SHOWN));
    }
}
