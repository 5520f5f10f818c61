//! Just enough JSON for an actor: a strict parser (RFC 8259 on text that `std::str::from_utf8`
//! accepted, so the UTF-8 is valid; `\u` surrogates must pair; nesting at most 512 deep, the
//! host's limit) and a writer for strings that escapes what JSON requires.

pub const MAX_DEPTH: usize = 512;

#[derive(Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The value at a dotted path ("posting.body", "items.0"); the last of repeated names wins.
    pub fn at_path(&self, path: &str) -> Option<&Value> {
        let mut value = self;
        for segment in path.split('.').filter(|segment| !segment.is_empty()) {
            value = match value {
                Value::Object(members) => members.iter().rev().find(|(name, _)| name == segment).map(|(_, v)| v)?,
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(value)
    }
}

/// Why a text is not JSON, and the byte at fault.
#[derive(Debug)]
pub struct ParseError {
    pub reason: &'static str,
    pub offset: usize,
}

pub fn parse(bytes: &[u8]) -> Result<Value, ParseError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|error| ParseError { reason: "invalid UTF-8", offset: error.valid_up_to() })?;
    let mut parser = Parser { bytes: text.as_bytes(), at: 0 };
    parser.skip_space();
    if parser.bytes.is_empty() {
        return Err(parser.fail("empty input"));
    }
    let value = parser.value(0)?;
    parser.skip_space();
    if parser.at < parser.bytes.len() {
        return Err(parser.fail("unexpected data after the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Parser<'a> {
    fn fail(&self, reason: &'static str) -> ParseError {
        ParseError { reason, offset: self.at }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8, reason: &'static str) -> Result<(), ParseError> {
        self.skip_space();
        if self.peek() != Some(byte) {
            return Err(self.fail(reason));
        }
        self.at += 1;
        Ok(())
    }

    /// One value. Depth is checked before going deeper, so 100,000 '[' cost 512 frames at most.
    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.skip_space();
        match self.peek() {
            None => Err(self.fail("unexpected end of input")),
            Some(b'[' | b'{') if depth == MAX_DEPTH => Err(self.fail("nesting too deep")),
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.skip_space();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_space();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b']') => { self.at += 1; return Ok(Value::Array(items)); }
                        _ => return Err(self.fail("expected ',' or ']' in array")),
                    }
                }
            }
            Some(b'{') => {
                self.at += 1;
                let mut members = Vec::new();
                self.skip_space();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Ok(Value::Object(members));
                }
                loop {
                    self.skip_space();
                    if self.peek() != Some(b'"') {
                        return Err(self.fail("expected a string key in object"));
                    }
                    let name = self.string()?;
                    self.expect(b':', "expected ':' after object key")?;
                    members.push((name, self.value(depth + 1)?));
                    self.skip_space();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b'}') => { self.at += 1; return Ok(Value::Object(members)); }
                        _ => return Err(self.fail("expected ',' or '}' in object")),
                    }
                }
            }
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.fail("unexpected character")),
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, ParseError> {
        if !self.bytes[self.at..].starts_with(word.as_bytes()) {
            return Err(self.fail("invalid literal"));
        }
        self.at += word.len();
        Ok(value)
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        self.at - start
    }

    /// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let integer_start = self.at;
        if self.digits() == 0 {
            return Err(self.fail("expected a digit"));
        }
        if self.bytes[integer_start] == b'0' && self.at - integer_start > 1 {
            self.at = integer_start + 1;
            return Err(self.fail("leading zeros are not allowed"));
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(self.fail("expected a digit after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(self.fail("expected a digit in exponent"));
            }
        }
        // The bytes are ASCII digits and signs here, so this is valid UTF-8 and a valid f64.
        let text = std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or("0");
        Ok(Value::Number(text.parse().unwrap_or(f64::NAN)))
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits = self.bytes.get(self.at..self.at + 4).ok_or_else(|| self.fail("truncated \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.fail("invalid hex digit in \\u escape"))?;
        if !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(self.fail("invalid hex digit in \\u escape"));
        }
        self.at += 4;
        u32::from_str_radix(text, 16).map_err(|_| self.fail("invalid hex digit in \\u escape"))
    }

    /// A string, at its opening quote, with its escapes decoded.
    fn string(&mut self) -> Result<String, ParseError> {
        self.at += 1;
        let mut decoded = String::new();
        loop {
            let run_start = self.at;
            while let Some(byte) = self.peek() {
                if byte == b'"' || byte == b'\\' || byte < 0x20 {
                    break;
                }
                self.at += 1;
            }
            // Whole UTF-8 sequences only: the run stops at ASCII bytes.
            decoded.push_str(std::str::from_utf8(&self.bytes[run_start..self.at]).unwrap_or(""));
            match self.peek() {
                None => return Err(self.fail("unterminated string")),
                Some(b'"') => { self.at += 1; return Ok(decoded); }
                Some(b'\\') => self.escape(&mut decoded)?,
                Some(_) => return Err(self.fail("control character in string")),
            }
        }
    }

    fn escape(&mut self, decoded: &mut String) -> Result<(), ParseError> {
        let start = self.at;
        self.at += 1;
        let kind = self.peek().ok_or_else(|| self.fail("unterminated escape"))?;
        self.at += 1;
        let simple = match kind {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                let point = if (0xD800..0xDC00).contains(&unit) && self.bytes[self.at..].starts_with(b"\\u") {
                    self.at += 2;
                    let low = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        self.at = start;
                        return Err(self.fail("unpaired surrogate in \\u escape"));
                    }
                    0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    unit
                };
                // Lone surrogates have no char: from_u32 refuses them.
                match char::from_u32(point) {
                    Some(character) => character,
                    None => { self.at = start; return Err(self.fail("unpaired surrogate in \\u escape")); }
                }
            }
            _ => { self.at = start; return Err(self.fail("invalid escape")); }
        };
        decoded.push(simple);
        Ok(())
    }
}

/// `text` as a JSON string, quotes included.
pub fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for character in text.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            control if (control as u32) < 0x20 => quoted.push_str(&format!("\\u{:04x}", control as u32)),
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}
