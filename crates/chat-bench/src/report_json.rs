//! The recorded runs as JSON values that keep their keys in order, written
//! back the way docs/BENCHMARKS.md has always held them (`{"key": value, ...}`,
//! floats as Python prints them), and the number formats of the report's tables.

use std::fmt::{self, Write as _};

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value; objects keep their keys in the order read (and added).
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn parse(text: &str) -> Result<Json, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The value under `key`, `None` when absent or null.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(kv) => kv
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .filter(|v| **v != Json::Null),
            _ => None,
        }
    }

    /// The value at the end of `path`, `None` when any step is absent or null.
    pub fn at(&self, path: &[&str]) -> Option<&Json> {
        path.iter().try_fold(self, |v, k| v.get(k))
    }

    pub fn num(&self) -> Option<f64> {
        match *self {
            Json::Int(i) => Some(i as f64),
            Json::Float(f) => Some(f),
            _ => None,
        }
    }

    /// The number under `key`.
    pub fn n(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Json::num)
    }

    /// The string under `key`, "" when absent or not a string.
    pub fn s(&self, key: &str) -> &str {
        match self.get(key) {
            Some(Json::Str(s)) => s,
            _ => "",
        }
    }

    /// Python's truthiness (`if r.get(key)`).
    pub fn truthy(v: Option<&Json>) -> bool {
        match v {
            None | Some(Json::Null) | Some(Json::Bool(false)) => false,
            Some(Json::Int(i)) => *i != 0,
            Some(Json::Float(f)) => *f != 0.0,
            Some(Json::Str(s)) => !s.is_empty(),
            Some(Json::Arr(a)) => !a.is_empty(),
            Some(Json::Obj(o)) => !o.is_empty(),
            Some(Json::Bool(true)) => true,
        }
    }

    /// Adds `key` unless the object has it already (Python's `setdefault`).
    pub fn set_default(&mut self, key: &str, value: impl FnOnce() -> Json) {
        if let Json::Obj(kv) = self {
            if !kv.iter().any(|(k, _)| k == key) {
                kv.push((key.to_owned(), value()));
            }
        }
    }

    /// Sets `key`, in place when the object has it, else at the end.
    pub fn set(&mut self, key: &str, value: Json) {
        if let Json::Obj(kv) = self {
            match kv.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value,
                None => kv.push((key.to_owned(), value)),
            }
        }
    }

    /// One line, as Python's `json.dumps(value, ensure_ascii=False)` writes it.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        self.dump_into(&mut out);
        out
    }

    fn dump_into(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Json::Float(f) if f.is_nan() => out.push_str("NaN"),
            Json::Float(f) if f.is_infinite() => {
                out.push_str(if *f > 0.0 { "Infinity" } else { "-Infinity" })
            }
            Json::Float(f) => out.push_str(&py_repr(*f)),
            Json::Str(s) => dump_str(s, out),
            Json::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.dump_into(out);
                }
                out.push(']');
            }
            Json::Obj(kv) => {
                out.push('{');
                for (i, (k, v)) in kv.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    dump_str(k, out);
                    out.push_str(": ");
                    v.dump_into(out);
                }
                out.push('}');
            }
        }
    }
}

fn dump_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Int(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Json::Arr(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut obj = Json::Obj(Vec::new());
        while let Some((k, v)) = map.next_entry::<String, Json>()? {
            obj.set(&k, v); // a repeated key: the last value, at the first place
        }
        Ok(obj)
    }
}

