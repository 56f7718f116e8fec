//! The lines of a stunnel.conf: comments, `[section]` headers and
//! `option = value` pairs, with a UTF-8 byte-order mark skipped and
//! `include = DIRECTORY` spliced in where it stands, as stunnel does.

use std::path::Path;

use super::{Errors, Loc};

/// One meaningful line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Item {
    /// `[name]`.
    Section { name: String, at: Loc },
    /// `key = value`, both trimmed.
    Option { key: String, value: String, at: Loc },
    /// An `include` directory that was read.
    Included(std::path::PathBuf),
}

/// How deep `include` may nest (a directory including itself stops here).
const MAX_INCLUDE_DEPTH: usize = 8;

/// Splits `text` (the contents of `file`) into items, reading included
/// directories when `includes` is true (else `include` is an error); problems
/// go to `errors` and the line is skipped.
pub(super) fn read(file: &str, text: &str, includes: bool, errors: &mut Errors) -> Vec<Item> {
    let mut out = Vec::new();
    let mut seq = 0;
    let max_depth = if includes { MAX_INCLUDE_DEPTH } else { 0 };
    read_into(file, text, (0, max_depth), &mut seq, &mut out, errors);
    out
}

fn read_into(
    file: &str,
    text: &str,
    (depth, max_depth): (usize, usize),
    seq: &mut usize,
    out: &mut Vec<Item>,
    errors: &mut Errors,
) {
    // stunnel skips a UTF-8 byte-order mark at the start of each file.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, raw) in text.lines().enumerate() {
        *seq += 1;
        let at = Loc {
            seq: *seq,
            at: format!("{file}:{}", i + 1),
        };
        let l = raw.trim();
        if l.is_empty() || l.starts_with(';') || l.starts_with('#') {
            continue;
        }
        if let Some(rest) = l.strip_prefix('[') {
            let Some(name) = rest.strip_suffix(']') else {
                errors.add(&at, "section header must end with ']'");
                continue;
            };
            let name = name.trim();
            if name.is_empty() {
                errors.add(&at, "empty section name");
                continue;
            }
            out.push(Item::Section {
                name: name.to_string(),
                at,
            });
            continue;
        }
        let Some((key, value)) = l.split_once('=') else {
            errors.add(&at, format!("expected 'option = value', found {l:?}"));
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key.eq_ignore_ascii_case("include") {
            if max_depth == 0 {
                errors.add(&at, "include is not read here (no file system access)");
            } else {
                include(value, &at, (depth, max_depth), seq, out, errors);
            }
            continue;
        }
        out.push(Item::Option {
            key: key.to_string(),
            value: value.to_string(),
            at,
        });
    }
}

/// stunnel's `include = DIRECTORY`: every regular file of the directory
/// (whatever its name, dot files too; subdirectories are skipped), in
/// ascending byte order of the names, read as if written here.
fn include(
    dir: &str,
    at: &Loc,
    (depth, max_depth): (usize, usize),
    seq: &mut usize,
    out: &mut Vec<Item>,
    errors: &mut Errors,
) {
    if depth >= max_depth {
        errors.add(
            at,
            format!("include = {dir}: nested more than {MAX_INCLUDE_DEPTH} deep"),
        );
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => {
            out.push(Item::Included(Path::new(dir).to_path_buf()));
            e
        }
        Err(e) => {
            errors.add(
                at,
                format!("include = {dir}: cannot read the directory: {e}"),
            );
            return;
        }
    };
    let mut names: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    for name in names {
        let path = Path::new(dir).join(&name);
        // As stunnel: stat (following links), and only regular files.
        if !std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            continue;
        }
        let shown = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => read_into(&shown, &text, (depth + 1, max_depth), seq, out, errors),
            Err(e) => errors.add(at, format!("include = {dir}: cannot read {shown}: {e}")),
        }
    }
}
