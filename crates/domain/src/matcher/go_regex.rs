//! Translation of Go `regexp` (RE2) syntax into the syntax of Rust's `regex` crate.
//!
//! Alertmanager compiles matcher values with Go's `regexp` package. The two dialects agree on
//! most syntax but differ in ways that change which label values match:
//!
//! - `\d`, `\w`, `\s`, `\b` and their negations are ASCII-only in Go and Unicode-aware in Rust;
//! - inside a class Go treats `[`, `&&`, `--` and `~~` as literals, Rust as nesting and set
//!   operations;
//! - a `{` that does not start a valid repetition is a literal in Go and an error in Rust;
//! - Go knows `\Q…\E` and octal escapes (`\012`), Rust does not;
//! - Rust knows `\<`, `\>`, `(?x)` and `(?<name>…)`, Go 1.19 (Alertmanager 0.25) does not, or reads
//!   `\<` as a plain `<`.
//!
//! The translator walks the Go pattern once and re-emits it in a form the `regex` crate reads
//! with Go's meaning, rejecting what Go rejects where the difference is visible. Everything
//! else (alternation, groups, anchors, `.`, quantifiers, `\pL`) is shared syntax and copied.

/// Go's `maxRepeat`: the largest count allowed in `x{n,m}`.
const MAX_REPEAT_COUNT: u32 = 1000;

/// Go's Perl classes, as ASCII sets usable both alone (wrapped in brackets) and inside a class.
const ASCII_DIGIT: &str = r"0-9";
const ASCII_WORD: &str = r"0-9A-Za-z_";
const ASCII_SPACE: &str = r"\t\n\x0C\r ";

/// The POSIX class names Go accepts inside brackets (`[[:alpha:]]`, `[[:^alpha:]]`).
const POSIX_CLASS_NAMES: [&str; 14] = [
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space", "upper", "word", "xdigit",
];

/// Rewrites `pattern` (Go syntax) into an equivalent Rust `regex` pattern, or explains in Go's
/// words why Go would reject it.
pub(super) fn translate_go_regex(pattern: &str) -> Result<String, String> {
    let mut translator = Translator { rest: pattern, output: String::with_capacity(pattern.len() + 16) };
    translator.run()?;
    Ok(translator.output)
}

struct Translator<'a> {
    rest: &'a str,
    output: String,
}

