//! CAM policy conditions as COS evaluates them for a temporary credential, for the two keys
//! the gateway writes: `cos:content-type` and `cos:content-length`. A plain operator needs the
//! key in the request (a request without it is refused: an UploadPart carries no
//! Content-Type, which is how a plain `string_equal` breaks multipart uploads); the
//! `_if_exist` form holds when the key is absent.

use serde_json::Value;

/// What a request shows for the condition keys.
#[derive(Debug, Default, Clone, Copy)]
pub struct RequestFacts<'a> {
    pub content_type: Option<&'a str>,
    pub content_length: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    StringEqual,
    StringLike,
    NumericEqual,
    NumericLessThan,
    NumericLessThanEqual,
    NumericGreaterThan,
    NumericGreaterThanEqual,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    op: Op,
    if_exist: bool,
    /// `cos:content-type` or `cos:content-length`.
    key: String,
    values: Vec<String>,
}

/// The conditions of one statement (`{"<operator>": {"<key>": value or [values]}}`).
pub fn parse(v: &Value) -> Result<Vec<Condition>, String> {
    let Some(ops) = v.as_object() else {
        return match v {
            Value::Null => Ok(Vec::new()),
            _ => Err("condition must be an object".into()),
        };
    };
    let mut out = Vec::new();
    for (name, keys) in ops {
        let (base, if_exist) = match name.strip_suffix("_if_exist") {
            Some(b) => (b, true),
            None => (name.as_str(), false),
        };
        let op = match base {
            "string_equal" => Op::StringEqual,
            "string_like" => Op::StringLike,
            "numeric_equal" => Op::NumericEqual,
            "numeric_less_than" => Op::NumericLessThan,
            "numeric_less_than_equal" => Op::NumericLessThanEqual,
            "numeric_greater_than" => Op::NumericGreaterThan,
            "numeric_greater_than_equal" => Op::NumericGreaterThanEqual,
            other => return Err(format!("the stand-in does not evaluate {other}")),
        };
        let keys = keys
            .as_object()
            .ok_or("a condition operator takes an object")?;
        for (key, vals) in keys {
            if key != "cos:content-type" && key != "cos:content-length" {
                return Err(format!("the stand-in does not evaluate {key}"));
            }
            let one = |x: &Value| match x {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            let values: Vec<String> = match vals {
                Value::Array(a) => a.iter().filter_map(one).collect(),
                x => one(x).into_iter().collect(),
            };
            if values.is_empty() {
                return Err(format!("{name} {key}: no values"));
            }
            out.push(Condition {
                op: op.clone(),
                if_exist,
                key: key.clone(),
                values,
            });
        }
    }
    Ok(out)
}

/// `*` matches any run of characters, everything else itself (case-sensitive, as CAM).
fn like(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !s.starts_with(first) || s.len() < first.len() + last.len() || !s.ends_with(last) {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

impl Condition {
    fn holds(&self, facts: &RequestFacts<'_>) -> bool {
        let text;
        let present: Option<&str> = match self.key.as_str() {
            "cos:content-type" => facts.content_type,
            _ => {
                text = facts.content_length.map(|n| n.to_string());
                text.as_deref()
            }
        };
        let Some(actual) = present else {
            return self.if_exist;
        };
        self.values.iter().any(|v| match self.op {
            Op::StringEqual => actual == v,
            Op::StringLike => like(v, actual),
            _ => match (actual.parse::<u64>(), v.parse::<u64>()) {
                (Ok(a), Ok(b)) => match self.op {
                    Op::NumericEqual => a == b,
                    Op::NumericLessThan => a < b,
                    Op::NumericLessThanEqual => a <= b,
                    Op::NumericGreaterThan => a > b,
                    _ => a >= b,
                },
                _ => false,
            },
        })
    }
}

/// Whether every condition of a statement holds for the request.
pub fn all_hold(conditions: &[Condition], facts: &RequestFacts<'_>) -> bool {
    conditions.iter().all(|c| c.holds(facts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts(ct: Option<&str>, len: Option<u64>) -> RequestFacts<'_> {
        RequestFacts {
            content_type: ct,
            content_length: len,
        }
    }

    #[test]
    fn if_exist_holds_without_the_key_and_a_plain_operator_does_not() {
        let c = parse(&json!({"string_like_if_exist": {"cos:content-type": "image/*"}})).unwrap();
        assert!(all_hold(&c, &facts(None, Some(5))));
        assert!(all_hold(&c, &facts(Some("image/png"), None)));
        assert!(!all_hold(&c, &facts(Some("text/html"), None)));
        let plain = parse(&json!({"string_equal": {"cos:content-type": "image/png"}})).unwrap();
        assert!(!all_hold(&plain, &facts(None, Some(5))));
        assert!(all_hold(&plain, &facts(Some("image/png"), None)));
    }

    #[test]
    fn lengths_and_lists_and_wildcards_are_read_as_cam_does() {
        let c = parse(&json!({
            "numeric_less_than_equal": {"cos:content-length": 10},
            "string_like_if_exist": {"cos:content-type": ["text/plain", "text/plain;*"]},
        }))
        .unwrap();
        assert!(all_hold(
            &c,
            &facts(Some("text/plain;charset=UTF-8"), Some(10))
        ));
        assert!(!all_hold(&c, &facts(Some("text/plain"), Some(11))));
        assert!(!all_hold(&c, &facts(Some("text/plainx"), Some(1))));
        assert!(!all_hold(&c, &facts(Some("text/plain"), None)));
        assert!(like("a*b*c", "axxbyyc") && !like("a*b*c", "axxc"));
    }

    #[test]
    fn unknown_operators_and_keys_are_refused() {
        assert!(parse(&json!({"ip_equal": {"qcs:ip": "1.2.3.4"}})).is_err());
        assert!(parse(&json!({"string_equal": {"cos:x-cos-acl": "private"}})).is_err());
    }
}