/// A float as Python's `repr` writes it: the shortest digits that read back
/// the same, positional from 1e-4 up to 1e16 (with at least one decimal),
/// else `1.5e-05` / `1e+16`.
pub fn py_repr(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let sci = format!("{x:e}"); // shortest round-trip digits: "-1.2345e-5"
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let s = format!("{x}");
        if s.contains('.') {
            s
        } else {
            s + ".0"
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// Python's `"{}".format(v)`.
pub fn py_str(v: &Json) -> String {
    match v {
        Json::Null => "None".into(),
        Json::Bool(b) => if *b { "True" } else { "False" }.into(),
        Json::Int(i) => i.to_string(),
        Json::Float(f) => py_repr(*f),
        Json::Str(s) => s.clone(),
        other => other.dump(),
    }
}

/// `"{:.Nf}"` (and `"{:,.Nf}"` with `grouped`) of a number; other values as `{}`.
pub fn fixed(v: &Json, decimals: usize, grouped: bool) -> String {
    match v {
        Json::Int(_) | Json::Float(_) => fixed_f(v.num().unwrap_or(0.0), decimals, grouped),
        Json::Bool(b) => fixed_f(f64::from(u8::from(*b)), decimals, grouped),
        other => py_str(other),
    }
}

/// `"{:.Nf}"` / `"{:,.Nf}"` of a float.
pub fn fixed_f(x: f64, decimals: usize, grouped: bool) -> String {
    if !x.is_finite() {
        return py_repr(x);
    }
    let s = format!("{x:.decimals$}");
    if grouped {
        group(&s)
    } else {
        s
    }
}

/// `"{:,}"`: integers with thousands separators, floats as their repr, grouped.
pub fn thousands(v: &Json) -> String {
    match v {
        Json::Int(i) => group(&i.to_string()),
        Json::Float(f) if f.is_finite() && !py_repr(*f).contains('e') => group(&py_repr(*f)),
        other => py_str(other),
    }
}

/// `"{:.0%}"`.
pub fn percent(share: f64) -> String {
    format!("{}%", fixed_f(share * 100.0, 0, false))
}

/// Commas between the thousands of the integer part of a plain decimal.
fn group(s: &str) -> String {
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", s),
    };
    let (int, frac) = match rest.find('.') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let mut out = String::from(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out + frac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_prints_them() {
        for (x, want) in [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (399933.333, "399933.333"),
            (1e16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (-2.5, "-2.5"),
            (0.0, "0.0"),
            (1.2345e300, "1.2345e+300"),
        ] {
            assert_eq!(py_repr(x), want, "{x}");
        }
    }

    #[test]
    fn numbers_in_the_tables() {
        assert_eq!(thousands(&Json::Int(67044)), "67,044");
        assert_eq!(thousands(&Json::Int(-1234567)), "-1,234,567");
        assert_eq!(thousands(&Json::Int(999)), "999");
        assert_eq!(thousands(&Json::Float(1234.5)), "1,234.5");
        assert_eq!(fixed(&Json::Float(33427.4), 0, true), "33,427");
        assert_eq!(fixed(&Json::Int(5), 1, false), "5.0");
        assert_eq!(fixed(&Json::Float(0.25), 1, false), "0.2", "ties to even");
        assert_eq!(fixed(&Json::Float(2.5), 0, false), "2");
        assert_eq!(fixed(&Json::Float(79.199), 1, false), "79.2");
        assert_eq!(fixed_f(799_999.9, 0, true), "800,000");
        assert_eq!(percent(399_900.0 / 600_000.0), "67%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(py_str(&Json::Float(1.0)), "1.0");
        assert_eq!(py_str(&Json::Bool(true)), "True");
    }

    #[test]
    fn keys_keep_their_order_and_lines_read_back() {
        let line =
            r#"{"mode":"chat","b":1.0,"a":{"z":1,"y":[true,null]},"s":"café \"x\"\n\u0001"}"#;
        let mut v = Json::parse(line).unwrap();
        v.set_default("a", || Json::Int(0));
        v.set_default("date", || Json::Str("2026-11-25".into()));
        assert_eq!(
            v.dump(),
            r#"{"mode": "chat", "b": 1.0, "a": {"z": 1, "y": [true, null]}, "s": "café \"x\"\n\u0001", "date": "2026-11-25"}"#
        );
        assert_eq!(Json::parse(&v.dump()).unwrap(), v);
        assert_eq!(v.at(&["a", "z"]), Some(&Json::Int(1)));
        assert_eq!(v.at(&["a", "x"]), None);
        assert_eq!(Json::parse(r#"{"k":null}"#).unwrap().get("k"), None);
        assert_eq!(Json::parse("{}").unwrap().dump(), "{}");
    }
}