impl<'a> Translator<'a> {
    fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        self.rest.chars().nth(1)
    }

    fn next_char(&mut self) -> Option<char> {
        let character = self.peek()?;
        self.rest = &self.rest[character.len_utf8()..];
        Some(character)
    }

    fn run(&mut self) -> Result<(), String> {
        // Go rejects stacked repetition operators such as `a**` or `a{2}{3}`; Rust does not.
        let mut previous_was_repetition = false;
        while let Some(character) = self.peek() {
            let is_repetition = match character {
                '*' | '+' | '?' => {
                    self.next_char();
                    self.output.push(character);
                    true
                }
                '{' => {
                    let is_repetition = self.translate_brace()?;
                    if !is_repetition {
                        previous_was_repetition = false;
                        continue;
                    }
                    true
                }
                _ => false,
            };
            if is_repetition {
                if previous_was_repetition {
                    return Err("invalid nested repetition operator".to_string());
                }
                // A `?` right after a repetition makes it lazy rather than starting another one.
                if self.peek() == Some('?') {
                    self.next_char();
                    self.output.push('?');
                }
                previous_was_repetition = true;
                continue;
            }
            previous_was_repetition = false;
            match character {
                '\\' => self.translate_escape_outside_class()?,
                '[' => self.translate_class()?,
                '(' => self.translate_group_opening()?,
                '}' | ']' => {
                    self.next_char();
                    self.output.push('\\');
                    self.output.push(character);
                }
                _ => {
                    self.next_char();
                    self.output.push(character);
                }
            }
        }
        Ok(())
    }

    /// A `{` is a counted repetition only when Go's `parseRepeat` accepts it; otherwise it is a
    /// literal brace. Returns whether a repetition was emitted.
    fn translate_brace(&mut self) -> Result<bool, String> {
        let Some((minimum, maximum, length)) = parse_repetition(self.rest) else {
            self.next_char();
            self.output.push_str(r"\{");
            return Ok(false);
        };
        let text = &self.rest[..length];
        let too_big = minimum > MAX_REPEAT_COUNT || maximum.is_some_and(|maximum| maximum > MAX_REPEAT_COUNT);
        let inverted = maximum.is_some_and(|maximum| maximum < minimum);
        if too_big || inverted {
            return Err(format!("invalid repeat count: `{text}`"));
        }
        self.output.push_str(text);
        self.rest = &self.rest[length..];
        Ok(true)
    }

    fn translate_group_opening(&mut self) -> Result<(), String> {
        self.next_char();
        if self.peek() != Some('?') {
            self.output.push('(');
            return Ok(());
        }
        let after_question_mark = &self.rest[1..];
        if let Some(named) = after_question_mark.strip_prefix("P<") {
            let Some(end) = named.find('>') else {
                return Err(format!("invalid named capture: `(?{after_question_mark}`"));
            };
            let name = &named[..end];
            let valid = !name.is_empty() && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
            if !valid {
                return Err(format!("invalid named capture: `(?P<{name}>`"));
            }
            self.output.push_str("(?P<");
            self.output.push_str(name);
            self.output.push('>');
            self.rest = &named[end + 1..];
            return Ok(());
        }
        // Flags: Go accepts i, m, s and U, one optional negation, and ends with `:` or `)`.
        let mut flags = String::new();
        let mut negated = false;
        let mut saw_flag = false;
        let mut consumed = 0;
        for character in after_question_mark.chars() {
            consumed += character.len_utf8();
            match character {
                'i' | 'm' | 's' | 'U' => {
                    saw_flag = true;
                    flags.push(character);
                }
                '-' if !negated => {
                    negated = true;
                    saw_flag = false;
                    flags.push('-');
                }
                ':' | ')' if !negated || saw_flag => {
                    self.rest = &after_question_mark[consumed..];
                    // Go accepts an empty `(?)`, which Rust rejects; it changes nothing.
                    if character == ')' && flags.is_empty() {
                        return Ok(());
                    }
                    self.output.push_str("(?");
                    self.output.push_str(&flags);
                    self.output.push(character);
                    return Ok(());
                }
                _ => break,
            }
        }
        let shown: String = format!("(?{}", &after_question_mark[..consumed]);
        Err(format!("invalid or unsupported Perl syntax: `{shown}`"))
    }

    fn translate_escape_outside_class(&mut self) -> Result<(), String> {
        let escape_start = self.rest;
        self.next_char();
        let Some(kind) = self.peek() else {
            return Err("trailing backslash at end of expression".to_string());
        };
        match kind {
            'A' | 'z' => {
                self.next_char();
                self.output.push('\\');
                self.output.push(kind);
            }
            'b' | 'B' => {
                self.next_char();
                // Go's word boundary looks at ASCII word characters only.
                self.output.push_str(if kind == 'b' { r"(?-u:\b)" } else { r"(?-u:\B)" });
            }
            'C' => return Err(r"invalid escape sequence: `\C`".to_string()),
            'Q' => {
                self.next_char();
                let (literal, rest) = match self.rest.find(r"\E") {
                    Some(end) => (&self.rest[..end], &self.rest[end + 2..]),
                    None => (self.rest, ""),
                };
                for character in literal.chars() {
                    push_literal(&mut self.output, character);
                }
                self.rest = rest;
            }
            'p' | 'P' => self.copy_unicode_class(escape_start)?,
            'd' | 'D' | 'w' | 'W' | 's' | 'S' => {
                self.next_char();
                let (set, negated) = perl_class_set(kind);
                self.output.push('[');
                if negated {
                    self.output.push('^');
                }
                self.output.push_str(set);
                self.output.push(']');
            }
            _ => {
                self.rest = escape_start;
                let character = self.parse_character_escape()?;
                push_literal(&mut self.output, character);
            }
        }
        Ok(())
    }

    /// Copies `\pL`, `\p{Greek}`, `\PN`, `\p{^Han}`: the syntax is shared with Rust.
    /// `self.rest` starts right after the backslash.
    fn copy_unicode_class(&mut self, escape_start: &'a str) -> Result<(), String> {
        self.next_char();
        match self.next_char() {
            None => return Err(format!("invalid character class range: `{escape_start}`")),
            Some('{') => {
                let Some(end) = self.rest.find('}') else {
                    return Err(format!("invalid character class range: `{escape_start}`"));
                };
                self.rest = &self.rest[end + 1..];
            }
            Some(_) => {}
        }
        let consumed = escape_start.len() - self.rest.len();
        self.output.push_str(&escape_start[..consumed]);
        Ok(())
    }

    /// Go's `parseEscape`: an escape that stands for one character. `self.rest` starts at the
    /// backslash.
    fn parse_character_escape(&mut self) -> Result<char, String> {
        let escape_start = self.rest;
        self.next_char();
        let Some(kind) = self.next_char() else {
            return Err("trailing backslash at end of expression".to_string());
        };
        let invalid = |rest: &str| {
            let consumed = &escape_start[..escape_start.len() - rest.len()];
            format!("invalid escape sequence: `{consumed}`")
        };
        match kind {
            'a' => Ok('\u{7}'),
            'f' => Ok('\u{c}'),
            'n' => Ok('\n'),
            'r' => Ok('\r'),
            't' => Ok('\t'),
            'v' => Ok('\u{b}'),
            '0'..='7' => {
                // A lone non-zero digit would be a backreference, which Go does not support.
                let next_is_octal = self.peek().is_some_and(|c| ('0'..='7').contains(&c));
                if kind != '0' && !next_is_octal {
                    return Err(invalid(self.rest));
                }
                let mut value = kind as u32 - '0' as u32;
                for _ in 1..3 {
                    match self.peek() {
                        Some(digit @ '0'..='7') => {
                            self.next_char();
                            value = value * 8 + (digit as u32 - '0' as u32);
                        }
                        _ => break,
                    }
                }
                char::from_u32(value).ok_or_else(|| invalid(self.rest))
            }
            'x' => self.parse_hex_escape().ok_or_else(|| invalid(self.rest)),
            _ if kind.is_ascii() && !kind.is_ascii_alphanumeric() => Ok(kind),
            _ => Err(invalid(self.rest)),
        }
    }

    /// `\x41` or `\x{1F600}`, with `self.rest` right after the `x`.
    fn parse_hex_escape(&mut self) -> Option<char> {
        if self.peek()? == '{' {
            self.next_char();
            let end = self.rest.find('}')?;
            let digits = &self.rest[..end];
            let valid = !digits.is_empty() && digits.chars().all(|c| c.is_ascii_hexdigit());
            if !valid || digits.len() > 8 {
                return None;
            }
            let value = u32::from_str_radix(digits, 16).ok()?;
            self.rest = &self.rest[end + 1..];
            return char::from_u32(value);
        }
        let high = self.next_char()?.to_digit(16)?;
        let low = self.next_char()?.to_digit(16)?;
        char::from_u32(high * 16 + low)
    }

    /// Go's `parseClass`, emitting a Rust class in which every literal is a `\x{…}` escape so
    /// that no character can take on Rust's nesting or set-operation meaning.
    fn translate_class(&mut self) -> Result<(), String> {
        let class_start = self.rest;
        self.next_char();
        let mut emitted = String::from("[");
        if self.peek() == Some('^') {
            self.next_char();
            emitted.push('^');
        }
        let missing_bracket = || format!("missing closing ]: `{class_start}`");
        let mut first = true;
        loop {
            let Some(character) = self.peek() else {
                return Err(missing_bracket());
            };
            if character == ']' && !first {
                self.next_char();
                break;
            }
            first = false;
            // `[:` opens a POSIX class only if `:]` follows somewhere; otherwise `[` is literal.
            let posix_class_end = match (character, self.peek_second()) {
                ('[', Some(':')) => self.rest[2..].find(":]"),
                _ => None,
            };
            if let Some(end) = posix_class_end {
                let whole = &self.rest[..end + 4];
                let name = &self.rest[2..end + 2];
                if !POSIX_CLASS_NAMES.contains(&name.strip_prefix('^').unwrap_or(name)) {
                    return Err(format!("invalid character class range: `{whole}`"));
                }
                emitted.push_str(whole);
                self.rest = &self.rest[end + 4..];
                continue;
            }
            if character == '\\' {
                match self.peek_second() {
                    Some('p' | 'P') => {
                        let before = self.output.len();
                        let escape_start = self.rest;
                        self.next_char();
                        self.copy_unicode_class(escape_start)?;
                        let copied = self.output.split_off(before);
                        emitted.push_str(&copied);
                        continue;
                    }
                    Some(kind @ ('d' | 'D' | 'w' | 'W' | 's' | 'S')) => {
                        self.next_char();
                        self.next_char();
                        let (set, negated) = perl_class_set(kind);
                        if negated {
                            emitted.push_str("[^");
                            emitted.push_str(set);
                            emitted.push(']');
                        } else {
                            emitted.push_str(set);
                        }
                        continue;
                    }
                    _ => {}
                }
            }
            let range_start = self.rest;
            let low = self.parse_class_character().ok_or_else(missing_bracket)??;
            let mut high = low;
            let mut after_dash = self.rest.chars();
            let starts_range = after_dash.next() == Some('-') && after_dash.next().is_some_and(|c| c != ']');
            if starts_range {
                self.next_char();
                high = self.parse_class_character().ok_or_else(missing_bracket)??;
                if high < low {
                    let range = &range_start[..range_start.len() - self.rest.len()];
                    return Err(format!("invalid character class range: `{range}`"));
                }
            }
            push_class_character(&mut emitted, low);
            if high != low {
                emitted.push('-');
                push_class_character(&mut emitted, high);
            }
        }
        emitted.push(']');
        self.output.push_str(&emitted);
        Ok(())
    }

    /// One character inside a class: an escape or the character itself. `None` at the end of
    /// the pattern.
    fn parse_class_character(&mut self) -> Option<Result<char, String>> {
        match self.peek()? {
            '\\' => Some(self.parse_character_escape()),
            _ => self.next_char().map(Ok),
        }
    }
}

