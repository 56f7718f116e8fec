//! tls-core in a unikernel (issue 22): the two programs in `unikernel/`
//! (their own Cargo workspace) are built here and run.
//!
//! - `freestanding`: `#![no_std]`, `#![no_main]`, linked static with
//!   `-nostartfiles -nostdlib` for x86_64-unknown-linux-gnu (ring builds its
//!   assembly only for OS targets). It must exit 0 after a full TLS 1.3
//!   handshake with X.509 chain validation; be static (no PT_INTERP, no
//!   PT_DYNAMIC); and `nm -u` must list nothing: every symbol it needs is
//!   its own or the harness's.
//! - `wasm`: a wasm32-unknown-unknown cdylib whose imports must be exactly
//!   the embedder's `env.entropy` and `env.output` (read from the module's
//!   import section here), run under Node.js by `unikernel/wasm/run.js`.
//!
//! Both print how many random bytes reached the engine and ring from the
//! embedder's source; both must be non-zero.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tls_tests::peer::{require, Peer};

/// Building ring and tls-core from scratch (LTO) takes minutes on a busy
/// machine; running takes well under a second.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// Flags for the freestanding link: no C runtime, no libc, static, not
/// position-independent (nothing would relocate it).
const FREESTANDING_RUSTFLAGS: &str = "-C relocation-model=static -C link-arg=-nostartfiles \
     -C link-arg=-nostdlib -C link-arg=-static";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The unikernel workspace's target directory: under the main one, so it is
/// ignored and cleaned with it.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
        .join("unikernel")
}

/// Builds `package` of the unikernel workspace for `target`; the artifact
/// directory.
fn build(package: &str, target: &str, rustflags: &str) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let rustup = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    if let Ok(list) = rustup {
        let installed = String::from_utf8_lossy(&list.stdout);
        assert!(
            installed.lines().any(|l| l.trim() == target),
            "the {target} target is missing: rustup target add {target}"
        );
    }
    let output = Command::new(cargo)
        .current_dir(repo_root().join("unikernel"))
        .args(["build", "--locked", "-p", package, "--target", target])
        .arg("--target-dir")
        .arg(target_dir())
        .env("RUSTFLAGS", rustflags)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "building {package} for {target} failed{}:\n{stderr}",
        if stderr.contains("--locked") {
            " (unikernel/Cargo.lock is stale after a dependency change: \
             run `cargo update --workspace` in unikernel/ and commit it)"
        } else {
            ""
        }
    );
    target_dir().join(target).join("debug")
}

/// Runs `cmd` to its end; its exit status and stdout.
fn run(cmd: Command) -> (bool, String) {
    let mut peer = Peer::spawn_command(cmd);
    let status = peer.wait(RUN_TIMEOUT).expect("the program exits by itself");
    let stdout = String::from_utf8_lossy(&peer.stdout()).into_owned();
    eprint!("{stdout}{}", peer.stderr());
    (status.success(), stdout)
}

