//! The subset of CEL that CRD validation rules (`x-kubernetes-validations`) commonly use:
//! `self.a.b` and `oldSelf.a.b` paths (transition rules), `has(...)`, `!`, `&&`, `||`, `==`,
//! `!=`, `<`, `<=`, `>`, `>=`, string, integer and boolean literals, and parentheses. A rule outside the subset is not evaluated: it passes, with a
//! warning in the log that names the rule and the field.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Int(i64),
    Dot,
    LParen,
    RParen,
    Not,
    And,
    Or,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

fn tokens(text: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '.' => {
                out.push(Token::Dot);
                i += 1;
            }
            '(' => {
                out.push(Token::LParen);
                i += 1;
            }
            ')' => {
                out.push(Token::RParen);
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push(Token::Ne);
                i += 2;
            }
            '!' => {
                out.push(Token::Not);
                i += 1;
            }
            '&' if chars.get(i + 1) == Some(&'&') => {
                out.push(Token::And);
                i += 2;
            }
            '|' if chars.get(i + 1) == Some(&'|') => {
                out.push(Token::Or);
                i += 2;
            }
            '<' | '>' => {
                let equal = chars.get(i + 1) == Some(&'=');
                out.push(match (c, equal) {
                    ('<', false) => Token::Lt,
                    ('<', true) => Token::Le,
                    ('>', false) => Token::Gt,
                    _ => Token::Ge,
                });
                i += if equal { 2 } else { 1 };
            }
            '=' if chars.get(i + 1) == Some(&'=') => {
                out.push(Token::Eq);
                i += 2;
            }
            '\'' | '"' => {
                let end = chars[i + 1..].iter().position(|x| *x == c)? + i + 1;
                out.push(Token::Str(chars[i + 1..end].iter().collect()));
                i = end + 1;
            }
            c if c.is_ascii_digit() => {
                let end = chars[i..]
                    .iter()
                    .position(|x| !x.is_ascii_digit())
                    .map_or(chars.len(), |p| p + i);
                out.push(Token::Int(
                    chars[i..end].iter().collect::<String>().parse().ok()?,
                ));
                i = end;
            }
            c if c.is_alphabetic() || c == '_' => {
                let end = chars[i..]
                    .iter()
                    .position(|x| !(x.is_alphanumeric() || *x == '_'))
                    .map_or(chars.len(), |p| p + i);
                out.push(Token::Ident(chars[i..end].iter().collect()));
                i = end;
            }
            _ => return None,
        }
    }
    Some(out)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    this: &'a Value,
    old: Option<&'a Value>,
}

