//! The one Go-template variable Sloth's SLI queries may use: `{{.window}}` (spaces allowed
//! inside the braces). Anything else between `{{` and `}}` is refused rather than copied
//! into a rule Prometheus would reject.

/// Whether the query mentions `{{.window}}` at least once.
pub fn has_window_variable(query: &str) -> bool {
    let mut rest = query;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { return false };
        if after[..end].trim() == ".window" {
            return true;
        }
        rest = &after[end + 2..];
    }
    false
}

/// Replaces every `{{.window}}` with `window`.
pub fn render_window(query: &str, window: &str) -> Result<String, String> {
    let mut rendered = String::with_capacity(query.len());
    let mut rest = query;
    while let Some(start) = rest.find("{{") {
        rendered.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err("unclosed template action {{".to_string());
        };
        let action = after[..end].trim();
        if action != ".window" {
            return Err(format!("unsupported template action {{{{{action}}}}}: only {{{{.window}}}} is available"));
        }
        rendered.push_str(window);
        rest = &after[end + 2..];
    }
    rendered.push_str(rest);
    Ok(rendered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_window_with_or_without_spaces() {
        assert_eq!(render_window("rate(x[{{.window}}]) / rate(y[{{ .window }}])", "5m").unwrap(), "rate(x[5m]) / rate(y[5m])");
        assert!(has_window_variable("a[{{ .window}}]"));
        assert!(!has_window_variable("a[5m]"));
        assert!(render_window("a[{{.other}}]", "5m").unwrap_err().contains(".other"));
        assert!(render_window("a[{{.window]", "5m").is_err());
    }
}
