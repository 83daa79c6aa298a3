//! `orchctl logs`: streams a container's log through the connection's [`PodLogs`](crate::logs::PodLogs).

use futures::StreamExt;

use super::args::LogsArgs;
use super::errors::CliError;
use super::kinds::split_kind_name;
use super::session::Session;
use crate::logs::LogParams;

/// Runs `logs`: writes each chunk as it arrives (so `-f` shows output live).
///
/// # Errors
/// [`CliError::NoLogs`] when the connection has no log reader, or the server's error.
pub async fn run(s: &mut Session<'_>, args: LogsArgs) -> Result<(), CliError> {
    let logs = s.logs.clone().ok_or(CliError::NoLogs)?;
    let pod = pod_name(&args.pod)?;
    let params = LogParams {
        container: args.container,
        follow: args.follow,
        tail_lines: (args.tail >= 0).then_some(args.tail),
        previous: args.previous,
    };
    let mut stream = logs.logs(&s.namespace, pod, &params).await?;
    while let Some(chunk) = stream.next().await {
        s.out.write_all(&chunk?)?;
        s.out.flush()?;
    }
    Ok(())
}

/// The pod a `logs` argument names: `NAME` or `pod/NAME`.
///
/// # Errors
/// [`CliError::InvalidArgument`] for another kind (`deployment/web`) or an empty name.
pub fn pod_name(arg: &str) -> Result<&str, CliError> {
    let name = match split_kind_name(arg) {
        ("pod" | "pods" | "po", Some(name)) => name,
        (_, Some(_)) => return Err(CliError::InvalidArgument(format!("logs reads pods: {arg:?} is not pod/NAME"))),
        (name, None) => name,
    };
    if name.is_empty() {
        return Err(CliError::InvalidArgument("logs needs a pod name".into()));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_are_named_plainly_or_as_pod_slash_name() {
        assert_eq!(pod_name("web-1").unwrap(), "web-1");
        assert_eq!(pod_name("pod/web-1").unwrap(), "web-1");
        assert_eq!(pod_name("po/web-1").unwrap(), "web-1");
        assert!(pod_name("deployment/web").is_err());
        assert!(pod_name("pod/").is_err());
    }
}