/// A value during evaluation: absent fields are `None`.
type Val = Option<Value>;

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn eat(&mut self, token: &Token) -> bool {
        if self.peek() == Some(token) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Option<bool> {
        let mut value = self.and()?;
        while self.eat(&Token::Or) {
            let rhs = self.and()?;
            value = value || rhs;
        }
        Some(value)
    }

    fn and(&mut self) -> Option<bool> {
        let mut value = self.unary()?;
        while self.eat(&Token::And) {
            let rhs = self.unary()?;
            value = value && rhs;
        }
        Some(value)
    }

    fn unary(&mut self) -> Option<bool> {
        if self.eat(&Token::Not) {
            return self.unary().map(|v| !v);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Option<bool> {
        if self.eat(&Token::LParen) {
            let value = self.or()?;
            return self.eat(&Token::RParen).then_some(value);
        }
        if self.peek() == Some(&Token::Ident("has".into())) {
            self.pos += 1;
            if !self.eat(&Token::LParen) {
                return None;
            }
            let value = self.path()?;
            return self.eat(&Token::RParen).then_some(value.is_some());
        }
        let lhs = self.operand()?;
        if self.eat(&Token::Eq) {
            let rhs = self.operand()?;
            return Some(lhs.is_some() && lhs == rhs);
        }
        if self.eat(&Token::Ne) {
            let rhs = self.operand()?;
            return Some(lhs != rhs);
        }
        for (token, accepts) in [
            (Token::Lt, [std::cmp::Ordering::Less].as_slice()),
            (
                Token::Le,
                &[std::cmp::Ordering::Less, std::cmp::Ordering::Equal],
            ),
            (Token::Gt, &[std::cmp::Ordering::Greater]),
            (
                Token::Ge,
                &[std::cmp::Ordering::Greater, std::cmp::Ordering::Equal],
            ),
        ] {
            if self.eat(&token) {
                let rhs = self.operand()?;
                let order = match (lhs?, rhs?) {
                    (Value::Number(a), Value::Number(b)) => {
                        a.as_f64()?.partial_cmp(&b.as_f64()?)?
                    }
                    (Value::String(a), Value::String(b)) => a.cmp(&b),
                    _ => return None,
                };
                return Some(accepts.contains(&order));
            }
        }
        match lhs {
            Some(Value::Bool(b)) => Some(b),
            _ => None,
        }
    }

    fn operand(&mut self) -> Option<Val> {
        match self.peek()?.clone() {
            Token::Str(s) => {
                self.pos += 1;
                Some(Some(Value::String(s)))
            }
            Token::Int(n) => {
                self.pos += 1;
                Some(Some(Value::from(n)))
            }
            Token::Ident(word) if word == "true" || word == "false" => {
                self.pos += 1;
                Some(Some(Value::Bool(word == "true")))
            }
            _ => self.path(),
        }
    }

    fn path(&mut self) -> Option<Val> {
        let mut current = if self.eat(&Token::Ident("self".into())) {
            Some(self.this.clone())
        } else if self.eat(&Token::Ident("oldSelf".into())) {
            Some(self.old?.clone())
        } else {
            return None;
        };
        while self.eat(&Token::Dot) {
            let Some(Token::Ident(field)) = self.peek().cloned() else {
                return None;
            };
            self.pos += 1;
            current = current.and_then(|v| v.get(&field).cloned());
        }
        Some(current)
    }
}

/// Whether a rule compares with the previous value (a transition rule): it is checked on
/// updates only, where the old object has the field.
pub(crate) fn is_transition(rule: &str) -> bool {
    tokens(rule).is_some_and(|t| t.contains(&Token::Ident("oldSelf".into())))
}

/// Evaluates a rule against `self` (and `oldSelf`, the value before an update); `None` when
/// the rule is outside the supported subset.
pub(crate) fn evaluate(rule: &str, this: &Value, old: Option<&Value>) -> Option<bool> {
    let mut parser = Parser {
        tokens: tokens(rule)?,
        pos: 0,
        this,
        old,
    };
    let value = parser.or()?;
    (parser.pos == parser.tokens.len()).then_some(value)
}

/// What cel-go's parser reports for a rule that does not compile, for the errors this server
/// can tell for certain: characters that start no CEL token (`token recognition error`), and,
/// after such an error, an expression that ends where an operand must follow. Each error
/// prints as cel-go prints it, with the rule's line and a caret under the column. `None` when
/// neither is found (the rule may still not compile on a real server).
pub(crate) fn syntax_errors(rule: &str) -> Option<String> {
    let chars: Vec<char> = rule.chars().collect();
    let mut errors: Vec<(usize, String)> = Vec::new();
    // Whether an operand must follow the last token.
    let mut wants_operand = true;
    let mut i = 0;
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            ' ' | '\t' | '\n' | '\r' | '\u{c}' => i += 1,
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '"' | '\'' => {
                let triple = next == Some(c) && chars.get(i + 2) == Some(&c);
                let raw = i > 0 && matches!(chars[i - 1], 'r' | 'R');
                i += if triple { 3 } else { 1 };
                loop {
                    let Some(&d) = chars.get(i) else {
                        // An unterminated string: left to the real parser.
                        return None;
                    };
                    if d == '\\' && !raw {
                        i += 2;
                        continue;
                    }
                    let closes =
                        !triple || (chars.get(i + 1) == Some(&c) && chars.get(i + 2) == Some(&c));
                    if d == c && closes {
                        i += if triple { 3 } else { 1 };
                        break;
                    }
                    i += 1;
                }
                wants_operand = false;
            }
            c if ident(c) => {
                let start = i;
                let number = c.is_ascii_digit();
                while i < chars.len() && (ident(chars[i]) || (number && chars[i] == '.')) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                // A string or bytes prefix continues into the literal.
                if matches!(word.to_ascii_lowercase().as_str(), "r" | "b" | "rb" | "br")
                    && matches!(chars.get(i), Some('"' | '\''))
                {
                    continue;
                }
                wants_operand = word == "in";
            }
            '=' | '!' | '<' | '>' if next == Some('=') => {
                i += 2;
                wants_operand = true;
            }
            '&' if next == Some('&') => {
                i += 2;
                wants_operand = true;
            }
            '|' if next == Some('|') => {
                i += 2;
                wants_operand = true;
            }
            '<' | '>' | '+' | '-' | '*' | '/' | '%' | '!' | '?' | ':' | ',' | '(' | '[' | '{'
            | '.' => {
                i += 1;
                wants_operand = true;
            }
            ')' | ']' | '}' => {
                i += 1;
                wants_operand = false;
            }
            other => {
                errors.push((i, format!("token recognition error at: '{other}'")));
                i += 1;
            }
        }
    }
    if errors.is_empty() {
        return None;
    }
    if wants_operand {
        errors.push((
            chars.len(),
            "mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}".into(),
        ));
    }
    let printed: Vec<String> = errors
        .iter()
        .map(|(at, message)| {
            let before: String = chars[..*at].iter().collect();
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count());
            let text = rule.lines().nth(line - 1).unwrap_or("");
            format!(
                "ERROR: <input>:{line}:{}: Syntax error: {message}\n | {text}\n | {}^",
                column + 1,
                ".".repeat(column)
            )
        })
        .collect();
    Some(printed.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::evaluate;
    use serde_json::json;

    #[test]
    fn flux_rules() {
        let rule = "!has(self.serviceAccountName) || (has(self.provider) && (self.provider == 'azure' || self.provider == 'aws'))";
        assert_eq!(
            evaluate(rule, &json!({"serviceAccountName": "sa"}), None),
            Some(false)
        );
        assert_eq!(
            evaluate(
                rule,
                &json!({"serviceAccountName": "sa", "provider": "aws"}),
                None
            ),
            Some(true)
        );
        assert_eq!(evaluate(rule, &json!({}), None), Some(true));
        assert_eq!(
            evaluate("has(self.a) || has(self.b)", &json!({"b": 1}), None),
            Some(true)
        );
        assert_eq!(evaluate("self.items.all(x, x > 0)", &json!({}), None), None);
    }

    #[test]
    fn transition_rules_compare_with_the_old_value() {
        assert!(super::is_transition("self >= oldSelf"));
        assert!(!super::is_transition("self >= 1"));
        assert_eq!(
            evaluate("self >= oldSelf", &json!(2), Some(&json!(1))),
            Some(true)
        );
        assert_eq!(
            evaluate("self >= oldSelf", &json!(0), Some(&json!(1))),
            Some(false)
        );
        assert_eq!(
            evaluate("self == oldSelf", &json!("a"), Some(&json!("b"))),
            Some(false)
        );
        assert_eq!(evaluate("self.n < 3", &json!({"n": 2}), None), Some(true));
    }

    #[test]
    fn syntax_errors_print_as_cel_go_does() {
        let expected = "ERROR: <input>:1:8: Syntax error: token recognition error at: '='\n | self ===\n | .......^\nERROR: <input>:1:9: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}\n | self ===\n | ........^";
        assert_eq!(super::syntax_errors("self ==="), Some(expected.to_string()));
        for valid in [
            "self == oldSelf",
            "!has(self.serviceAccountName) || (has(self.provider) && (self.provider == 'azure' || self.provider == 'aws'))",
            "self.all(x, x.name.startsWith(\"a#\")) // comment with @",
            "size(self) <= 10 && self.matches('^[a-z]+$') ? 1.5e3 : -2u",
            "r'\\d+' in [b'x', '''multi\nline ' # ''']",
        ] {
            assert_eq!(super::syntax_errors(valid), None, "{valid}");
        }
    }
}
