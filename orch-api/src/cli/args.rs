//! The command line: global connection flags and one subcommand per verb, parsed with clap's derive API.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use super::duration::parse_duration;

/// `orchctl`: the whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "orchctl",
    version,
    arg_required_else_help = true,
    about = "orchctl controls an orch cluster, the way kubectl controls Kubernetes.",
    after_help = "Connection: --kubeconfig, then $KUBECONFIG (a colon-separated list), then ~/.kube/config;\n\
                  --server, --token, --context and --namespace override what the kubeconfig says."
)]
pub struct Cli {
    /// Flags that say which cluster to talk to and as whom.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The verb.
    #[command(subcommand)]
    pub command: Command,
}

/// Connection flags, accepted before or after the verb.
#[derive(Debug, Default, Args)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file to use.
    #[arg(long, global = true, help_heading = "Connection options", value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true, help_heading = "Connection options")]
    pub context: Option<String>,
    /// The address of the API server (overrides the kubeconfig's cluster).
    #[arg(long, short = 's', global = true, help_heading = "Connection options", value_name = "URL")]
    pub server: Option<String>,
    /// Bearer token for authentication to the API server.
    #[arg(long, global = true, help_heading = "Connection options")]
    pub token: Option<String>,
    /// The namespace scope for this request.
    #[arg(long, short = 'n', global = true, help_heading = "Connection options")]
    pub namespace: Option<String>,
    /// Do not check the server's certificate (insecure).
    #[arg(long, global = true, help_heading = "Connection options")]
    pub insecure_skip_tls_verify: bool,
    /// Path to a PEM file of the certificate authority to trust.
    #[arg(long, global = true, help_heading = "Connection options", value_name = "PATH")]
    pub certificate_authority: Option<PathBuf>,
    /// How long to wait for a request (a watch ends after this long), e.g. 30s or 1m.
    #[arg(long, global = true, help_heading = "Connection options", value_parser = parse_duration, value_name = "DURATION")]
    pub request_timeout: Option<Duration>,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or update resources from files, directories or standard input (`-f -`).
    #[command(after_help = "Examples:\n  orchctl apply -f web.yaml\n  orchctl apply -f manifests/ -R\n  \
                            cat web.yaml | orchctl apply -f -")]
    Apply(ApplyArgs),
    /// List resources, or show one, as a table or as YAML/JSON.
    #[command(after_help = "Examples:\n  orchctl get pods\n  orchctl get deploy web -o yaml\n  \
                            orchctl get po -A -l app=web -o wide\n  orchctl get po,svc\n  orchctl get pods -w")]
    Get(GetArgs),
    /// Show the details of a resource.
    Describe(DescribeArgs),
    /// Delete resources by kind and name, by selector, or by the files that created them.
    Delete(DeleteArgs),
    /// Print the logs of a container in a pod.
    Logs(LogsArgs),
    /// Follow the rollout of a Deployment.
    #[command(subcommand, arg_required_else_help = true)]
    Rollout(RolloutCommand),
    /// Set the number of replicas of a Deployment or ReplicaSet.
    Scale(ScaleArgs),
    /// List the kinds the server serves, with their short names.
    ApiResources(ApiResourcesArgs),
    /// Print the client version and the server it would talk to.
    Version,
    /// Show or change the kubeconfig (no server is contacted).
    #[command(subcommand, arg_required_else_help = true)]
    Config(ConfigCommand),
}

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the current context's name.
    CurrentContext,
    /// List the contexts, marking the current one.
    GetContexts,
    /// Make a context current (written to the first kubeconfig file).
    UseContext {
        /// The context.
        name: String,
    },
    /// Print the merged kubeconfig, secrets redacted unless `--raw`.
    View {
        /// Show tokens and certificate data.
        #[arg(long)]
        raw: bool,
    },
}

/// `apply` flags.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Files, directories (their .yaml, .yml and .json files) or `-` for standard input.
    #[arg(short = 'f', long = "filename", required = true, value_name = "FILE")]
    pub filenames: Vec<String>,
    /// Descend into subdirectories.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// `client`: only print what would be sent; `server`: let the server check everything and persist nothing.
    #[arg(long, value_enum, default_value = "none", num_args = 0..=1, default_missing_value = "client", require_equals = true)]
    pub dry_run: DryRun,
}

/// `--dry-run` modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    /// Really apply.
    None,
    /// Read the live objects, compute the outcome, write nothing.
    Client,
    /// Send the writes as dry runs: the server admits and validates them and persists nothing.
    Server,
}

