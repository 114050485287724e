//! `plansync serve --config FILE`: every flag of `serve` as a key of a TOML file (its long
//! name without the dashes; `_` may stand for `-`). The file's keys become flags placed
//! before those on the command line, and a key whose flag (or a flag it conflicts with)
//! is on the command line is left out: the command line wins. Unknown keys, wrong types,
//! bad values and secrets written into the file are refused at start, naming the key.

use crate::args::Cli;
use anyhow::Context;
use clap::parser::ValueSource;
use clap::{ArgAction, CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Keys that hold a secret: refused in the file, with where the secret goes instead.
const SECRETS: &[(&str, &str)] = &[(
    "upstream-token",
    "put each token in a file of its own and name it with upstream-token-file",
)];

/// Parses the command line, taking `serve`'s settings from `--config` where it is given.
pub fn parse() -> anyhow::Result<Cli> {
    parse_from(std::env::args_os().collect())
}

/// [`parse`] over the given arguments (the first is the program's name).
pub fn parse_from(argv: Vec<OsString>) -> anyhow::Result<Cli> {
    let cmd = Cli::command();
    let first = match cmd.clone().try_get_matches_from(&argv) {
        Ok(m) => m,
        // Help, the version, or a mistake on the command line: clap says it and exits.
        Err(e) => e.exit(),
    };
    let file = match first.subcommand() {
        Some(("serve", serve)) => serve.get_one::<PathBuf>("config").cloned(),
        _ => None,
    };
    let Some(file) = file else {
        return Ok(Cli::from_arg_matches(&first)?);
    };
    let serve = first
        .subcommand_matches("serve")
        .expect("serve was matched");
    let serve_cmd = cmd.find_subcommand("serve").expect("serve exists");
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("could not read the config file {}", file.display()))?;
    let flags = flags_from(&file, &text, serve_cmd, |id| {
        serve.value_source(id) == Some(ValueSource::CommandLine)
    })?;
    // argv[1] is `serve` (the command has no options of its own before it).
    let mut combined: Vec<OsString> = argv[..2].to_vec();
    combined.extend(flags.iter().map(|f| OsString::from(&f.flag)));
    combined.extend(argv[2..].iter().cloned());
    match <Cli as clap::Parser>::try_parse_from(combined) {
        Ok(cli) => Ok(cli),
        Err(e) => {
            let invalid = e
                .get(clap::error::ContextKind::InvalidArg)
                .map(|v| v.to_string())
                .unwrap_or_default();
            let from_file = flags.iter().find(|f| {
                invalid.starts_with(&format!("--{} ", f.long)) || invalid == format!("--{}", f.long)
            });
            match from_file {
                Some(f) => {
                    let help = serve_cmd
                        .get_arguments()
                        .find(|a| a.get_long() == Some(f.long.as_str()))
                        .and_then(|a| a.get_help())
                        .map(|h| format!(" ({}: {h})", f.long))
                        .unwrap_or_default();
                    Err(anyhow::anyhow!(
                        "{}: key \"{}\": {}{help}",
                        file.display(),
                        f.key,
                        first_line(&e.render().to_string())
                    ))
                }
                None => e.exit(),
            }
        }
    }
}

/// One flag made from a key of the file.
#[derive(Debug, PartialEq)]
struct FileFlag {
    /// The key as written.
    key: String,
    /// The flag's long name.
    long: String,
    /// The flag as clap reads it (`--listen=0.0.0.0:8080`, `--demo`).
    flag: String,
}

/// The flags the file at `path` (holding `text`) gives `serve`, leaving out those
/// `on_command_line` says (by argument id) were given there or conflict with one that was.
fn flags_from(
    path: &Path,
    text: &str,
    serve: &clap::Command,
    on_command_line: impl Fn(&str) -> bool,
) -> anyhow::Result<Vec<FileFlag>> {
    let at = path.display();
    let table: toml::Table =
        toml::from_str(text).with_context(|| format!("{at} is not a valid TOML file"))?;
    let mut out = Vec::new();
    for (key, value) in &table {
        let long = key.replace('_', "-");
        let Some(arg) = serve
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()) && long != "config" && long != "help")
        else {
            anyhow::bail!(
                "{at}: unknown key \"{key}\". The keys are plansync serve's flags without their dashes: {}",
                known_keys(serve).join(", ")
            );
        };
        if let Some((_, instead)) = SECRETS.iter().find(|(k, _)| *k == long) {
            anyhow::bail!(
                "{at}: key \"{key}\" would put a secret in the config file, which others may read: {instead}"
            );
        }
        let id = arg.get_id().as_str();
        let conflicts = serve.get_arg_conflicts_with(arg);
        if on_command_line(id)
            || conflicts
                .iter()
                .any(|c| on_command_line(c.get_id().as_str()))
        {
            continue;
        }
        let values: Vec<String> = match (arg.get_action(), value) {
            (ArgAction::SetTrue, toml::Value::Boolean(true)) => {
                out.push(FileFlag {
                    key: key.clone(),
                    long: long.clone(),
                    flag: format!("--{long}"),
                });
                continue;
            }
            (ArgAction::SetTrue, toml::Value::Boolean(false)) => continue,
            (ArgAction::SetTrue, v) => {
                anyhow::bail!("{at}: key \"{key}\" must be true or false, not {v}")
            }
            (ArgAction::Append, toml::Value::Array(items)) => items
                .iter()
                .map(|v| scalar(v).with_context(|| format!("{at}: key \"{key}\"")))
                .collect::<anyhow::Result<_>>()?,
            (_, toml::Value::Array(_)) => {
                anyhow::bail!("{at}: key \"{key}\" takes one value, not a list")
            }
            (_, v) => vec![scalar(v).with_context(|| format!("{at}: key \"{key}\""))?],
        };
        if long == "database" {
            for v in &values {
                if has_password(v) {
                    anyhow::bail!(
                        "{at}: key \"{key}\" holds a password, and others may read the config file: put the password in a file readable by the server alone and name it with database-password-file (or set PLANSYNC_DATABASE_PASSWORD)"
                    );
                }
            }
        }
        out.extend(values.into_iter().map(|v| FileFlag {
            key: key.clone(),
            long: long.clone(),
            flag: format!("--{long}={v}"),
        }));
    }
    Ok(out)
}

