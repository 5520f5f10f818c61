//! The Wavehost actor ABI, version 1, as Rust types: a transcription of
//! `ActorKit/Sources/ActorABI/include/wavehost/actor_abi.h`, which stays the contract. Only what this
//! actor uses is here; every struct is `#[repr(C)]` with the header's field order.

use std::os::raw::{c_char, c_void};

pub type Status = i32;
pub const WH_OK: Status = 0;
pub const WH_ERR_INVALID_INPUT: Status = 1;
pub const WH_ERR_INVALID_CONFIG: Status = 2;
pub const WH_ERR_INTERNAL: Status = 5;

pub const WH_KIND_VALIDATOR: u32 = 2;
pub const WH_CAP_THREAD_SAFE: u64 = 1 << 1;

#[repr(C)]
pub struct AbiRange {
    pub min_version: u32,
    pub max_version: u32,
}

#[repr(C)]
pub struct HostServices {
    pub struct_size: u32,
    pub abi_version: u32,
    pub context: *mut c_void,
    pub log: Option<unsafe extern "C" fn(*mut c_void, i32, *const c_char, usize)>,
}

#[repr(C)]
pub struct Reply {
    pub struct_size: u32,
    pub reserved: u32,
    pub data: *const u8,
    pub length: usize,
    pub release_token: *mut c_void,
}

pub type CreateFn = unsafe extern "C" fn(*const u8, usize, *const HostServices, *mut *mut c_void, *mut Reply) -> Status;
pub type InvokeFn = unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut Reply) -> Status;
pub type ReleaseFn = unsafe extern "C" fn(*mut Reply);
pub type DestroyFn = unsafe extern "C" fn(*mut c_void);

#[repr(C)]
pub struct Descriptor {
    pub struct_size: u32,
    pub abi_version: u32,
    pub name: *const c_char,
    pub version: *const c_char,
    pub kind: u32,
    pub reserved: u32,
    pub capabilities: u64,
    pub create: CreateFn,
    pub invoke: InvokeFn,
    pub release: ReleaseFn,
    pub destroy: DestroyFn,
    pub description: *const c_char,
    pub config_schema: *const c_char,
    pub input_schema: *const c_char,
    pub output_schema: *const c_char,
    pub examples: *const c_char,
}

// The descriptor holds pointers to static strings and functions only: nothing in it is ever
// written, so sharing it between threads is safe.
unsafe impl Sync for Descriptor {}

/// A NUL-terminated string literal as the header's `const char *`.
#[macro_export]
macro_rules! c_str {
    ($text:expr) => {
        concat!($text, "\0").as_ptr() as *const std::os::raw::c_char
    };
}
