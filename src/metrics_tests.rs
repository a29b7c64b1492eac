//! Tests of `metrics`.

use super::*;

#[test]
fn error_counters_and_build_info_export_before_anything_happens() {
    let text = Metrics::new().render();
    for line in [
        r#"upload_gateway_redis_errors_total{operation="get_record"} 0"#,
        r#"upload_gateway_sts_errors_total{class="timeout",provider="oss"} 0"#,
        r#"upload_gateway_upstream_errors_total{class="server",operation="HeadObject",provider="oss"} 0"#,
        r#"upload_gateway_callback_conflicts_total{provider="oss"} 0"#,
        r#"upload_gateway_callbacks_total{provider="oss",result="not_recorded"} 0"#,
        r#"upload_gateway_callback_journal_replayed_total{result="applied"} 0"#,
        r#"upload_gateway_sweeper_aborted_total{reason="orphan"} 0"#,
        r#"upload_gateway_sweep_errors_total{task="multipart"} 0"#,
    ] {
        assert!(text.contains(line), "{line} missing");
    }
    let build = format!(
        r#"upload_gateway_build_info{{commit="{BUILD_COMMIT}",version="{}"}} 1"#,
        env!("CARGO_PKG_VERSION")
    );
    assert!(text.contains(&build), "{build} missing");
    #[cfg(target_os = "linux")]
    assert!(text.contains("process_resident_memory_bytes"));
}

/// Every Redis operation the store times must be among the pre-registered ones, or its
/// first error goes unseen by `increase()`.
#[test]
fn every_redis_operation_in_the_source_is_pre_registered() {
    let mut found = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for piece in text.split("run(\"").skip(1) {
                    let name: String = piece.chars().take_while(|c| *c != '"').collect();
                    if name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                        found.push((path.display().to_string(), name));
                    }
                }
            }
        }
    }
    assert!(found.len() >= 10, "the scan found too little: {found:?}");
    for (file, name) in found {
        assert!(
            REDIS_OPERATIONS.contains(&name.as_str()),
            "{file}: Redis operation {name:?} is not in metrics::REDIS_OPERATIONS"
        );
    }
}
