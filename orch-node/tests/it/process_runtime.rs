//! ProcessRuntime with real processes: stop, process groups, logs, exec, adoption.

use std::time::{Duration, Instant};

use futures::StreamExt;
use orch_node::runtime::{
    ContainerConfig, ContainerRunState, ContainerRuntime, ListFilter, LogOptions, PodRef, ProcessConfig,
    ProcessRuntime, RuntimeError, process_exists,
};

use crate::common::temp_dir;

fn cfg(script: &str) -> ContainerConfig {
    ContainerConfig {
        pod: PodRef { namespace: "default".into(), name: "p".into(), uid: "uid-1".into() },
        node_name: "n1".into(),
        name: "c".into(),
        image: "sh".into(),
        command: vec!["sh".into(), "-c".into(), script.into()],
        env: vec![("GREETING".into(), "hello".into())],
        ..Default::default()
    }
}

fn runtime(dir: &std::path::Path) -> ProcessRuntime {
    ProcessRuntime::new(ProcessConfig::default().state_dir(dir).poll_interval(Duration::from_millis(50))).unwrap()
}

async fn read_all(rt: &ProcessRuntime, id: &orch_node::runtime::ContainerId, opts: LogOptions) -> String {
    let mut s = rt.logs(id, &opts).await.unwrap();
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn output_goes_to_the_log_and_exit_code_is_reported() {
    let dir = temp_dir("exit");
    let rt = runtime(&dir);
    let id = rt.create(&cfg("echo $GREETING; echo oops >&2; exit 7")).await.unwrap();
    rt.start(&id).await.unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(10), rt.wait(&id)).await.unwrap().unwrap();
    assert_eq!(exit.exit_code, 7);
    assert_eq!(read_all(&rt, &id, LogOptions::default()).await, "hello\noops\n");
    let tail = LogOptions { tail_lines: Some(1), ..Default::default() };
    assert_eq!(read_all(&rt, &id, tail).await, "oops\n");
    assert!(matches!(rt.status(&id).await.unwrap().state, ContainerRunState::Exited(_)));
    rt.remove(&id).await.unwrap();
    assert!(matches!(rt.status(&id).await, Err(RuntimeError::NotFound { .. })));
}

#[tokio::test]
async fn unknown_program_is_image_not_found() {
    let rt = runtime(&temp_dir("image"));
    let err = rt.ensure_image("no-such-program-orch").await.unwrap_err();
    assert!(matches!(err, RuntimeError::ImageNotFound { .. }), "{err}");
    assert!(rt.ensure_image("sh").await.is_ok());
}

#[tokio::test]
async fn stop_kills_a_term_ignoring_group_after_the_grace_period() {
    let dir = temp_dir("stop");
    let rt = runtime(&dir);
    // The container ignores SIGTERM and leaves a background child in its group.
    let id = rt.create(&cfg("trap '' TERM; echo trapped; sleep 300 & wait")).await.unwrap();
    rt.start(&id).await.unwrap();
    let pid = rt.status(&id).await.unwrap().pid.expect("pid");
    // Only once the shell has set its trap does SIGTERM go unheard.
    crate::common::eventually("the trap set", Duration::from_secs(10), || async {
        read_all(&rt, &id, LogOptions::default()).await.contains("trapped").then_some(())
    })
    .await;
    assert!(process_exists(pid));
    let started = Instant::now();
    rt.stop(&id, Duration::from_millis(500)).await.unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(450), "SIGKILL came before the grace period: {took:?}");
    assert!(matches!(rt.status(&id).await.unwrap().state, ContainerRunState::Exited(_)));
    // Nothing of the group is left (the leader is reaped; the sleep child was killed too).
    crate::common::eventually("the group to be gone", Duration::from_secs(5), || async {
        (!process_exists(pid) && !group_alive(pid)).then_some(())
    })
    .await;
}

