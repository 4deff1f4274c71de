//! A parsed scenario file as a tree of values that remember where they were written.
//!
//! TOML is parsed with `toml`'s span-keeping `DeTable`, then turned into owned [`Node`]s
//! carrying their file and byte range, so that merging files (`extends`) and validating
//! fields can point every problem at the exact text that caused it.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostic::{Diagnostic, Diagnostics};
use super::source::{FileId, Location};

#[derive(Clone, Debug)]
pub enum Value {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    Datetime(String),
    Array(Vec<Node>),
    Table(Table),
}

/// A value and where it was written.
#[derive(Clone, Debug)]
pub struct Node {
    pub value: Value,
    pub loc: Location,
}

/// A key and where it was written.
#[derive(Clone, Debug)]
pub struct Key {
    pub name: String,
    pub loc: Location,
}

/// A table in file order.
#[derive(Clone, Debug)]
pub struct Table {
    pub entries: Vec<(Key, Node)>,
    pub loc: Location,
}

impl Value {
    /// The TOML type name, for "expected a number, found a string".
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "a string",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Boolean(_) => "a boolean",
            Value::Datetime(_) => "a date-time",
            Value::Array(_) => "an array",
            Value::Table(_) => "a table",
        }
    }
}

impl Table {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    pub fn key(&self, key: &str) -> Option<&Key> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, _)| k)
    }

    /// Sets `key`, replacing an existing entry in place or appending.
    pub fn set(&mut self, key: Key, node: Node) {
        if let Some(slot) = self.entries.iter_mut().find(|(k, _)| k.name == key.name) {
            *slot = (key, node);
        } else {
            self.entries.push((key, node));
        }
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        match &self.get(key)?.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

/// Parses one file's text. Syntax errors are all reported; the tree holds what could be read.
pub fn parse(file: FileId, text: &str, diags: &mut Diagnostics) -> Option<Table> {
    let (root, errors) = DeTable::parse_recoverable(text);
    let mut failed = false;
    for e in &errors {
        failed = true;
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim().trim_end_matches('.').to_string();
        let message = if message.is_empty() {
            "invalid TOML".to_string()
        } else {
            message
        };
        diags.push(
            Diagnostic::error(format!("invalid TOML: {message}"))
                .at(Location::new(file, span))
                .label("the file cannot be read past this point as TOML")
                .help("see the format by example in README.md, or a bundled scenario"),
        );
    }
    if failed {
        return None;
    }
    let span = root.span();
    Some(convert_table(file, root.get_ref(), span, diags))
}

fn convert_table(
    file: FileId,
    t: &DeTable<'_>,
    span: std::ops::Range<usize>,
    diags: &mut Diagnostics,
) -> Table {
    let entries = t
        .iter()
        .map(|(k, v)| {
            let key = Key {
                name: k.get_ref().to_string(),
                loc: Location::new(file, k.span()),
            };
            (key, convert(file, v, diags))
        })
        .collect();
    Table {
        entries,
        loc: Location::new(file, span),
    }
}

fn convert(file: FileId, v: &Spanned<DeValue<'_>>, diags: &mut Diagnostics) -> Node {
    let loc = Location::new(file, v.span());
    let value = match v.get_ref() {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => {
            let digits: String = i.as_str().chars().filter(|c| *c != '_').collect();
            let (neg, body) = match digits.strip_prefix('-') {
                Some(rest) => (true, rest.to_string()),
                None => (false, digits.trim_start_matches('+').to_string()),
            };
            let body = body
                .trim_start_matches("0x")
                .trim_start_matches("0o")
                .trim_start_matches("0b");
            match i64::from_str_radix(body, i.radix()) {
                Ok(n) => Value::Integer(if neg { -n } else { n }),
                Err(_) => {
                    diags.push(
                        Diagnostic::error("integer out of range")
                            .at(loc.clone())
                            .label("does not fit in a 64-bit integer"),
                    );
                    Value::Integer(0)
                }
            }
        }
        DeValue::Float(f) => {
            let text: String = f.as_str().chars().filter(|c| *c != '_').collect();
            let x = match text.trim_start_matches('+') {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" | "-nan" => f64::NAN,
                other => other.parse::<f64>().unwrap_or(f64::NAN),
            };
            Value::Float(x)
        }
        DeValue::Boolean(b) => Value::Boolean(*b),
        DeValue::Datetime(d) => Value::Datetime(d.to_string()),
        DeValue::Array(a) => Value::Array(a.iter().map(|x| convert(file, x, diags)).collect()),
        DeValue::Table(t) => Value::Table(convert_table(file, t, v.span(), diags)),
    };
    Node { value, loc }
}
