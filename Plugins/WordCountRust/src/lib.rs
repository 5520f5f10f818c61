//! word-count: the example Wavehost actor in Rust. Copy this crate to start your own.
//!
//! It counts the words, characters and lines of one text field of its input:
//!     input {"text": "Senior Rust engineer\nRemote"}  ->  output {"words":4,"characters":27,"lines":2}
//! and refuses a text with fewer than `min_words` words, which makes it a small validator.
//!
//! What a Rust actor must get right, and where this file does it:
//!   - one exported `extern "C"` function, `wavehost_actor_entry`, negotiating the ABI version;
//!   - a static descriptor (`DESCRIPTOR`) with schemas and the examples `plugins check` runs;
//!   - no panic ever unwinds into the host: every entry point runs inside `catch_unwind`;
//!   - untrusted bytes parsed strictly (`json.rs`) before use;
//!   - every reply handed out as a leaked `Box<[u8]>` and taken back in `release`.
//!
//! No crates: `cargo build --release` with nothing but std.

mod abi;
mod json;

use abi::*;
use json::Value;
use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// One instance's settings, read from its config. Never written after `create`, which is
/// what makes concurrent calls on one instance safe (the actor declares WH_CAP_THREAD_SAFE).
struct WordCount {
    field: String,
    min_words: u64,
}

impl WordCount {
    fn from_config(config: &[u8]) -> Result<WordCount, String> {
        let mut settings = WordCount { field: "text".to_string(), min_words: 0 };
        if config.is_empty() {
            return Ok(settings);
        }
        let members = match json::parse(config) {
            Ok(Value::Object(members)) => members,
            Ok(_) => return Err("config must be a JSON object".to_string()),
            Err(error) => return Err(format!("config is not valid JSON: {} at byte {}", error.reason, error.offset)),
        };
        for (name, value) in &members {
            match (name.as_str(), value) {
                ("field", Value::String(path)) if !path.is_empty() && path.len() <= 256 => settings.field = path.clone(),
                ("field", _) => return Err("\"field\" must be a dotted path of 1 to 256 bytes, e.g. \"posting.body\"".to_string()),
                ("min_words", Value::Number(n)) if *n >= 0.0 && n.fract() == 0.0 && *n <= 1e15 => settings.min_words = *n as u64,
                ("min_words", _) => return Err("\"min_words\" must be a whole number, 0 or more".to_string()),
                _ => {
                    let shown: String = name.chars().take(64).collect();
                    return Err(format!("unknown config option {} (the options are \"field\" and \"min_words\")", json::quote(&shown)));
                }
            }
        }
        Ok(settings)
    }

    fn count(&self, input: &[u8]) -> Result<String, String> {
        let document = json::parse(input)
            .map_err(|error| format!("input is not valid JSON: {} at byte {}", error.reason, error.offset))?;
        let text = match document.at_path(&self.field) {
            Some(Value::String(text)) => text,
            Some(_) => return Err(format!("{} is not a string", json::quote(&self.field))),
            None => return Err(format!("input has no {} field", json::quote(&self.field))),
        };
        let words = text.split_whitespace().count() as u64;
        if words < self.min_words {
            return Err(format!("the text has {} words, fewer than min_words ({})", words, self.min_words));
        }
        Ok(format!("{{\"words\":{},\"characters\":{},\"lines\":{}}}", words, text.chars().count(), text.lines().count()))
    }
}

// ------------------------------------------------------------------ replies

/// Hands `bytes` to the host in `reply`; `release` takes them back. A non-null
/// `release_token` marks a reply this actor allocated.
unsafe fn reply_with(reply: *mut Reply, status: Status, bytes: String) -> Status {
    let boxed: Box<[u8]> = bytes.into_bytes().into_boxed_slice();
    let length = boxed.len();
    let data = Box::into_raw(boxed) as *mut u8;
    (*reply).data = data;
    (*reply).length = length;
    (*reply).release_token = data as *mut c_void;
    status
}

/// A panic in the actor becomes WH_ERR_INTERNAL with its message, never an unwind into C.
unsafe fn guarded(reply: *mut Reply, work: impl FnOnce() -> Status) -> Status {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(status) => status,
        Err(_) => reply_with(reply, WH_ERR_INTERNAL, "word-count: internal error (a panic)".to_string()),
    }
}

