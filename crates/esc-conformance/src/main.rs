//! Runs the ESC language conformance fixtures (spec/LANGUAGE.md section 8).
//!
//! `esc-conformance DIR...` runs every case folder under each DIR, prints
//! `PASS <case>` or `FAIL <case>: <first difference>` per case and ends with
//! `N passed, N failed`; the exit status is 1 if anything failed.
//!
//! `--full` also compares the whole §9 structures and the rotation patches'
//! §9 Values: `FULL-FAIL <case>: <first difference>` per failing case, then
//! `full: N passed, N failed` and the two parts' counts on one line,
//! `full parts: structures N passed, N failed; patch values N passed, N
//! failed`. Only the values level decides the exit status.
//!
//! `--print CASE_DIR...` runs the given case folders and prints what they
//! produce (diagnostics with ranges, JSON projections, patches) instead of
//! comparing: for trying a definition without writing `expected.json`;
//! with `--full`, the §9 structures too.

use std::path::PathBuf;
use std::process::ExitCode;

use esc_conformance::{
    Delays, FullVerdict, case_dirs, compare, compare_full_parts, print_case, run_case,
};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout)] // the report is the program's output
async fn run() -> anyhow::Result<bool> {
    let full = std::env::args_os().any(|a| a == "--full");
    if std::env::args_os().any(|a| a == "--print") {
        for dir in std::env::args_os()
            .skip(1)
            .filter(|a| a != "--print" && a != "--full")
        {
            let mut out = run_case(std::path::Path::new(&dir), Delays::default(), full).await?;
            if !full {
                out.environments.clear();
            }
            print!("{}", print_case(&out));
        }
        return Ok(true);
    }
    let (mut n_full_passed, mut n_full_failed) = (0, 0);
    let (mut n_structures_failed, mut n_patches_failed) = (0, 0);
    let roots: Vec<PathBuf> = std::env::args_os()
        .skip(1)
        .filter(|a| a != "--full")
        .map(PathBuf::from)
        .collect();
    if roots.is_empty() {
        anyhow::bail!("usage: esc-conformance DIR...");
    }
    let (mut n_passed, mut n_failed) = (0, 0);
    for root in &roots {
        for dir in case_dirs(root)? {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            // Each case runs in its own task so that a panic fails that case only.
            let task_dir = dir.clone();
            let outcome = tokio::spawn(async move {
                let out = run_case(&task_dir, Delays::default(), full).await?;
                let values = compare(&task_dir, &out)?;
                let structures = if full {
                    compare_full_parts(&task_dir, &out)?
                } else {
                    FullVerdict::default()
                };
                anyhow::Ok((values, structures))
            })
            .await;
            let (failure, full_failure) = match outcome {
                Ok(Ok((values, structures))) => (values, structures),
                Ok(Err(e)) => (
                    Some(format!("error: {e:#}")),
                    FullVerdict {
                        structures: Some("error".into()),
                        patch_values: Some("error".into()),
                    },
                ),
                Err(e) => (
                    Some(format!("panicked: {e}")),
                    FullVerdict {
                        structures: Some("panicked".into()),
                        patch_values: Some("panicked".into()),
                    },
                ),
            };
            match failure {
                None => {
                    n_passed += 1;
                    println!("PASS {name}");
                }
                Some(diff) => {
                    n_failed += 1;
                    println!("FAIL {name}: {diff}");
                }
            }
            if full {
                n_structures_failed += usize::from(full_failure.structures.is_some());
                n_patches_failed += usize::from(full_failure.patch_values.is_some());
                match full_failure.structures.or(full_failure.patch_values) {
                    None => n_full_passed += 1,
                    Some(diff) => {
                        n_full_failed += 1;
                        println!("FULL-FAIL {name}: {diff}");
                    }
                }
            }
        }
    }
    if full {
        let n_cases = n_full_passed + n_full_failed;
        println!("full: {n_full_passed} passed, {n_full_failed} failed");
        println!(
            "full parts: structures {} passed, {n_structures_failed} failed; patch values {} passed, {n_patches_failed} failed",
            n_cases - n_structures_failed,
            n_cases - n_patches_failed
        );
    }
    println!("{n_passed} passed, {n_failed} failed");
    Ok(n_failed == 0)
}