/// A single TOML value as a flag's text; tables and dates are refused.
fn scalar(v: &toml::Value) -> anyhow::Result<String> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        other => anyhow::bail!(
            "a {} is not a value here: give a string, a number or true/false",
            other.type_str()
        ),
    }
}

/// Whether a database URL has a password in it (`postgres://USER:PASSWORD@HOST/DB`).
fn has_password(url: &str) -> bool {
    url.split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .is_some_and(|(user, _)| user.contains(':'))
}

/// Every key the file may have.
fn known_keys(serve: &clap::Command) -> Vec<String> {
    serve
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|l| !matches!(*l, "config" | "help"))
        .map(str::to_string)
        .collect()
}

/// The first line of clap's error, without its "error: " prefix.
fn first_line(rendered: &str) -> String {
    rendered
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Command;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plansync.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn serve(args: &[&str]) -> anyhow::Result<crate::args::ServeArgs> {
        let argv = ["plansync", "serve"]
            .iter()
            .chain(args)
            .map(OsString::from)
            .collect();
        match parse_from(argv)?.command {
            Command::Serve(a) => Ok(a),
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_files_keys_set_serves_flags_and_flags_on_the_command_line_win() {
        let (_dir, path) = write(
            r#"
            listen = "0.0.0.0:9000"
            public_url = "https://plans.example.gov.uk"
            max-message-bytes = 1048576
            demo = true
            trusted-proxy = ["127.0.0.1", "10.0.0.0/8"]
            allow-origin = ["http://a.example:1"]
            db = "/var/lib/plansync/plansync.db"
            "#,
        );
        let config = path.to_str().unwrap();
        let a = serve(&["--config", config]).unwrap();
        assert_eq!(a.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(
            a.public_url.as_deref(),
            Some("https://plans.example.gov.uk")
        );
        assert_eq!(a.max_message_bytes, 1 << 20);
        assert!(a.demo);
        assert_eq!(a.trusted_proxy.len(), 2);
        assert_eq!(a.db.db, PathBuf::from("/var/lib/plansync/plansync.db"));

        let a = serve(&[
            "--config",
            config,
            "--listen",
            "127.0.0.1:0",
            "--trusted-proxy",
            "192.168.0.1",
            "--database",
            "postgres://plansync@db/plansync",
        ])
        .unwrap();
        assert_eq!(a.listen.to_string(), "127.0.0.1:0", "the flag wins");
        assert_eq!(
            a.trusted_proxy.len(),
            1,
            "a repeated flag replaces the list"
        );
        assert!(
            matches!(a.db.database, Some(plansync_server::Location::Postgres(_))),
            "--database on the command line drops the file's db"
        );
        assert_eq!(a.max_message_bytes, 1 << 20, "the other keys still count");
    }

    #[test]
    fn unknown_keys_wrong_types_bad_values_and_secrets_are_refused_naming_the_key() {
        let refused = |text: &str| {
            let (_dir, path) = write(text);
            serve(&["--config", path.to_str().unwrap()])
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_default()
        };
        let e = refused("lisen = \"0.0.0.0:8080\"");
        assert!(
            e.contains("unknown key \"lisen\"") && e.contains("listen, "),
            "{e}"
        );
        let e = refused("max-message-bytes = \"lots\"");
        assert!(
            e.contains("key \"max-message-bytes\"") && e.contains("lots"),
            "{e}"
        );
        let e = refused("listen = \"nowhere\"");
        assert!(e.contains("key \"listen\"") && e.contains("nowhere"), "{e}");
        let e = refused("demo = \"yes\"");
        assert!(e.contains("key \"demo\" must be true or false"), "{e}");
        let e = refused("listen = [\"0.0.0.0:1\", \"0.0.0.0:2\"]");
        assert!(e.contains("takes one value"), "{e}");
        let e = refused("trusted-proxy = [\"not a network\"]");
        assert!(e.contains("key \"trusted-proxy\""), "{e}");
        let e = refused("[listen]\nport = 1");
        assert!(e.contains("key \"listen\"") && e.contains("table"), "{e}");
        let e = refused("upstream-token = [\"secret\"]");
        assert!(
            e.contains("secret") && e.contains("upstream-token-file"),
            "{e}"
        );
        let e = refused("database = \"postgres://plansync:hunter2@db/plansync\"");
        assert!(
            e.contains("holds a password") && e.contains("database-password-file"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "the password is not repeated: {e}");
        let e = refused("listen = ");
        assert!(e.contains("not a valid TOML file"), "{e}");
    }
}