/// How `get` prints what it finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table with extra columns.
    Wide,
    /// The objects as YAML.
    Yaml,
    /// The objects as JSON.
    Json,
    /// Only `kind.group/name` per object.
    Name,
}

/// `get` flags.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The kind: name, plural or short name (`pods`, `po`, `deploy`, `svc`), or `KIND/NAME`.
    pub resource: String,
    /// Names of the objects to show; all when none is given.
    pub names: Vec<String>,
    /// List across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Label selector, e.g. `app=web,tier!=db`.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Field selector, e.g. `spec.nodeName=node-1`.
    #[arg(long)]
    pub field_selector: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<OutputFormat>,
    /// After listing, watch for changes and print them as they happen.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Add a LABELS column.
    #[arg(long)]
    pub show_labels: bool,
    /// Leave out the header line of tables.
    #[arg(long)]
    pub no_headers: bool,
}

/// `api-resources` flags.
#[derive(Debug, Args)]
pub struct ApiResourcesArgs {
    /// Only namespaced (`true`) or only cluster-scoped (`false`) kinds.
    #[arg(long, require_equals = true)]
    pub namespaced: Option<bool>,
    /// Only kinds of this API group (`""` for the core group).
    #[arg(long = "api-group")]
    pub api_group: Option<String>,
    /// Leave out the header line.
    #[arg(long)]
    pub no_headers: bool,
}

/// `describe` flags.
#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The kind, or `KIND/NAME`.
    pub resource: String,
    /// Names of the objects; all in the namespace when none is given.
    pub names: Vec<String>,
    /// Label selector for the objects to describe.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
}

/// What deleting an owner does to its dependents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Cascade {
    /// Delete the owner now, dependents in the background (the default).
    #[value(alias = "true")]
    Background,
    /// Delete dependents first, then the owner.
    Foreground,
    /// Leave dependents in place.
    #[value(alias = "false")]
    Orphan,
}

/// `delete` flags.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The kind, or `KIND/NAME`; omitted with `-f`.
    pub resource: Option<String>,
    /// Names of the objects.
    pub names: Vec<String>,
    /// Delete the objects these files describe.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub filenames: Vec<String>,
    /// Delete every object matching this label selector.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Delete every object of the kind in the namespace.
    #[arg(long)]
    pub all: bool,
    /// What happens to dependents.
    #[arg(long, value_enum, default_value = "background")]
    pub cascade: Cascade,
    /// Seconds the object gets to terminate (pods); negative keeps the object's default.
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub grace_period: i64,
    /// Delete at once (a grace period of 1 second).
    #[arg(long)]
    pub now: bool,
    /// Treat "not found" as success.
    #[arg(long)]
    pub ignore_not_found: bool,
}

/// `logs` flags.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The pod.
    pub pod: String,
    /// The container (needed when the pod has several).
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Keep streaming new output.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only the last N lines; negative for all.
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub tail: i64,
    /// The log of the previous instance of the container.
    #[arg(short = 'p', long)]
    pub previous: bool,
}

/// `rollout` subcommands.
#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// Watch a Deployment until its rollout finishes.
    Status(RolloutStatusArgs),
}

/// How `rollout status` shows progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    /// A bar when the output is a terminal, lines otherwise.
    Auto,
    /// A bar redrawn in place.
    Bar,
    /// One line per change.
    Plain,
}

/// `rollout status` flags.
#[derive(Debug, Args)]
pub struct RolloutStatusArgs {
    /// `deployment/NAME`, or `deployment` followed by the name.
    pub target: String,
    /// The name, when the target is only the kind.
    pub name: Option<String>,
    /// Give up after this long (`0` waits forever).
    #[arg(long, value_parser = parse_duration, default_value = "0")]
    pub timeout: Duration,
    /// Wait for the rollout; `--watch=false` reports the state once.
    #[arg(short = 'w', long, default_value_t = true, num_args = 0..=1, default_missing_value = "true",
          require_equals = true, action = ArgAction::Set)]
    pub watch: bool,
    /// Progress display.
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: Progress,
}

/// `scale` flags.
#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// `deployment/NAME`, `rs/NAME`, or the kind followed by the name.
    pub target: String,
    /// The name, when the target is only the kind.
    pub name: Option<String>,
    /// The new number of replicas.
    #[arg(long)]
    pub replicas: i32,
    /// Only scale if the current number of replicas is this.
    #[arg(long)]
    pub current_replicas: Option<i32>,
}