/// Go's `parseRepeat`: `{n}`, `{n,}` or `{n,m}` with decimal numbers without leading zeros.
/// Returns the minimum, the maximum (`None` for unbounded) and the length of the text. Counts
/// too large to represent are reported as above the limit, which the caller rejects.
fn parse_repetition(text: &str) -> Option<(u32, Option<u32>, usize)> {
    let body = text.strip_prefix('{')?;
    let (minimum, after_minimum) = parse_decimal(body)?;
    let (maximum, after_numbers) = match after_minimum.strip_prefix(',') {
        None => (Some(minimum), after_minimum),
        Some(after_comma) if after_comma.starts_with('}') => (None, after_comma),
        Some(after_comma) => {
            let (maximum, rest) = parse_decimal(after_comma)?;
            (Some(maximum), rest)
        }
    };
    let rest = after_numbers.strip_prefix('}')?;
    Some((minimum, maximum, text.len() - rest.len()))
}

fn parse_decimal(text: &str) -> Option<(u32, &str)> {
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let digits = &text[..digits_end];
    if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
        return None;
    }
    // Anything longer than the limit's digits is over the limit; saturate instead of overflowing.
    let value = digits.parse::<u32>().unwrap_or(u32::MAX);
    Some((value, &text[digits_end..]))
}