/// Whether any process still belongs to process group `pgid`.
pub fn group_alive(pgid: i32) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { return false };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
        let rest = &stat[stat.rfind(')').unwrap() + 1..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        f[0] != "Z" && f[2].parse::<i32>() == Ok(pgid)
    })
}

#[tokio::test]
async fn exec_runs_in_the_container_environment_with_a_timeout() {
    let rt = runtime(&temp_dir("exec"));
    let id = rt.create(&cfg("sleep 30")).await.unwrap();
    rt.start(&id).await.unwrap();
    let cmd = |s: &str| vec!["sh".to_string(), "-c".to_string(), s.to_string()];
    let r = rt.exec(&id, &cmd("echo $GREETING; exit 3"), Duration::from_secs(5)).await.unwrap();
    assert_eq!((r.exit_code, r.output.as_slice(), r.timed_out), (3, &b"hello\n"[..], false));
    let slow = rt.exec(&id, &cmd("sleep 10"), Duration::from_millis(200)).await.unwrap();
    assert!(slow.timed_out);
    rt.remove(&id).await.unwrap();
}

#[tokio::test]
async fn following_a_log_streams_until_the_container_exits() {
    let rt = runtime(&temp_dir("follow"));
    let id = rt.create(&cfg("for i in 1 2 3; do echo line$i; sleep 0.2; done")).await.unwrap();
    rt.start(&id).await.unwrap();
    let all = tokio::time::timeout(
        Duration::from_secs(10),
        read_all(&rt, &id, LogOptions { follow: true, tail_lines: None }),
    )
    .await
    .unwrap();
    assert_eq!(all, "line1\nline2\nline3\n");
}

#[tokio::test]
async fn a_new_runtime_on_the_same_state_dir_adopts_running_processes() {
    let dir = temp_dir("adopt");
    let first = runtime(&dir);
    let id = first.create(&cfg("sleep 30")).await.unwrap();
    first.start(&id).await.unwrap();
    let pid = first.status(&id).await.unwrap().pid.unwrap();
    drop(first);
    let second = runtime(&dir);
    let found = second.list(&ListFilter { pod_uid: Some("uid-1".into()), node_name: None }).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].state, ContainerRunState::Running);
    assert_eq!(found[0].pid, Some(pid));
    second.stop(&id, Duration::from_secs(5)).await.unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(10), second.wait(&id)).await.unwrap().unwrap();
    assert_eq!(exit.signal, Some(15), "{exit:?}");
    assert!(!group_alive(pid));
}

#[tokio::test]
async fn limits_say_plainly_whether_cgroups_enforce_them() {
    let rt = runtime(&temp_dir("cgroup"));
    match rt.cgroup_status() {
        Ok(()) => eprintln!("cgroup v2 limits are enforced on this machine"),
        Err(why) => assert!(!why.is_empty()),
    }
}

#[tokio::test]
async fn a_large_log_is_rotated_while_the_container_runs() {
    let dir = temp_dir("rotate");
    let config = ProcessConfig::default().state_dir(&dir).poll_interval(Duration::from_millis(50)).log_max_bytes(4096);
    let rt = ProcessRuntime::new(config).unwrap();
    let id = rt
        .create(&cfg("i=0; while true; do echo line-$i-0123456789abcdef; i=$((i+1)); sleep 0.001; done"))
        .await
        .unwrap();
    rt.start(&id).await.unwrap();
    let log = dir.join("containers").join(&id.0).join("container.log");
    let rotated = dir.join("containers").join(&id.0).join("container.log.1");
    crate::common::eventually("a rotated log", Duration::from_secs(20), || async { rotated.exists().then_some(()) })
        .await;
    rt.stop(&id, Duration::from_secs(1)).await.unwrap();
    // The live file was truncated at rotation and kept growing from there, never far past the limit.
    assert!(std::fs::metadata(&log).unwrap().len() < 64 * 1024);
    assert!(std::fs::read_to_string(&rotated).unwrap().starts_with("line-"));
    rt.remove(&id).await.unwrap();
}
