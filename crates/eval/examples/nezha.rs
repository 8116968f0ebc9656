//! The Nezha evaluation without building the server: `cargo run --release -p staunch-eval
//! --example nezha -- DIR [--evidence]` prints what `staunch eval rca nezha DIR` prints (the
//! same library code); `--evidence` adds, per case, the first five hypotheses with their scores
//! and strongest evidence, for reading where the ranking goes wrong.

use staunch_eval::nezha::{Progress, evaluate_inspecting};
use staunch_investigate::Settings;
use std::path::PathBuf;

fn main() -> std::process::ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let show_evidence = arguments.iter().any(|argument| argument == "--evidence");
    let Some(directory) = arguments.iter().find(|argument| !argument.starts_with("--")).map(PathBuf::from) else {
        eprintln!("usage: nezha DIR [--evidence]");
        return std::process::ExitCode::from(2);
    };
    let started = std::time::Instant::now();
    let result = evaluate_inspecting(&directory, &Settings::default(), &mut |_: Progress| {}, &mut |case, investigation| {
        if !show_evidence {
            return;
        }
        println!("== {} {} {} (injected: {})", case.system.name(), case.inject_time, case.fault_type, case.root_service);
        for (position, hypothesis) in investigation.hypotheses.iter().take(5).enumerate() {
            let marker = if hypothesis.service == case.root_service { "*" } else { " " };
            println!(
                "{marker}{} {:<34} {:.3} conf {:.2}",
                position + 1,
                hypothesis.service,
                hypothesis.score,
                hypothesis.confidence
            );
            for evidence in hypothesis.evidence_for.iter().take(3) {
                println!("      {:?} {} z={:.1}", evidence.modality, evidence.signal, evidence.z);
            }
        }
        if let Some(position) = investigation.ranking().position(|service| service == case.root_service)
            && position >= 5
        {
            let hypothesis = &investigation.hypotheses[position];
            println!("*{} {:<34} {:.3}", position + 1, hypothesis.service, hypothesis.score);
            for evidence in hypothesis.evidence_for.iter().take(3) {
                println!("      {:?} {} z={:.1}", evidence.modality, evidence.signal, evidence.z);
            }
        }
    });
    match result {
        Ok(report) => {
            print!("{}", report.render());
            println!("took {:.1} s", started.elapsed().as_secs_f64());
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
