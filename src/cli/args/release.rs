//! The arguments of the release actions (`deploy`, `step`, … `kill`); the handler is `cli/release.rs`.

/// What every action takes besides its own arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct ActOptions {
    /// Why, for the audit log.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Print the resulting release as JSON instead of the one-line summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct GroupArgs {
    /// Name (unique across the store) or cluster/namespace/name.
    pub group: String,
    #[command(flatten)]
    pub opts: ActOptions,
}

#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    pub group: String,
    /// The image tag to release.
    #[arg(
        long,
        value_name = "TAG",
        required_unless_present = "tag_from",
        conflicts_with = "tag_from"
    )]
    pub tag: Option<String>,
    /// Release the tag that runs as stable in another group (test → pre → prod): a name
    /// or cluster/namespace/name. The audit reason says where it came from.
    #[arg(long, value_name = "GROUP")]
    pub tag_from: Option<String>,
    /// Override a parameter for this revision (repeatable); the value is read as YAML, so
    /// `replicas=3` is a number.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    #[command(flatten)]
    pub opts: ActOptions,
}

#[derive(Debug, clap::Args)]
pub struct WeightArgs {
    pub group: String,
    /// Canary traffic, 0–100.
    #[arg(allow_hyphen_values = true)]
    pub percent: String,
    #[command(flatten)]
    pub opts: ActOptions,
}

#[derive(Debug, clap::Args)]
pub struct RestartArgs {
    pub group: String,
    #[arg(long, value_enum, default_value = "stable")]
    pub track: TrackArg,
    #[command(flatten)]
    pub opts: ActOptions,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum TrackArg {
    Stable,
    Canary,
}

#[derive(Debug, clap::Args)]
pub struct KillArgs {
    pub group: String,
    /// The running Job to stop (default: every running Job of the group).
    #[arg(long, value_name = "NAME")]
    pub job: Option<String>,
    #[command(flatten)]
    pub opts: ActOptions,
}

#[derive(Debug, clap::Args)]
pub struct DrainArgs {
    pub group: String,
    /// The pod to take out of rotation and then delete.
    pub pod: String,
    #[command(flatten)]
    pub opts: ActOptions,
}

#[derive(Debug, clap::Args)]
pub struct InstancesArgs {
    pub group: String,
    /// One JSON object per instance row, for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    pub group: String,
    /// Make this revision stable (default: the previous stable one).
    #[arg(long, value_name = "N")]
    pub to_revision: Option<u64>,
    #[command(flatten)]
    pub opts: ActOptions,
}