/// The ASCII set behind a Perl class escape and whether it is negated.
fn perl_class_set(kind: char) -> (&'static str, bool) {
    match kind {
        'd' => (ASCII_DIGIT, false),
        'D' => (ASCII_DIGIT, true),
        'w' => (ASCII_WORD, false),
        'W' => (ASCII_WORD, true),
        's' => (ASCII_SPACE, false),
        _ => (ASCII_SPACE, true),
    }
}

fn push_literal(output: &mut String, character: char) {
    let mut buffer = [0u8; 4];
    output.push_str(&regex::escape(character.encode_utf8(&mut buffer)));
}

fn push_class_character(output: &mut String, character: char) {
    use std::fmt::Write as _;
    let _ = write!(output, r"\x{{{:x}}}", character as u32);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(go_pattern: &str, expected: Result<&str, &str>) {
        let actual = translate_go_regex(go_pattern);
        let actual = actual.as_ref().map(String::as_str).map_err(String::as_str);
        assert_eq!(actual, expected, "go pattern {go_pattern:?}");
    }

    #[test]
    fn translates_go_syntax_to_rust_syntax() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("foo|bar", Ok("foo|bar")),
            ("^(?:team-(B|C))$", Ok("^(?:team-(B|C))$")),
            (r"\d+", Ok(r"[0-9]+")),
            (r"\W", Ok(r"[^0-9A-Za-z_]")),
            (r"[\d.]", Ok(r"[0-9\x{2e}]")),
            (r"[^\s]", Ok(r"[^\t\n\x0C\r ]")),
            (r"[\S]", Ok(r"[[^\t\n\x0C\r ]]")),
            (r"\bword\b", Ok(r"(?-u:\b)word(?-u:\b)")),
            ("a{2,3}", Ok("a{2,3}")),
            ("a{2,}?", Ok("a{2,}?")),
            ("a{,3}", Ok(r"a\{,3\}")),
            ("a{01}", Ok(r"a\{01\}")),
            ("{{ .Labels }}", Ok(r"\{\{ .Labels \}\}")),
            ("a{1001}", Err("invalid repeat count: `{1001}`")),
            ("a{3,2}", Err("invalid repeat count: `{3,2}`")),
            ("a**", Err("invalid nested repetition operator")),
            ("a*?", Ok("a*?")),
            ("a+?b", Ok("a+?b")),
            (r"\Qa.b\E.", Ok(r"a\.b.")),
            (r"\Q(x", Ok(r"\(x")),
            (r"\012", Ok("\n")),
            (r"\1", Err(r"invalid escape sequence: `\1`")),
            (r"\x41\x{1F600}", Ok("A😀")),
            (r"\<a\>", Ok("<a>")),
            (r"\e", Err(r"invalid escape sequence: `\e`")),
            ("[[]", Ok(r"[\x{5b}]")),
            ("[]a]", Ok(r"[\x{5d}\x{61}]")),
            ("[a-c&&b]", Ok(r"[\x{61}-\x{63}\x{26}\x{26}\x{62}]")),
            ("[a-]", Ok(r"[\x{61}\x{2d}]")),
            ("[z-a]", Err("invalid character class range: `z-a`")),
            ("[a", Err("missing closing ]: `[a`")),
            ("[[:alpha:]_]", Ok(r"[[:alpha:]\x{5f}]")),
            ("[[:^digit:]]", Ok(r"[[:^digit:]]")),
            ("[[:foo:]]", Err("invalid character class range: `[:foo:]`")),
            (r"\pL\p{Greek}", Ok(r"\pL\p{Greek}")),
            (r"[\p{Greek}x]", Ok(r"[\p{Greek}\x{78}]")),
            ("(?i)abc", Ok("(?i)abc")),
            ("(?i-s:a.)", Ok("(?i-s:a.)")),
            ("(?)a", Ok("a")),
            ("(?x)a", Err("invalid or unsupported Perl syntax: `(?x`")),
            ("(?<n>a)", Err("invalid or unsupported Perl syntax: `(?<`")),
            ("(?P<n>a)", Ok("(?P<n>a)")),
            ("(?i-)a", Err("invalid or unsupported Perl syntax: `(?i-)`")),
            ("a]", Ok(r"a\]")),
            ("trailing\\", Err("trailing backslash at end of expression")),
            (r"\C", Err(r"invalid escape sequence: `\C`")),
        ];
        for (go_pattern, expected) in cases {
            check(go_pattern, *expected);
        }
    }

    #[test]
    fn every_translation_compiles_in_rust() {
        for go_pattern in [
            r"[\d.]",
            r"[\S]",
            r"\bword\b",
            r"a\Bb",
            "[[]",
            "[a-c&&b]",
            "[[:^digit:]]",
            r"[\p{Greek}x]",
            "{{ .Labels }}",
            r"\Q(x",
            "[^\\x{0}-\\x{10FFFF}]",
        ] {
            let translated = translate_go_regex(go_pattern).unwrap();
            assert!(regex::Regex::new(&translated).is_ok(), "{go_pattern:?} became {translated:?}");
        }
    }
}
