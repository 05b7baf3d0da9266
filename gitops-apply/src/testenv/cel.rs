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
}
