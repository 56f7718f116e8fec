//! `tls-tunnel generate man|completions SHELL`: the manual page and shell
//! completion scripts, built from the clap definitions of the command line
//! so that they list every option the binary accepts.
//!
//! The subcommand is read before the daemon's own parser and is absent from
//! `--help`: it is a packaging tool, not a tunnel mode.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;
use roff::{roman, Roff};

use crate::cli::Cli;

/// The program's name, as completions register it.
const BIN: &str = "tls-tunnel";

/// The word after the program name that selects this tool.
const WORD: &str = "generate";

/// The manual section of the page: a daemon, as stunnel(8).
const SECTION: &str = "8";

/// `tls-tunnel generate`.
#[derive(Debug, Parser)]
#[command(
    name = "tls-tunnel generate",
    about = "Write the manual page or a shell completion script to standard output."
)]
struct Generate {
    #[command(subcommand)]
    what: What,
}

/// What to write.
#[derive(Debug, Subcommand)]
enum What {
    /// The manual page tls-tunnel(8), in roff (install as man8/tls-tunnel.8).
    Man {
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// A completion script for this shell.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: Shell,
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// Runs `tls-tunnel generate ...` when the command line starts with it;
/// `None` leaves the command line to the daemon's parser.
pub fn dispatch() -> Option<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(WORD.as_ref()) {
        return None;
    }
    let parsed = Generate::parse_from(std::iter::once("tls-tunnel generate".into()).chain(args));
    let (bytes, output) = match parsed.what {
        What::Man { output } => (man_page(), output),
        What::Completions { shell, output } => (completions(shell), output),
    };
    let written = match &output {
        Some(path) => std::fs::write(path, &bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => std::io::stdout()
            .write_all(&bytes)
            .map_err(|e| format!("cannot write to standard output: {e}")),
    };
    Some(match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tls-tunnel: {e}");
            ExitCode::FAILURE
        }
    })
}

/// The completion script for `shell`.
fn completions(shell: Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut out);
    if shell == Shell::Bash {
        // clap_complete's bash script names the state of `tls-tunnel server`
        // `tls__tunnel__subcmd__server` in its dispatch loop but
        // `tls__subcmd__tunnel__subcmd__server` in its case arms, so no
        // subcommand option ever completes for a bin name with a hyphen
        // (clap-rs/clap#6421, open). Spell the arms as the loop does.
        let script = String::from_utf8_lossy(&out);
        let arm = format!("{}__subcmd__", BIN.replace('-', "__subcmd__"));
        let state = format!("{}__subcmd__", BIN.replace('-', "__"));
        out = script.replace(&arm, &state).into_bytes();
    }
    out
}

/// The manual page: name, synopsis, the long description, the global
/// options, one section per subcommand with its own options, then the
/// sections of the long help's epilogue (examples, signals, exit status).
fn man_page() -> Vec<u8> {
    let cmd = built_command();
    let version = cmd.get_version().unwrap_or_default().to_owned();
    let man = clap_mangen::Man::new(cmd.clone())
        .title("TLS-TUNNEL")
        .section(SECTION)
        .date(page_date())
        .source(format!("tls-tunnel {version}"))
        .manual("System Manager's Manual");
    let mut page = String::new();
    page.push_str(&render(|w| man.render_title(w)));
    page.push_str(&body(&render(|w| man.render_name_section(w))));
    page.push_str(&body(&render(|w| man.render_synopsis_section(w))));

    let mut description = Roff::new();
    description.control("SH", ["DESCRIPTION"]);
    let long_about = cmd.get_long_about().or(cmd.get_about());
    text_to_roff(
        &mut description,
        &long_about.map(ToString::to_string).unwrap_or_default(),
        "SS",
    );
    page.push_str(&body(&description.render()));
    page.push_str(&body(&render(|w| man.render_options_section(w))));

    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        // The global options were listed once above.
        let sub = sub
            .clone()
            .mut_args(|a| if a.is_global_set() { a.hide(true) } else { a });
        let mut head = Roff::new();
        let title = format!("{} OPTIONS", sub.get_name().to_uppercase());
        head.control("SH", [title.as_str()]);
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            head.text([roman(about.to_string())]);
        }
        page.push_str(&body(&head.render()));
        let sub_man = clap_mangen::Man::new(sub);
        let synopsis = render(|w| sub_man.render_synopsis_section(w));
        let options = render(|w| sub_man.render_options_section(w));
        page.push_str(&demote_headings(&body(&synopsis)));
        page.push_str(&demote_headings(&body(&options)));
    }

    if let Some(epilogue) = cmd.get_after_long_help().or(cmd.get_after_help()) {
        let mut extra = Roff::new();
        text_to_roff(&mut extra, &epilogue.to_string(), "SH");
        page.push_str(&body(&extra.render()));
    }
    let mut end = Roff::new();
    end.control("SH", ["SEE ALSO"])
        .text([roman("stunnel(8), systemd.exec(5)")])
        .control("SH", ["VERSION"])
        .text([roman(version)]);
    page.push_str(&body(&end.render()));
    page.into_bytes()
}