unsafe fn bytes<'a>(data: *const u8, length: usize) -> &'a [u8] {
    // A zero-length buffer may come as a NULL pointer, which from_raw_parts must never see.
    if data.is_null() || length == 0 { &[] } else { std::slice::from_raw_parts(data, length) }
}

// --------------------------------------------------------------- lifecycle

/// [instance-serial per new instance]
unsafe extern "C" fn create(config: *const u8, config_length: usize, _host: *const HostServices,
                            instance: *mut *mut c_void, reply: *mut Reply) -> Status {
    guarded(reply, || match WordCount::from_config(bytes(config, config_length)) {
        Ok(settings) => {
            *instance = Box::into_raw(Box::new(settings)) as *mut c_void;
            WH_OK
        }
        Err(message) => reply_with(reply, WH_ERR_INVALID_CONFIG, message),
    })
}

/// [instance-serial, but thread-safe: the instance is only read]
unsafe extern "C" fn invoke(instance: *mut c_void, input: *const u8, input_length: usize, reply: *mut Reply) -> Status {
    guarded(reply, || {
        let settings = &*(instance as *const WordCount);
        match settings.count(bytes(input, input_length)) {
            Ok(output) => reply_with(reply, WH_OK, output),
            Err(message) => reply_with(reply, WH_ERR_INVALID_INPUT, message),
        }
    })
}

/// [any-thread] Looks at the reply alone: it may come after the instance is destroyed.
unsafe extern "C" fn release(reply: *mut Reply) {
    let reply = &mut *reply;
    if !reply.release_token.is_null() {
        let slice = std::ptr::slice_from_raw_parts_mut(reply.release_token as *mut u8, reply.length);
        drop(Box::from_raw(slice));
        reply.release_token = std::ptr::null_mut();
    }
}

/// [once per instance]
unsafe extern "C" fn destroy(instance: *mut c_void) {
    if !instance.is_null() {
        drop(Box::from_raw(instance as *mut WordCount));
    }
}

// -------------------------------------------------------------- descriptor

static DESCRIPTOR: Descriptor = Descriptor {
    struct_size: std::mem::size_of::<Descriptor>() as u32,
    abi_version: 1,
    name: c_str!("word-count"),
    version: c_str!("1.0.0"),
    kind: WH_KIND_VALIDATOR,
    reserved: 0,
    capabilities: WH_CAP_THREAD_SAFE,
    create,
    invoke,
    release,
    destroy,
    description: c_str!("Counts the words, characters and lines of a text field; refuses texts under min_words words."),
    config_schema: c_str!(r#"{"type":"object","additionalProperties":false,"properties":{"field":{"type":"string","minLength":1,"maxLength":256,"default":"text","description":"The dotted path of the text in the input."},"min_words":{"type":"integer","minimum":0,"default":0,"description":"Refuse texts with fewer words."}}}"#),
    input_schema: c_str!(r#"{"type":"object","description":"Holds a string at the configured field."}"#),
    output_schema: c_str!(r#"{"type":"object","required":["words","characters","lines"],"additionalProperties":false,"properties":{"words":{"type":"integer","minimum":0},"characters":{"type":"integer","minimum":0,"description":"Unicode scalar values."},"lines":{"type":"integer","minimum":0}}}"#),
    examples: c_str!(r#"[
        {"name":"counts words, characters and lines","input":{"text":"Senior Rust engineer\nRemote"},"output":{"words":4,"characters":27,"lines":2}},
        {"name":"reads the configured field","config":{"field":"posting.body"},"input":{"posting":{"body":"h\u00e9llo w\u00f6rld"}},"output":{"words":2,"characters":11,"lines":1}},
        {"name":"refuses a text under min_words","config":{"min_words":5},"input":{"text":"too short"},"error":true},
        {"name":"refuses input without the field","input":{"title":"no text"},"error":true}
    ]"#),
};

/// [any-thread] The one exported symbol. The range is literal: this code speaks version 1.
#[no_mangle]
pub unsafe extern "C" fn wavehost_actor_entry(abi_version: u32, speaks: *mut AbiRange) -> *const Descriptor {
    if !speaks.is_null() {
        (*speaks).min_version = 1;
        (*speaks).max_version = 1;
    }
    if abi_version == 1 { &DESCRIPTOR } else { std::ptr::null() }
}