/// What both programs print on success.
fn assert_handshake_output(stdout: &str) {
    for line in [
        "handshake: Tls13 ",
        "chain validated to the CA for unikernel.test",
        "data: 20 bytes each way",
        "closed: close_notify both ways",
        "wrong name: refused (bad certificate: certificate not valid for name)",
        "randomness from the embedder: ",
        "unikernel handshake: ok",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
}

/// The program header types of an ELF64 little-endian file.
fn elf_segment_types(elf: &[u8]) -> Vec<u32> {
    let u16_at = |at: usize| u16::from_le_bytes(elf[at..at + 2].try_into().unwrap());
    let u32_at = |at: usize| u32::from_le_bytes(elf[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(elf[at..at + 8].try_into().unwrap());
    assert_eq!(&elf[..6], b"\x7fELF\x02\x01", "an ELF64 little-endian file");
    let phoff = usize::try_from(u64_at(0x20)).unwrap();
    let phentsize = usize::from(u16_at(0x36));
    let phnum = usize::from(u16_at(0x38));
    (0..phnum).map(|i| u32_at(phoff + i * phentsize)).collect()
}

#[test]
fn freestanding_binary_handshakes_with_no_libc_and_no_undefined_symbols() {
    require("cc", "gcc");
    let nm = require("nm", "binutils");
    let dir = build(
        "unikernel-freestanding",
        "x86_64-unknown-linux-gnu",
        FREESTANDING_RUSTFLAGS,
    );
    let binary = dir.join("unikernel-freestanding");

    let (ok, stdout) = run(Command::new(&binary));
    assert!(ok, "the freestanding program failed:\n{stdout}");
    assert_handshake_output(&stdout);

    let elf = std::fs::read(&binary).unwrap();
    let types = elf_segment_types(&elf);
    const PT_DYNAMIC: u32 = 2;
    const PT_INTERP: u32 = 3;
    assert!(!types.contains(&PT_INTERP), "has an interpreter: {types:?}");
    assert!(!types.contains(&PT_DYNAMIC), "is dynamic: {types:?}");

    let undefined = Command::new(&nm).arg("-u").arg(&binary).output().unwrap();
    assert!(undefined.status.success());
    let undefined = String::from_utf8_lossy(&undefined.stdout);
    assert_eq!(undefined.trim(), "", "undefined symbols:\n{undefined}");

    // What the harness provides in place of libc and the unwinder, and the
    // getrandom backend ring reaches through entropy's hook: all defined.
    let defined = Command::new(&nm)
        .args(["--defined-only", "--format=just-symbols"])
        .arg(&binary)
        .output()
        .unwrap();
    let defined = String::from_utf8_lossy(&defined.stdout);
    let harness = [
        "_start",
        "memcpy",
        "memmove",
        "memset",
        "memcmp",
        "bcmp",
        "rust_eh_personality",
        "_Unwind_Resume",
        "__getrandom_custom",
    ];
    for symbol in harness {
        assert!(
            defined.lines().any(|l| l == symbol),
            "{symbol} is not defined"
        );
    }
    eprintln!(
        "freestanding: {} bytes ({} symbols), 0 undefined, static; {} harness-defined: {}",
        elf.len(),
        defined.lines().count(),
        harness.len(),
        harness.join(" ")
    );
}

/// One import: module, name, kind (0 function, 1 table, 2 memory, 3 global).
type Import = (String, String, u8);

/// Reads an unsigned LEB128 at `*at`.
fn leb128(bytes: &[u8], at: &mut usize) -> u64 {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = bytes[*at];
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return value;
        }
        shift += 7;
        assert!(shift < 64, "LEB128 too long");
    }
}

fn wasm_name(bytes: &[u8], at: &mut usize) -> String {
    let len = usize::try_from(leb128(bytes, at)).unwrap();
    let name = String::from_utf8(bytes[*at..*at + len].to_vec()).expect("UTF-8 name");
    *at += len;
    name
}

/// The import section of a wasm module (binary format 1, section id 2).
fn wasm_imports(module: &[u8]) -> Vec<Import> {
    assert_eq!(&module[..8], b"\0asm\x01\0\0\0", "a wasm module, version 1");
    let mut at = 8;
    let mut imports = Vec::new();
    while at < module.len() {
        let id = module[at];
        at += 1;
        let size = usize::try_from(leb128(module, &mut at)).unwrap();
        let end = at + size;
        if id == 2 {
            let count = leb128(module, &mut at);
            for _ in 0..count {
                let module_name = wasm_name(module, &mut at);
                let name = wasm_name(module, &mut at);
                let kind = module[at];
                at += 1;
                match kind {
                    0 => {
                        leb128(module, &mut at); // type index
                    }
                    1 | 2 => {
                        if kind == 1 {
                            at += 1; // reference type
                        }
                        let flags = module[at];
                        at += 1;
                        leb128(module, &mut at); // minimum
                        if flags & 1 != 0 {
                            leb128(module, &mut at); // maximum
                        }
                    }
                    3 => at += 2, // value type, mutability
                    other => panic!("import kind {other}"),
                }
                imports.push((module_name, name, kind));
            }
            assert_eq!(at, end, "import section length");
        }
        at = end;
    }
    imports
}

#[test]
fn wasm_module_imports_only_the_embedders_functions_and_handshakes_under_node() {
    require("clang", "clang");
    let node = require("node", "nodejs");
    let dir = build("unikernel-wasm", "wasm32-unknown-unknown", "");
    let module_path = dir.join("unikernel_wasm.wasm");
    let module = std::fs::read(&module_path).unwrap();

    let imports = wasm_imports(&module);
    let expected: Vec<Import> = vec![
        ("env".into(), "output".into(), 0),
        ("env".into(), "entropy".into(), 0),
    ];
    let mut sorted = imports.clone();
    sorted.sort();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(sorted, expected_sorted, "the module's imports");

    let mut cmd = Command::new(node);
    cmd.arg(repo_root().join("unikernel/wasm/run.js"))
        .arg(&module_path);
    let (ok, stdout) = run(cmd);
    assert!(ok, "the wasm module failed under Node.js:\n{stdout}");
    assert_handshake_output(&stdout);
    eprintln!(
        "wasm: {} bytes, {} imports: {}",
        module.len(),
        imports.len(),
        imports
            .iter()
            .map(|(m, n, _)| format!("{m}.{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
}

/// The parser above, on a hand-made module: one function import and one
/// memory import with a maximum.
#[test]
fn wasm_import_section_parser() {
    let module = [
        b"\0asm\x01\0\0\0".as_slice(),
        // type section: one type () -> ()
        &[1, 4, 1, 0x60, 0, 0],
        // import section
        &[2, 19, 2],
        &[3, b'e', b'n', b'v', 1, b'f', 0, 0],
        &[3, b'e', b'n', b'v', 1, b'm', 2, 1, 1, 2],
    ]
    .concat();
    assert_eq!(
        wasm_imports(&module),
        vec![("env".into(), "f".into(), 0), ("env".into(), "m".into(), 2)]
    );
}