/// The command line as the page describes it: built (global options
/// propagated to the subcommands) and without a `help` subcommand, as the
/// page is the help.
fn built_command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The page's date, `YYYY-MM-DD`: from SOURCE_DATE_EPOCH when set (for
/// reproducible packages), else today's (UTC).
fn page_date() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    let (y, m, d) = civil_from_days(secs / 86_400);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (the
/// era-based conversion of Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// Runs one of clap_mangen's section renderers into a string.
fn render(f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = f(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// A rendered part without the apostrophe preamble every roff render starts
/// with: the title's render keeps the one copy the page needs.
fn body(part: &str) -> String {
    let preamble = Roff::new().render();
    part.strip_prefix(preamble.as_str())
        .unwrap_or(part)
        .to_owned()
}

/// Inside a subcommand's section: its "SYNOPSIS"/"OPTIONS" headings become
/// subsection headings and the first one goes (the section says it).
fn demote_headings(part: &str) -> String {
    part.lines()
        .filter(|l| !matches!(*l, ".SH OPTIONS"))
        .map(|l| match l.strip_prefix(".SH ") {
            Some(rest) => format!(".SS {rest}\n"),
            None => format!("{l}\n"),
        })
        .collect()
}

/// Converts the plain-text help layout (a heading in capitals on its own
/// line, blocks indented under it) to roff: headings become `heading`
/// macros (`SH` or `SS`); a block of prose is filled, a block with columns
/// or deeper-indented lines (tables, examples) is kept as laid out.
fn text_to_roff(roff: &mut Roff, text: &str, heading: &str) {
    let mut block: Vec<&str> = Vec::new();
    // A paragraph macro right after a heading is redundant (mandoc warns).
    let mut after_heading = true;
    for line in text.lines() {
        let head = is_heading(line);
        if head || line.trim().is_empty() {
            if !block.is_empty() {
                flush(roff, &block, after_heading);
                block.clear();
                after_heading = false;
            }
            if head {
                roff.control(heading, [line.trim()]);
                after_heading = true;
            }
        } else {
            block.push(line);
        }
    }
    flush(roff, &block, after_heading);
}

/// A heading: unindented, capitals and spaces only.
fn is_heading(line: &str) -> bool {
    !line.starts_with(' ')
        && line.len() > 1
        && line
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == ' ' || c == '-')
}

/// Emits one block of text: filled when it is prose, otherwise line by line.
fn flush(roff: &mut Roff, block: &[&str], after_heading: bool) {
    let Some(first) = block.first() else {
        return;
    };
    let indent = |l: &str| l.len() - l.trim_start().len();
    let base = indent(first);
    let prose = block
        .iter()
        .all(|l| indent(l) == base && !l.trim().contains("  "));
    if !after_heading {
        roff.control("PP", []);
    }
    if prose {
        for line in block {
            roff.text([roman(line.trim())]);
        }
        return;
    }
    roff.control("nf", []);
    for line in block {
        let cut = indent(line).min(base);
        roff.text([roman(line.get(cut..).unwrap_or(line))]);
    }
    roff.control("fi", []);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every long option of the command line and of each visible
    /// subcommand is in the page, under that subcommand's section.
    #[test]
    fn man_page_lists_every_subcommand_and_option() {
        let page = String::from_utf8(man_page()).unwrap();
        assert!(page.starts_with(".ie"), "apostrophe preamble first");
        assert_eq!(page.matches(".TH ").count(), 1);
        let cmd = built_command();
        for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
            let long = arg.get_long().unwrap().replace('-', "\\-");
            assert!(page.contains(&format!("\\-\\-{long}")), "--{long} missing");
        }
        let mut subs = 0;
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            subs += 1;
            let name = sub.get_name();
            let heading = format!(".SH \"{} OPTIONS\"", name.to_uppercase());
            let section = page
                .split_once(&heading)
                .unwrap_or_else(|| panic!("no section for {name}"))
                .1;
            let section = section.split("\n.SH ").next().unwrap();
            assert!(section.contains(&format!("tls\\-tunnel {name}")));
            for arg in sub
                .get_arguments()
                .filter(|a| !a.is_global_set() && !a.is_hide_set())
            {
                if let Some(long) = arg.get_long() {
                    let long = long.replace('-', "\\-");
                    assert!(
                        section.contains(&format!("\\-\\-{long}")),
                        "{name} --{long}"
                    );
                }
            }
        }
        assert!(subs >= 2, "server and client");
        assert!(!page.contains(".SH \"HELP OPTIONS\""));
        for heading in ["DESCRIPTION", "EXAMPLES", "SIGNALS", "EXIT STATUS"] {
            assert!(
                page.lines()
                    .any(|l| l.trim_end_matches('"').ends_with(heading)
                        && (l.starts_with(".SH") || l.starts_with(".SS"))),
                "{heading}"
            );
        }
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_790), (2026, 12, 3));
    }

    #[test]
    fn help_text_layout_becomes_roff() {
        let mut roff = Roff::new();
        text_to_roff(
            &mut roff,
            "Intro line one\nline two.\n\nTABLE\n  a   first\n  b   second\nPROSE\n  Filled text\n  goes on.",
            "SH",
        );
        let out = roff.to_roff();
        assert_eq!(
            out,
            "Intro line one\nline two.\n.SH TABLE\n.nf\na   first\nb   second\n.fi\n\
             .SH PROSE\nFilled text\ngoes on.\n"
        );
    }

    #[test]
    fn completions_name_every_subcommand() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let script = String::from_utf8(completions(shell)).unwrap();
            for word in ["server", "client", "listen", "config", "allow-cn"] {
                assert!(script.contains(word), "{shell}: {word}");
            }
            assert!(
                !script.contains(WORD),
                "{shell}: the hidden tool is not completed"
            );
        }
    }
}
