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
    let pod = match split_kind_name(&args.pod) {
        ("pod" | "pods" | "po", Some(name)) => name.to_owned(),
        (_, Some(_)) => {
            return Err(CliError::InvalidArgument(format!("logs reads pods: {:?} is not pod/NAME", args.pod)));
        }
        (name, None) => name.to_owned(),
    };
    let params = LogParams {
        container: args.container,
        follow: args.follow,
        tail_lines: (args.tail >= 0).then_some(args.tail),
        previous: args.previous,
    };
    let mut stream = logs.logs(&s.namespace, &pod, &params).await?;
    while let Some(chunk) = stream.next().await {
        s.out.write_all(&chunk?)?;
        s.out.flush()?;
    }
    Ok(())
}
