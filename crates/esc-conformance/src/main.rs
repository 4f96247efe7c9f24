//! Runs the ESC language conformance fixtures (spec/LANGUAGE.md section 8).
//!
//! `esc-conformance DIR...` runs every case folder under each DIR, prints
//! `PASS <case>` or `FAIL <case>: <first difference>` per case and ends with
//! `N passed, N failed`; the exit status is 1 if anything failed.

use std::path::PathBuf;
use std::process::ExitCode;

use esc_conformance::{Delays, case_dirs, compare, compare_full, run_case};

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
    let (mut n_full_passed, mut n_full_failed) = (0, 0);
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
                    compare_full(&task_dir, &out)?
                } else {
                    None
                };
                anyhow::Ok((values, structures))
            })
            .await;
            let (failure, full_failure) = match outcome {
                Ok(Ok((values, structures))) => (values, structures),
                Ok(Err(e)) => (Some(format!("error: {e:#}")), Some("error".to_string())),
                Err(e) => (Some(format!("panicked: {e}")), Some("panicked".to_string())),
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
                match full_failure {
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
        println!("full: {n_full_passed} passed, {n_full_failed} failed");
    }
    println!("{n_passed} passed, {n_failed} failed");
    Ok(n_failed == 0)
}
