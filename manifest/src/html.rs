//! Escaping text into HTML, one rule for both sides: the generator's templates and Fluent
//! arguments, and the relay's own pages (the form-error page, the access report). It lives in
//! the crate both already share, so a fix reaches every page at once.

/// Escapes `text` for HTML element content and quoted attribute values (`&`, `<`, `>`, `"`,
/// `'`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_and_keeps_the_rest() {
        assert_eq!(
            escape("<a href=\"x\">'&' Сәлем</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39; Сәлем&lt;/a&gt;"
        );
    }
}
