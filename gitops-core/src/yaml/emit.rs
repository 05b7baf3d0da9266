//! Writing JSON values as YAML through the libyaml emitter, with yaml.v2's choices of style.

use libyaml_safer::{Emitter, Encoding, Event, MappingStyle, ScalarStyle, SequenceStyle};
use serde_json::{Map, Value};

use super::{number, order, resolve};

/// yaml.v2's emitter escapes characters that libyaml-safer prints as they are: every
/// character outside the Basic Multilingual Plane, and (a yaml.v2 quirk) every character of
/// a string that starts with a byte order mark. Such strings are emitted double-quoted with
/// each of those characters replaced by its escape sequence spelled in private-use
/// characters (one column each, so lines fold at the same places), mapped back to ASCII
/// after emission.
const PLACEHOLDER_BASE: u32 = 0xE000;

/// Emits one document; libyaml only fails on event sequences this module never produces.
pub(crate) fn document(value: &Value) -> Result<String, libyaml_safer::Error> {
    emit_document(|emitter, escaped| node(emitter, value, escaped))
}

/// Emits one document whose root is the map `map` (an object, printed without copying it
/// into a [`Value`] first).
pub(crate) fn map_document(map: &Map<String, Value>) -> Result<String, libyaml_safer::Error> {
    emit_document(|emitter, escaped| mapping(emitter, map, escaped))
}

fn emit_document(
    root: impl FnOnce(&mut Emitter<'_>, &mut bool) -> Result<(), libyaml_safer::Error>,
) -> Result<String, libyaml_safer::Error> {
    let mut out = Vec::new();
    let mut escaped = false;
    {
        let mut emitter = Emitter::new();
        emitter.set_output_string(&mut out);
        emitter.set_unicode(true);
        emitter.set_indent(2);
        emitter.set_width(80);
        emitter.emit(Event::stream_start(Encoding::Utf8))?;
        emitter.emit(Event::document_start(None, &[], true))?;
        root(&mut emitter, &mut escaped)?;
        emitter.emit(Event::document_end(true))?;
        emitter.emit(Event::stream_end())?;
        emitter.flush()?;
    }
    // The emitter writes UTF-8 from `&str` input: take the bytes as they are instead of
    // copying them through a lossy check (the copy cost about 2% of rendering a large tree).
    let mut text = String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    // libyaml closes a stream whose last block scalar keeps its final newlines (`|+`) with
    // `...`; yaml.v2 resets that flag at the next indicator and never writes it here.
    if text.ends_with("\n...\n") {
        text.truncate(text.len() - 4);
    }
    if escaped {
        return Ok(text.chars().map(unplaceholder).collect());
    }
    Ok(text)
}

fn unplaceholder(c: char) -> char {
    match (c as u32).checked_sub(PLACEHOLDER_BASE) {
        Some(ascii @ 0..0x80) => char::from_u32(ascii).unwrap_or(c),
        _ => c,
    }
}

fn node(
    emitter: &mut Emitter<'_>,
    value: &Value,
    escaped: &mut bool,
) -> Result<(), libyaml_safer::Error> {
    match value {
        Value::Null => plain(emitter, "null"),
        Value::Bool(b) => plain(emitter, if *b { "true" } else { "false" }),
        Value::Number(n) => plain(emitter, &number::format(n)),
        Value::String(s) => string(emitter, s, escaped),
        Value::Array(items) => {
            emitter.emit(Event::sequence_start(
                None,
                None,
                true,
                SequenceStyle::Block,
            ))?;
            for item in items {
                node(emitter, item, escaped)?;
            }
            emitter.emit(Event::sequence_end())
        }
        Value::Object(map) => mapping(emitter, map, escaped),
    }
}

fn mapping(
    emitter: &mut Emitter<'_>,
    map: &Map<String, Value>,
    escaped: &mut bool,
) -> Result<(), libyaml_safer::Error> {
    emitter.emit(Event::mapping_start(None, None, true, MappingStyle::Block))?;
    // Sorting the entries, not the keys, spares a map lookup per key.
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| order::compare(a.0, b.0));
    for (key, value) in entries {
        string(emitter, key, escaped)?;
        node(emitter, value, escaped)?;
    }
    emitter.emit(Event::mapping_end())
}

fn plain(emitter: &mut Emitter<'_>, text: &str) -> Result<(), libyaml_safer::Error> {
    emitter.emit(Event::scalar(
        None,
        None,
        text,
        true,
        true,
        ScalarStyle::Plain,
    ))
}

/// yaml.v2 `stringv`: literal for multi-line text, plain when it reads back as a string,
/// double-quoted otherwise; the emitter may still pick single or double quotes when the text
/// cannot be plain.
fn string(
    emitter: &mut Emitter<'_>,
    s: &str,
    escaped: &mut bool,
) -> Result<(), libyaml_safer::Error> {
    let all = s.starts_with('\u{feff}');
    if all || s.chars().any(|c| u32::from(c) >= 0x10000) {
        let mut text = String::with_capacity(s.len() * 2);
        for c in s.chars() {
            if all || u32::from(c) >= 0x10000 {
                text.extend(escape(c).chars().map(placeholder));
            } else {
                text.push(c);
            }
        }
        *escaped = true;
        return emitter.emit(Event::scalar(
            None,
            None,
            &text,
            true,
            true,
            ScalarStyle::DoubleQuoted,
        ));
    }
    let style = if s.contains('\n') {
        ScalarStyle::Literal
    } else if resolve::plain_is_string(s) {
        ScalarStyle::Plain
    } else {
        ScalarStyle::DoubleQuoted
    };
    emitter.emit(Event::scalar(None, None, s, true, true, style))
}

fn placeholder(c: char) -> char {
    char::from_u32(PLACEHOLDER_BASE + u32::from(c)).unwrap_or(c)
}

/// yaml.v2's escape of one character in a double-quoted scalar.
fn escape(c: char) -> String {
    match c {
        '\0' => "\\0".into(),
        '\u{7}' => "\\a".into(),
        '\u{8}' => "\\b".into(),
        '\t' => "\\t".into(),
        '\n' => "\\n".into(),
        '\u{b}' => "\\v".into(),
        '\u{c}' => "\\f".into(),
        '\r' => "\\r".into(),
        '\u{1b}' => "\\e".into(),
        '"' => "\\\"".into(),
        '\\' => "\\\\".into(),
        '\u{85}' => "\\N".into(),
        '\u{a0}' => "\\_".into(),
        '\u{2028}' => "\\L".into(),
        '\u{2029}' => "\\P".into(),
        c if u32::from(c) <= 0xFF => format!("\\x{:02X}", u32::from(c)),
        c if u32::from(c) <= 0xFFFF => format!("\\u{:04X}", u32::from(c)),
        c => format!("\\U{:08X}", u32::from(c)),
    }
}
